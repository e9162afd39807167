"""Loading settings: TOML, environment overrides, and one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbx_dialer.config import (
    ConfigError,
    DatabaseSettings,
    DialerSettings,
    PbxSettings,
    ServerSettings,
    Settings,
    load_settings,
)

FULL = """
[server]
host = "0.0.0.0"
port = 9090

[database]
path = "/var/lib/pbx-dialer/db.sqlite3"

[dialer]
tick_seconds = 1

[[pbx]]
name = "main"
host = "10.0.0.5"
port = 5039
username = "dialer"
secret = "from-file"
dial_template = "PJSIP/{number}@carrier"
ping_interval = 2
ping_timeout = 1.5

[[pbx]]
name = "backup_site"
host = "10.0.0.6"
secret = "other"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dialer.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={} if env is None else env)
    message = str(info.value)
    assert "\n" not in message, "a config error must fit on one line"
    assert message.startswith(str(path)), "a config error must name the file"
    return message


def test_full_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, FULL), env={})
    assert settings.server == ServerSettings(host="0.0.0.0", port=9090)
    assert settings.database == DatabaseSettings(path="/var/lib/pbx-dialer/db.sqlite3")
    # An int given for a float setting is taken as that float.
    assert settings.dialer == DialerSettings(tick_seconds=1.0)
    assert isinstance(settings.dialer.tick_seconds, float)
    main, backup = settings.pbx
    assert main == PbxSettings(
        name="main",
        host="10.0.0.5",
        port=5039,
        username="dialer",
        secret="from-file",
        dial_template="PJSIP/{number}@carrier",
        ping_interval=2.0,
        ping_timeout=1.5,
    )
    assert backup == PbxSettings(name="backup_site", host="10.0.0.6", secret="other")
    assert settings.pbx_named("backup_site") is backup
    with pytest.raises(KeyError):
        settings.pbx_named("nope")


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, ""), env={}) == Settings()


