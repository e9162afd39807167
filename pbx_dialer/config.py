"""Settings: a TOML file with environment overrides for secrets.

Every error names the file, the setting and what is wrong, in one line, so
`pbx-dialer serve` can print it instead of a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "PBX_DIALER_"


class ConfigError(Exception):
    """Bad configuration; the message is one line meant for the person who wrote it."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # Session cookies are sent over HTTPS only. Set false only when people reach the
    # dialer over plain HTTP (e.g. on a trusted LAN, or the demo on 127.0.0.1).
    secure_cookies: bool = True
    # A session ends this long after log-in, or after this long without a request.
    session_hours: float = 12.0
    session_idle_minutes: float = 120.0


@dataclass(frozen=True)
class DatabaseSettings:
    path: str = "pbx-dialer.sqlite3"


@dataclass(frozen=True)
class PbxSettings:
    """One Asterisk server, reached through one AMI connection."""

    name: str = "main"
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "dialer"
    secret: str = ""
    # How a number becomes a channel to originate: {number} is replaced.
    dial_template: str = "PJSIP/{number}@trunk"
    # The trunk [dialer-outbound] dials (tech/resource, e.g. "PJSIP/trunk"), passed as
    # DIALER_TRUNK in every Originate; required when dial_template goes through it.
    trunk: str = ""
    connect_context: str = "dialer-connect"
    connect_exten: str = "s"
    # What a person hears when a power or predictive call finds no agent in time (the
    # "safe harbour" message): a sound of <astdatadir>/sounds/en, without its extension.
    # asterisk/sounds/ ships this one; record your own (who called, why, a number).
    safe_harbour: str = "dialer-safe-harbour"
    # Optional: where the dialer can read this Asterisk's <astdatadir>/sounds (e.g. a
    # shared volume); `pbx-dialer check` then looks for the safe-harbour sound there
    # instead of asking Asterisk's dialplan ([dialer-check-sound]).
    sounds_dir: str = ""
    # Where this Asterisk's call recordings (MixMonitor, astspooldir/monitor) can be read
    # by the dialer, e.g. a shared volume; empty: recordings are listed, not downloadable.
    recordings_dir: str = ""
    # New calls per second through this Asterisk, all campaigns and agent desks together
    # (trunks and carriers refuse or flag bursts of call set-ups).
    max_calls_per_second: float = 10.0
    # Wrap-up seconds of queues that set `wrapuptime` in queues.conf: Asterisk's member
    # events carry only a member's own wrap-up, so a queue's must be told here to keep
    # agents in wrap-up from counting as idle.
    queue_wrapup_s: dict[str, float] = field(default_factory=dict, hash=False)
    # Seconds without a Ping reply before the connection is declared dead.
    ping_interval: float = 5.0
    ping_timeout: float = 3.0
    connect_timeout: float = 5.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0


@dataclass(frozen=True)
class DialerSettings:
    # How often the dial loop looks at campaigns when nothing wakes it earlier.
    tick_seconds: float = 0.5
    # The call centre's zone for schedules of campaigns without a call-centre hour code.
    timezone: str = "UTC"


@dataclass(frozen=True)
class SmtpSettings:
    """Where reminder emails go out. No host: reminders are logged, not sent."""

    host: str = ""
    port: int = 25
    from_addr: str = "pbx-dialer@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    pbx: tuple[PbxSettings, ...] = (PbxSettings(),)
    dialer: DialerSettings = field(default_factory=DialerSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)

    def pbx_named(self, name: str) -> PbxSettings:
        for pbx in self.pbx:
            if pbx.name == name:
                return pbx
        raise KeyError(name)


_POSITIVE_PBX = (
    "ping_interval",
    "ping_timeout",
    "connect_timeout",
    "reconnect_min",
    "max_calls_per_second",
)
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
# tech/resource as [dialer-outbound] dials it: no commas (Dial's argument separator),
# no "&" (a second channel), no spaces or control characters. Used with fullmatch.
_TRUNK_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*/[A-Za-z0-9._:@/+=-]+")
# The context of asterisk/extensions_dialer.conf that dials `trunk`.
OUTBOUND_CONTEXT = "dialer-outbound"
_SOUND_RE = re.compile(r"[A-Za-z0-9._/-]+")


def uses_outbound_context(dial_template: str) -> bool:
    """Whether numbers are dialled through [dialer-outbound] (which needs `trunk`)."""
    return f"@{OUTBOUND_CONTEXT}" in dial_template


def _section(cls: type[Any], raw: Mapping[str, Any], where: str) -> Any:
    fields = cls.__dataclass_fields__
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}")
    values: dict[str, Any] = {}
    defaults = cls()
    for key, value in raw.items():
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ConfigError(
                f"{where}.{key}: expected {expected.__name__}, got {type(value).__name__}"
            )
        values[key] = value
    return cls(**values)


def _env_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """PBX_DIALER_<SECTION>_<KEY> for plain sections, PBX_DIALER_PBX_<NAME>_<KEY> per PBX."""
    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        for section, cls in _SECTION_TYPES.items():
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1 :]
                table = raw.setdefault(section, {})
                if not isinstance(table, dict):
                    raise ConfigError(f"{name}: [{section}] in the file is not a table")
                table[key] = _coerce_env(value, cls, key, name)
                break
        else:
            if rest.startswith("pbx_"):
                _pbx_override(raw, rest[4:], value, name)


