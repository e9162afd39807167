"""Provide a real Asterisk (>= 20) for tests and the demo, and run instances of it.

* :func:`find_asterisk` returns a usable installation: a system ``asterisk`` on
  ``PATH`` (``asterisk -V`` >= 20) or a cached Debian-sid chroot under
  ``${PBX_DIALER_CACHE:-${XDG_CACHE_HOME:-~/.cache}/pbx-dialer}/asterisk-roots/<version>/``.
* :func:`ensure_asterisk` additionally builds that chroot with ``debootstrap``
  (needs root) from the Debian mirror configured in this machine's apt sources.
* :class:`AsteriskInstance` runs one Asterisk with its own directories and free
  loopback ports, configured with the project's ``asterisk/*.conf``, and with the
  project's recordings (``asterisk/sounds/*``) playable by name in language ``en``.

Command line: ``python -m pbx_dialer.testing.asterisk ensure``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pbx_dialer.paths import PROJECT_CONF_DIR, SOUND_FORMATS

__all__ = [
    "AMI_DIALER_SECRET",
    "AMI_DIALER_USER",
    "AMI_SIMULATOR_SECRET",
    "AMI_SIMULATOR_USER",
    "AmiMessage",
    "AsteriskInstallation",
    "AsteriskInstance",
    "AsteriskUnavailable",
    "RawAmi",
    "cache_dir",
    "debian_mirror",
    "ensure_asterisk",
    "find_asterisk",
]

MIN_MAJOR = 20
AMI_DIALER_USER = "dialer"
AMI_DIALER_SECRET = "dialer-secret-change-me"
AMI_SIMULATOR_USER = "simulator"
AMI_SIMULATOR_SECRET = "simulator-secret-change-me"

PROJECT_SOUNDS_DIR = PROJECT_CONF_DIR / "sounds"
# Where Debian (and most builds) keep Asterisk's data (sounds, keys, documentation).
_DATA_DIRS = ("/usr/share/asterisk", "/var/lib/asterisk")
_CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}
_DEBIAN_SUITES = {
    "stable", "testing", "unstable", "sid", "oldstable", "oldoldstable",
    "buster", "bullseye", "bookworm", "trixie", "forky", "duke",
}  # fmt: skip


class AsteriskUnavailable(RuntimeError):
    """Asterisk cannot be provided or did not start."""


# --------------------------------------------------------------------------
# Installation discovery / provisioning
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AsteriskInstallation:
    """A runnable Asterisk: either on the system (root is None) or in a chroot."""

    version: str
    root: Path | None

    def command(self, *args: str) -> list[str]:
        """Argument vector running ``asterisk *args`` (inside the chroot if any)."""
        if self.root is None:
            return ["asterisk", *args]
        return ["chroot", str(self.root), "asterisk", *args]

    @property
    def env(self) -> dict[str, str]:
        if self.root is None:
            return dict(os.environ)
        return dict(_CHROOT_ENV)

    def host_path(self, inner: str | Path) -> Path:
        """Host path of a path as Asterisk sees it."""
        if self.root is None:
            return Path(inner)
        return self.root / str(inner).lstrip("/")

    def describe(self) -> str:
        where = "system asterisk on PATH" if self.root is None else f"chroot {self.root}"
        return f"Asterisk {self.version} ({where})"


def cache_dir() -> Path:
    """``${PBX_DIALER_CACHE:-${XDG_CACHE_HOME:-~/.cache}/pbx-dialer}``."""
    explicit = os.environ.get("PBX_DIALER_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "pbx-dialer"


def _roots_dir() -> Path:
    return cache_dir() / "asterisk-roots"


def _sanitize_version(version: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+_-]", "_", version.strip())


def _system_asterisk() -> AsteriskInstallation | None:
    exe = shutil.which("asterisk")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "-V"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"Asterisk\s+(\d+)(\S*)", out)
    if not m or int(m.group(1)) < MIN_MAJOR:
        return None
    return AsteriskInstallation(version=m.group(1) + m.group(2), root=None)


def _root_version(root: Path) -> str | None:
    try:
        proc = subprocess.run(
            ["chroot", str(root), "dpkg-query", "-W", "-f", "${Version}", "asterisk"],
            capture_output=True, text=True, timeout=60, check=False, env=_CHROOT_ENV,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def _cached_roots() -> list[Path]:
    roots = _roots_dir()
    if not roots.is_dir():
        return []
    found = [
        p
        for p in roots.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "usr/sbin/asterisk").exists()
    ]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def find_asterisk() -> AsteriskInstallation | None:
    """A system Asterisk >= 20, else the newest cached chroot root, else None."""
    system = _system_asterisk()
    if system is not None:
        return system
    for root in _cached_roots():
        if os.geteuid() != 0:
            break  # chroot needs root; ensure_asterisk() reports it
        return AsteriskInstallation(version=_root_version(root) or root.name, root=root)
    return None


def _parse_apt_sources() -> Iterator[tuple[str, list[str]]]:
    """(uri, suites) of every enabled ``deb`` source in /etc/apt."""
    base = Path("/etc/apt")
    files = [base / "sources.list"]
    sl_d = base / "sources.list.d"
    if sl_d.is_dir():
        files += sorted(sl_d.glob("*.list")) + sorted(sl_d.glob("*.sources"))
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                key = None
                for line in stanza.splitlines():
                    if line.startswith("#") or not line.strip():
                        continue
                    if line[0].isspace() and key:
                        fields[key] += " " + line.strip()
                        continue
                    k, _, v = line.partition(":")
                    key = k.strip().lower()
                    fields[key] = v.strip()
                if fields.get("enabled", "yes").lower() == "no":
                    continue
                if "deb" not in fields.get("types", "").split():
                    continue
                for uri in fields.get("uris", "").split():
                    yield uri, fields.get("suites", "").split()
        else:
            for raw in text.splitlines():
                line = raw.split("#", 1)[0].strip()
                if not line.startswith("deb "):
                    continue
                line = re.sub(r"\[[^\]]*\]", " ", line)
                parts = line.split()
                if len(parts) >= 3:
                    yield parts[1], [parts[2]]


def debian_mirror() -> str:
    """The Debian main archive URI configured in this machine's apt sources."""
    override = os.environ.get("PBX_DIALER_DEBIAN_MIRROR")
    if override:
        return override
    for uri, suites in _parse_apt_sources():
        if not uri.startswith(("http://", "https://", "file:/")):
            continue
        if "security" in uri or "debian" not in uri:
            continue
        if any(s.split("-")[0] in _DEBIAN_SUITES and "-" not in s for s in suites):
            return uri
    raise AsteriskUnavailable(
        "no Debian main archive found in /etc/apt/sources.list{,.d/*} "
        "(set PBX_DIALER_DEBIAN_MIRROR=<uri> to choose one)"
    )