def test_single_pbx_table_is_accepted(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[pbx]\nname = "solo"\n'), env={})
    assert [p.name for p in settings.pbx] == ["solo"]


def test_env_overrides_the_secret(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    env = {
        "PBX_DIALER_PBX_MAIN_SECRET": "from-env",
        "PBX_DIALER_PBX_BACKUP_SITE_SECRET": "backup-env",
        "UNRELATED": "x",
    }
    settings = load_settings(path, env=env)
    assert settings.pbx_named("main").secret == "from-env"
    assert settings.pbx_named("backup_site").secret == "backup-env"
    # Nothing else moved.
    assert settings.pbx_named("main").host == "10.0.0.5"


def test_env_secret_without_any_pbx_in_the_file(tmp_path: Path) -> None:
    # The default PBX is called "main", so the documented variable reaches it.
    settings = load_settings(write(tmp_path, ""), env={"PBX_DIALER_PBX_MAIN_SECRET": "s3"})
    assert settings.pbx[0].secret == "s3"


def test_env_reads_os_environ_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBX_DIALER_PBX_MAIN_SECRET", "from-process-env")
    assert load_settings(write(tmp_path, FULL)).pbx[0].secret == "from-process-env"


def test_env_overrides_typed_settings(tmp_path: Path) -> None:
    env = {
        "PBX_DIALER_SERVER_PORT": "8181",
        "PBX_DIALER_DATABASE_PATH": "/tmp/x.sqlite3",
        "PBX_DIALER_DIALER_TICK_SECONDS": "0.25",
        "PBX_DIALER_PBX_MAIN_PORT": "6000",
        # Setting names contain underscores too.
        "PBX_DIALER_PBX_MAIN_PING_INTERVAL": "7.5",
        "PBX_DIALER_PBX_BACKUP_SITE_RECONNECT_MAX": "60",
    }
    settings = load_settings(write(tmp_path, FULL), env=env)
    assert settings.server.port == 8181
    assert settings.database.path == "/tmp/x.sqlite3"
    assert settings.dialer.tick_seconds == 0.25
    assert settings.pbx_named("main").port == 6000
    assert settings.pbx_named("main").ping_interval == 7.5
    assert settings.pbx_named("backup_site").reconnect_max == 60.0


def test_env_picks_the_longest_matching_pbx_name(tmp_path: Path) -> None:
    path = write(tmp_path, "[[pbx]]\nname = 'site'\n[[pbx]]\nname = 'site_b'\n")
    settings = load_settings(path, env={"PBX_DIALER_PBX_SITE_B_SECRET": "b"})
    assert settings.pbx_named("site_b").secret == "b"
    assert settings.pbx_named("site").secret == ""


def test_env_override_on_a_single_pbx_table(tmp_path: Path) -> None:
    path = write(tmp_path, '[pbx]\nname = "solo"\n')
    settings = load_settings(path, env={"PBX_DIALER_PBX_SOLO_SECRET": "s"})
    assert settings.pbx[0].secret == "s"


def test_env_errors_name_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    with pytest.raises(ConfigError, match=r"^PBX_DIALER_PBX_NOPE_SECRET: no \[\[pbx\]\] named"):
        load_settings(path, env={"PBX_DIALER_PBX_NOPE_SECRET": "x"})
    with pytest.raises(ConfigError, match=r"^PBX_DIALER_SERVER_PORT: expected a whole number"):
        load_settings(path, env={"PBX_DIALER_SERVER_PORT": "eighty"})
    with pytest.raises(ConfigError, match=r"^PBX_DIALER_PBX_MAIN_PING_TIMEOUT: expected a number"):
        load_settings(path, env={"PBX_DIALER_PBX_MAIN_PING_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match=r"^PBX_DIALER_SERVER_COLOUR: unknown setting"):
        load_settings(path, env={"PBX_DIALER_SERVER_COLOUR": "blue"})
    with pytest.raises(ConfigError, match=r"^PBX_DIALER_PBX_MAIN_COLOUR: unknown setting"):
        load_settings(path, env={"PBX_DIALER_PBX_MAIN_COLOUR": "blue"})


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    assert error_of(path) == f"{path}: no such configuration file"


def test_unreadable_file(tmp_path: Path) -> None:
    # A directory cannot be read as a file.
    assert "cannot read it" in error_of(tmp_path)
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[server]\nhost = "caf\xe9"\n')
    assert "cannot read it" in error_of(path)


def test_malformed_toml(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "[server\nport = 1\n"))
    assert "malformed TOML" in message
    assert "line 1" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\ncolour = 1\n", "[server]: unknown setting 'colour'"),
        ("[[pbx]]\nname = 'a'\nsecert = 'x'\n", "[[pbx]] a: unknown setting 'secert'"),
        ("[asterisk]\nhost = 'x'\n", ": unknown section [asterisk]"),
        ("[server]\nport = '8080'\n", "[server].port: expected int, got str"),
        ("[server]\nport = 80.5\n", "[server].port: expected int, got float"),
        ("[server]\nport = true\n", "[server].port: expected int, got bool"),
        ("[[pbx]]\nping_interval = true\n", "[[pbx]] 1.ping_interval: expected float, got bool"),
        ("[[pbx]]\nname = 'a'\nsecret = 1234\n", "[[pbx]] a.secret: expected str, got int"),
        ("[dialer]\ntick_seconds = 'fast'\n", "[dialer].tick_seconds: expected float, got str"),
        ("server = 5\n", ": [server] must be a table"),
        ("pbx = []\n", ": [[pbx]] must list at least one Asterisk server"),
        ("pbx = [1]\n", ": [[pbx]] entry 1 must be a table"),
        (
            "[[pbx]]\nname = 'a'\ndial_template = 'PJSIP/{num}@t'\n",
            "[[pbx]] a.dial_template: must contain {number}",
        ),
        ("[[pbx]]\nname = 'a'\n[[pbx]]\nname = 'a'\n", "[[pbx]]: name 'a' is used twice"),
        (
            "[[pbx]]\nname = 'has space'\n",
            "[[pbx]]: name 'has space' must be 1-32 letters/digits/-/_",
        ),
        ("[[pbx]]\nname = 'a'\nport = 0\n", "[[pbx]] a.port: 0 is not a TCP port"),
        ("[[pbx]]\nname = 'a'\nport = 70000\n", "[[pbx]] a.port: 70000 is not a TCP port"),
        ("[server]\nport = -1\n", "[server].port: -1 is not a TCP port"),
        ("[server]\nport = 65536\n", "[server].port: 65536 is not a TCP port"),
        # Zero or negative timings would make the AMI client spin without pause.
        ("[[pbx]]\nname = 'a'\nreconnect_min = 0\n", "[[pbx]] a.reconnect_min: must be > 0"),
        ("[[pbx]]\nname = 'a'\nping_interval = -1\n", "[[pbx]] a.ping_interval: must be > 0"),
        ("[[pbx]]\nname = 'a'\nping_timeout = 0\n", "[[pbx]] a.ping_timeout: must be > 0"),
        ("[[pbx]]\nname = 'a'\nconnect_timeout = 0\n", "[[pbx]] a.connect_timeout: must be > 0"),
        (
            "[[pbx]]\nname = 'a'\nreconnect_min = 5\nreconnect_max = 1\n",
            "[[pbx]] a.reconnect_max: must be at least reconnect_min (5)",
        ),
        ("[dialer]\ntick_seconds = 0\n", "[dialer].tick_seconds: must be > 0"),
    ],
)
def test_each_mistake_is_one_line_naming_file_and_setting(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}{'' if expected.startswith(':') else ' '}{expected}"