def _pbx_override(raw: dict[str, Any], rest: str, value: str, name: str) -> None:
    entries = raw.setdefault("pbx", [{}])
    if isinstance(entries, dict):  # a single [pbx] table
        entries = [entries]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{name}: [[pbx]] in the file is not a list of tables")
    # Both PBX names and setting names may contain "_": match the names we know,
    # the longest first so that "site_b" wins over "site" for PBX_DIALER_PBX_SITE_B_SECRET.
    by_length = sorted(entries, key=lambda e: -len(str(e.get("name", PbxSettings.name))))
    for pbx in by_length:
        pbx_name = str(pbx.get("name", PbxSettings.name)).lower()
        if rest.startswith(pbx_name + "_"):
            key = rest[len(pbx_name) + 1 :]
            pbx[key] = _coerce_env(value, PbxSettings, key, name)
            return
    pbx_name = rest.rpartition("_")[0] or rest
    raise ConfigError(f"{name}: no [[pbx]] named {pbx_name!r} to override")


def _coerce_env(value: str, cls: type[Any], key: str, name: str) -> Any:
    if key not in cls.__dataclass_fields__:
        raise ConfigError(f"{name}: unknown setting {key!r}")
    default = getattr(cls(), key)
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{name}: expected a whole number, got {value!r}") from None
    if isinstance(default, float):
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    return value


_SECTION_TYPES: dict[str, type[Any]] = {
    "server": ServerSettings,
    "database": DatabaseSettings,
    "dialer": DialerSettings,
    "smtp": SmtpSettings,
}


def parse_settings(raw: dict[str, Any], where: str = "config") -> Settings:
    unknown = sorted(set(raw) - {"server", "database", "pbx", "dialer", "smtp"})
    if unknown:
        raise ConfigError(f"{where}: unknown section [{unknown[0]}]")
    parts: dict[str, Any] = {}
    for section, cls in _SECTION_TYPES.items():
        value = raw.get(section, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        parts[section] = _section(cls, value, f"{where} [{section}]")
    pbx_raw = raw.get("pbx", [{}])
    if isinstance(pbx_raw, dict):
        pbx_raw = [pbx_raw]
    if not isinstance(pbx_raw, list) or not pbx_raw:
        raise ConfigError(f"{where}: [[pbx]] must list at least one Asterisk server")
    pbxs: list[PbxSettings] = []
    for index, item in enumerate(pbx_raw):
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: [[pbx]] entry {index + 1} must be a table")
        pbx = _section(PbxSettings, item, f"{where} [[pbx]] {item.get('name', index + 1)}")
        if not _NAME_RE.match(pbx.name):
            raise ConfigError(f"{where} [[pbx]]: name {pbx.name!r} must be 1-32 letters/digits/-/_")
        if any(p.name == pbx.name for p in pbxs):
            raise ConfigError(f"{where} [[pbx]]: name {pbx.name!r} is used twice")
        if "{number}" not in pbx.dial_template:
            raise ConfigError(f"{where} [[pbx]] {pbx.name}.dial_template: must contain {{number}}")
        _check_trunk(pbx, where)
        if pbx.safe_harbour and (
            not _SOUND_RE.fullmatch(pbx.safe_harbour) or ".." in pbx.safe_harbour
        ):
            raise ConfigError(
                f"{where} [[pbx]] {pbx.name}.safe_harbour: {pbx.safe_harbour!r} must be a "
                "sound name (letters, digits, . _ - /) without its extension, or empty for none"
            )
        if not 0 < pbx.port < 65536:
            raise ConfigError(f"{where} [[pbx]] {pbx.name}.port: {pbx.port} is not a TCP port")
        # Zero would make the AMI client ping or reconnect in a tight loop.
        for key in _POSITIVE_PBX:
            if not getattr(pbx, key) > 0:
                raise ConfigError(f"{where} [[pbx]] {pbx.name}.{key}: must be > 0")
        for queue, seconds in pbx.queue_wrapup_s.items():
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise ConfigError(
                    f"{where} [[pbx]] {pbx.name}.queue_wrapup_s.{queue}: "
                    "must be a number of seconds >= 0"
                )
        if pbx.reconnect_max < pbx.reconnect_min:
            raise ConfigError(
                f"{where} [[pbx]] {pbx.name}.reconnect_max: must be at least reconnect_min "
                f"({pbx.reconnect_min:g})"
            )
        pbxs.append(pbx)
    server = parts["server"]
    if not 0 <= server.port < 65536:
        raise ConfigError(f"{where} [server].port: {server.port} is not a TCP port")
    for key in ("session_hours", "session_idle_minutes"):
        if not getattr(server, key) > 0:
            raise ConfigError(f"{where} [server].{key}: must be > 0")
    if not parts["dialer"].tick_seconds > 0:
        raise ConfigError(f"{where} [dialer].tick_seconds: must be > 0")
    try:
        ZoneInfo(parts["dialer"].timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where} [dialer].timezone: {parts['dialer'].timezone!r} is not a time zone"
        ) from None
    return Settings(
        server=server,
        database=parts["database"],
        pbx=tuple(pbxs),
        dialer=parts["dialer"],
        smtp=parts["smtp"],
    )


def _check_trunk(pbx: PbxSettings, where: str) -> None:
    if pbx.trunk and not _TRUNK_RE.fullmatch(pbx.trunk):
        raise ConfigError(
            f"{where} [[pbx]] {pbx.name}.trunk: {pbx.trunk!r} must be tech/resource "
            "like PJSIP/trunk (no spaces, commas, '&' or line breaks)"
        )
    if not pbx.trunk and uses_outbound_context(pbx.dial_template):
        # Without it every call through [dialer-outbound] ends in CONGESTION, unseen.
        raise ConfigError(
            f'{where} [[pbx]] {pbx.name}.trunk: must be set (e.g. "PJSIP/trunk") because '
            f"dial_template {pbx.dial_template!r} goes through {OUTBOUND_CONTEXT}"
        )


def load_settings(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read it ({exc})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: malformed TOML: {exc}") from None
    _env_overrides(raw, env)
    return parse_settings(raw, where=str(file))