@contextlib.contextmanager
def _build_lock(roots: Path) -> Iterator[None]:
    roots.mkdir(parents=True, exist_ok=True)
    with open(roots / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build_root(log: bool = True) -> AsteriskInstallation:
    roots = _roots_dir()
    mirror = debian_mirror()
    if shutil.which("debootstrap") is None:
        raise AsteriskUnavailable(
            "no Asterisk >= 20 on PATH and debootstrap is missing (apt-get install debootstrap)"
        )
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=roots))
    if log:
        print(f"building Asterisk root from {mirror} (debian sid) in {tmp} ...", file=sys.stderr)
    try:
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", "--include=asterisk", "sid", str(tmp), mirror],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
            raise AsteriskUnavailable(f"debootstrap failed (exit {proc.returncode}):\n{tail}")
        version = _root_version(tmp)
        if not version:
            raise AsteriskUnavailable("debootstrap finished but asterisk is not installed")
        for deb in (tmp / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        final = roots / _sanitize_version(version)
        if final.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.rename(tmp, final)
        return AsteriskInstallation(version=version, root=final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def ensure_asterisk() -> AsteriskInstallation:
    """Like :func:`find_asterisk`, but build the chroot root if there is none."""
    found = find_asterisk()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise AsteriskUnavailable(
            "no Asterisk >= 20 on PATH; provisioning one in a chroot "
            f"({_roots_dir()}) needs root (run as root or install asterisk >= 20)"
        )
    with _build_lock(_roots_dir()):
        found = find_asterisk()  # somebody else may have built it meanwhile
        if found is not None:
            return found
        return _build_root()


# --------------------------------------------------------------------------
# A minimal raw AMI client (used for boot detection and by tests)
# --------------------------------------------------------------------------


class AmiMessage(dict[str, str]):
    """One AMI message. Repeated keys (ChanVariable) are kept in :attr:`multi`."""

    def __init__(self) -> None:
        super().__init__()
        self.multi: dict[str, list[str]] = {}
        self.raw = ""

    @property
    def chanvars(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.multi.get("ChanVariable", []):
            k, _, v = item.partition("=")
            out[k] = v
        return out


class RawAmi:
    """Asyncio AMI connection without any library; good enough for tests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.banner = ""
        self._seq = 0
        self.transcript: list[str] = []

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float = 5.0) -> RawAmi:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        ami = cls(reader, writer)
        ami.banner = (await asyncio.wait_for(reader.readline(), timeout)).decode().strip()
        return ami

    async def send(self, action: str, **fields: str | list[str]) -> str:
        """Send an action; returns its ActionID. List values repeat the header."""
        self._seq += 1
        action_id = str(fields.pop("ActionID", f"raw-{self._seq}"))
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        for key, value in fields.items():
            for v in value if isinstance(value, list) else [value]:
                lines.append(f"{key}: {v}")
        data = "\r\n".join(lines) + "\r\n\r\n"
        self.transcript.append(">>> " + data)
        self.writer.write(data.encode())
        await self.writer.drain()
        return action_id

    async def read(self, timeout: float = 10.0) -> AmiMessage:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        text = raw.decode(errors="replace")
        self.transcript.append(text)
        msg = AmiMessage()
        msg.raw = text
        for line in text.split("\r\n"):
            if not line:
                continue
            key, sep, value = line.partition(":")
            if not sep:
                continue
            value = value[1:] if value.startswith(" ") else value
            msg.multi.setdefault(key, []).append(value)
            msg.setdefault(key, value)
        return msg

    async def wait_for(
        self,
        pred: Callable[[AmiMessage], bool],
        timeout: float = 10.0,
        collect: list[AmiMessage] | None = None,
    ) -> AmiMessage:
        """Read until ``pred(msg)`` is true; other messages are appended to ``collect``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("AMI message not seen in time")
            msg = await self.read(left)
            if pred(msg):
                return msg
            if collect is not None:
                collect.append(msg)

    async def action(
        self, action: str, timeout: float = 10.0, **fields: str | list[str]
    ) -> AmiMessage:
        """Send an action and return its Response (events read meanwhile are dropped)."""
        action_id = await self.send(action, **fields)
        return await self.wait_for(
            lambda m: "Response" in m and m.get("ActionID") == action_id, timeout
        )

    async def login(self, username: str, secret: str, events: str = "on") -> AmiMessage:
        resp = await self.action("Login", Username=username, Secret=secret, Events=events)
        if resp.get("Response") != "Success":
            raise PermissionError(f"AMI login as {username} failed: {resp.get('Message')}")
        return resp

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.send("Logoff")
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


# --------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_ports() -> tuple[int, int]:
    """A free TCP port for AMI and a free UDP port for SIP (distinct)."""
    ami = _free_port(socket.SOCK_STREAM)
    while True:
        sip = _free_port(socket.SOCK_DGRAM)
        if sip != ami:
            return ami, sip


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _host_dir(inst: AsteriskInstallation, inner: str) -> Path | None:
    """The host path of directory `inner`, following symbolic links as Asterisk would
    (inside the chroot: absolute links point into the root). None if it is missing."""
    path = inst.host_path(inner)
    for _ in range(20):
        if not path.is_symlink():
            return path if path.is_dir() else None
        target = os.readlink(path)
        path = inst.host_path(target) if target.startswith("/") else path.parent / target
    return None


def _pid_alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


class AsteriskInstance:
    """One Asterisk process with private directories on free loopback ports.

    >>> async with AsteriskInstance() as ast:
    ...     ami = await RawAmi.connect(ast.ami_host, ast.ami_port)
    """

    ami_host = "127.0.0.1"
    dialer_user = AMI_DIALER_USER
    dialer_secret = AMI_DIALER_SECRET
    simulator_user = AMI_SIMULATOR_USER
    simulator_secret = AMI_SIMULATOR_SECRET

    def __init__(
        self,
        *,
        conf_dir: Path | str | None = None,
        extra_config: Mapping[str, str] | None = None,
        append_config: Mapping[str, str] | None = None,
        sounds_dir: Path | str | None = None,
        installation: AsteriskInstallation | None = None,
        boot_timeout: float = 30.0,
        ami_port: int | None = None,
        sip_port: int | None = None,
    ) -> None:
        self.conf_dir = Path(conf_dir) if conf_dir else PROJECT_CONF_DIR
        # extra_config: file name -> text replacing (or adding) that file;
        # append_config: file name -> text appended to the shipped file (or a new one).
        self.extra_config = dict(extra_config or {})
        self.append_config = dict(append_config or {})
        self.sounds_dir = Path(sounds_dir) if sounds_dir else PROJECT_SOUNDS_DIR
        self.installation = installation
        self.boot_timeout = boot_timeout
        ports = _free_ports()
        self.ami_port: int = ami_port or ports[0]
        self.sip_port: int = sip_port or ports[1]
        self.instance_id = uuid.uuid4().hex[:10]
        self._inner_dir = ""  # the instance dir as Asterisk sees it
        self._host_dir: Path | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._console: Path | None = None

    # -- paths ------------------------------------------------------------
    @property
    def instance_dir(self) -> Path:
        if self._host_dir is None:
            raise RuntimeError("instance not prepared (call start())")
        return self._host_dir

    @property
    def log_path(self) -> Path:
        """The ``messages`` log (verbose 3) on the host."""
        return self.instance_dir / "log" / "messages"

    @property
    def console_path(self) -> Path:
        """stdout/stderr of the Asterisk process."""
        return self.instance_dir / "console.log"

    @property
    def conf_path(self) -> str:
        """``asterisk.conf`` as Asterisk sees it (argument of -C)."""
        return f"{self._inner_dir}/etc/asterisk.conf"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.returncode is None else None

    # -- lifecycle --------------------------------------------------------
    async def __aenter__(self) -> AsteriskInstance:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self.installation is None:
            self.installation = await asyncio.to_thread(ensure_asterisk)
        if self._host_dir is None:
            self._prepare()
        try:
            await self._launch()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Terminate Asterisk (SIGTERM, SIGKILL after 5 s) and remove the instance dir."""
        await self._terminate()
        if self._host_dir is not None and os.environ.get("PBX_DIALER_KEEP_ASTERISK") != "1":
            shutil.rmtree(self._host_dir, ignore_errors=True)
            self._host_dir = None

    async def restart(self) -> None:
        """Stop and start again with the same ports, config and directories."""
        await self._terminate()
        await self._launch()

    # -- helpers ------------------------------------------------------------
    def _prepare(self) -> None:
        inst = self.installation
        assert inst is not None
        if inst.root is None:
            host = Path(tempfile.mkdtemp(prefix=f"pbxd-{self.instance_id}-"))
            inner = str(host)
        else:
            inner = f"/var/tmp/pbxd-{self.instance_id}"
            host = inst.host_path(inner)
            host.mkdir(parents=True)
        self._host_dir, self._inner_dir = host, inner
        for sub in ("etc", "run", "spool", "log", "db", "cache"):
            (host / sub).mkdir(parents=True, exist_ok=True)
        etc = host / "etc"
        for conf in sorted(self.conf_dir.glob("*.conf")):
            shutil.copy(conf, etc / conf.name)
        for name, text in self.extra_config.items():
            (etc / name).write_text(text)
        for name, text in self.append_config.items():
            with open(etc / name, "a") as conf_file:
                conf_file.write("\n" + text)
        self._substitute(etc)
        data_dir = self._prepare_data_dir(inst, host / "data", f"{inner}/data")
        (etc / "asterisk.conf").write_text(
            "; written by pbx_dialer.testing.asterisk\n"
            "[directories]\n"
            f"astetcdir => {inner}/etc\n"
            f"astrundir => {inner}/run\n"
            f"astspooldir => {inner}/spool\n"
            f"astlogdir => {inner}/log\n"
            f"astdbdir => {inner}/db\n"
            f"astcachedir => {inner}/cache\n"
            f"astdatadir => {data_dir}\n"
            "\n[options]\n"
            "verbose = 3\n"
            "debug = 0\n"
            "nocolor = yes\n"
            "dumpcore = no\n"
            "hideconnect = yes\n"
        )

    def _prepare_data_dir(self, inst: AsteriskInstallation, host: Path, inner: str) -> str:
        """A private astdatadir: links to the installation's data, and a ``sounds/en``
        of links to its English sounds plus copies of the project's recordings. Returns
        the astdatadir for asterisk.conf (the installation's own when nothing to add)."""
        shipped = (
            sorted(p for p in self.sounds_dir.glob("*") if p.is_file())
            if (self.sounds_dir.is_dir())
            else []
        )
        # Recordings only (the folder also holds how they were made).
        shipped = [p for p in shipped if p.suffix.lstrip(".") in SOUND_FORMATS]
        base = next((d for d in _DATA_DIRS if inst.host_path(d).joinpath("sounds").is_dir()), None)
        if base is None:
            if shipped:
                raise AsteriskUnavailable(
                    f"no Asterisk sounds directory in {' or '.join(_DATA_DIRS)} "
                    f"({inst.describe()}) to add {self.sounds_dir} to"
                )
            return _DATA_DIRS[0]
        if not shipped:
            return base
        for entry in inst.host_path(base).iterdir():
            if entry.name != "sounds":
                (host / entry.name).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(f"{base}/{entry.name}", host / entry.name)
        sounds = host / "sounds"
        for entry in inst.host_path(f"{base}/sounds").iterdir():
            if entry.name != "en":
                sounds.mkdir(parents=True, exist_ok=True)
                os.symlink(f"{base}/sounds/{entry.name}", sounds / entry.name)
        english = sounds / "en"
        english.mkdir(parents=True)
        # Links are followed by Asterisk (inside the chroot): name them by inner paths.
        en_dir = _host_dir(inst, f"{base}/sounds/en")
        if en_dir is not None:
            for entry in en_dir.iterdir():
                os.symlink(f"{base}/sounds/en/{entry.name}", english / entry.name)
        for sound in shipped:
            target = english / sound.name
            if target.is_symlink():
                target.unlink()
            shutil.copy(sound, target)
        return inner

    def _substitute(self, etc: Path) -> None:
        manager = etc / "manager.conf"
        if manager.exists():
            text = manager.read_text()
            text = re.sub(r"(?m)^\s*port\s*=.*$", f"port = {self.ami_port}", text)
            text = re.sub(r"(?m)^\s*bindaddr\s*=.*$", f"bindaddr = {self.ami_host}", text)
            manager.write_text(text)
        pjsip = etc / "pjsip.conf"
        if pjsip.exists():
            text = pjsip.read_text()
            text = re.sub(
                r"(?m)^\s*bind\s*=\s*[^\s;]+", f"bind = {self.ami_host}:{self.sip_port}", text
            )
            pjsip.write_text(text)

    async def _launch(self) -> None:
        inst = self.installation
        assert inst is not None and self._host_dir is not None
        self._console = self.console_path
        out = os.open(self._console, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *inst.command("-f", "-C", self.conf_path),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=inst.env,
                start_new_session=True,
            )
        finally:
            os.close(out)
        try:
            await asyncio.wait_for(self._wait_booted(), self.boot_timeout)
        except (TimeoutError, OSError, PermissionError) as exc:
            await self._terminate()
            raise AsteriskUnavailable(
                f"Asterisk ({inst.describe()}) did not boot on AMI port {self.ami_port}: "
                f"{str(exc) or f'no FullyBooted within {self.boot_timeout:g} s'}"
                f"\n--- console ---\n{_tail(self.console_path)}"
                f"\n--- messages ---\n{_tail(self.log_path)}"
            ) from exc

    async def _wait_booted(self) -> None:
        while True:
            proc = self._proc
            if proc is None or proc.returncode is not None:
                raise OSError(f"asterisk exited with status {proc and proc.returncode}")
            try:
                ami = await RawAmi.connect(self.ami_host, self.ami_port, timeout=2)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            try:
                await ami.login(self.dialer_user, self.dialer_secret)
                await ami.wait_for(lambda m: m.get("Event") == "FullyBooted", timeout=60)
                return
            except (asyncio.IncompleteReadError, ConnectionError):
                await asyncio.sleep(0.1)
            finally:
                await ami.close()

    async def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        # anything left in the session (there should be nothing)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    async def cli(self, command: str, timeout: float = 20.0) -> str:
        """Run ``asterisk -rx <command>`` against this instance; returns the output."""
        inst = self.installation
        if inst is None or self.pid is None:
            raise RuntimeError("Asterisk instance is not running")
        proc = await asyncio.create_subprocess_exec(
            *inst.command("-C", self.conf_path, "-rx", command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=inst.env,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        return out.decode(errors="replace")

    def ami_credentials(self, user: str = AMI_DIALER_USER) -> tuple[str, str]:
        return user, {
            AMI_DIALER_USER: AMI_DIALER_SECRET,
            AMI_SIMULATOR_USER: AMI_SIMULATOR_SECRET,
        }[user]


def _main(argv: list[str]) -> int:
    if argv[:1] != ["ensure"]:
        print("usage: python -m pbx_dialer.testing.asterisk ensure", file=sys.stderr)
        return 2
    try:
        inst = ensure_asterisk()
    except AsteriskUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    where = "system (PATH)" if inst.root is None else str(inst.root)
    print(f"Asterisk {inst.version} at {where}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
