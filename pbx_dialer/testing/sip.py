"""A rig of real SIP user agents (sipp) around a real Asterisk, for tests.

:class:`SipRig` starts, on free loopback ports:

* the PSTN **trunk**: one sipp UAS (``sipp/trunk.xml``) for every call Asterisk places
  on the pjsip endpoint ``trunk`` (dial ``PJSIP/<number>@trunk``). What a call does is
  chosen by its number, see :func:`trunk_number`;
* one **agent phone** per agent (``sipp/agent.xml``), endpoint ``siprig-agent<N>`` with
  a static contact qualified every second, so a stopped phone goes UNAVAILABLE;
* **inbound callers** on demand (``sipp/caller.xml``), endpoint ``siprig-inbound``,
  calling ``<queue>-<priority>`` in context ``sip-rig-inbound`` (the trunk's own calls
  in, context ``sip-rig-from-trunk``, go the same way).

Trunk numbers are ``+12125BBTNNN`` in E.164 (the rig also takes the ten digits
alone, as a trunk may be sent either way): ``BB`` the behaviour, ``T`` seconds the
customer talks before hanging up (0: until Asterisk hangs up, 60 s at most), ``NNN``
free for the test (e.g. to tell calls apart)::

    BB  behaviour                SIP, from the trunk
    20  answer                   100, 180, 1 s, 200 + SDP, RTP; BYE after T s if T > 0
    21  early_media              100, 183 + SDP and RTP, 1 s, 200, then as answer
    22  answer_hangup            as answer, T is 1-9
    23  answer_hangup_now        100, 200 at once, BYE 0.1 s after the ACK
    18  no_answer                100, 180, rings until CANCEL (200, 487)
    86  busy                     100, 180, 1 s, 486 Busy Here
    48  temporarily_unavailable  100, 180, 1 s, 480 Temporarily Unavailable
    63  decline                  100, 180, 1 s, 603 Decline
    53  unavailable              100, 503 Service Unavailable
    44  not_found                100, 404 Not Found
    other numbers                100, 180, 1 s, 500 Unknown sip-rig Number

Every sipp process writes its messages (``-trace_shortmsg``: wall-clock time, call id,
CSeq, first line) to its own log in the rig's directory; :meth:`SipRig.trunk_calls`,
:meth:`SipRig.agent_calls` and :meth:`CallerProcess.calls` read them back as records.
Media: every party streams a small PCMU tone (0.5 s on, 1.5 s off) once answered.
No sipp: :class:`SipUnavailable` (tests fail, they never skip).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

from pbx_dialer.testing.asterisk import AsteriskInstance, RawAmi

__all__ = [
    "BEHAVIOURS",
    "CallerProcess",
    "PhoneCall",
    "SipMessage",
    "SipRig",
    "SipUnavailable",
    "TrunkCall",
    "trunk_behaviour",
    "trunk_number",
]

SCENARIO_DIR = Path(__file__).resolve().parent / "sipp"
TONE_FILE = "siprig-tone.pcmu"  # the scenarios stream it from their working directory
HOST = "127.0.0.1"

# Behaviour -> the BB digits of a trunk number (see the module docstring).
BEHAVIOURS: Mapping[str, int] = {
    "answer": 20,
    "early_media": 21,
    "answer_hangup": 22,
    "answer_hangup_now": 23,
    "no_answer": 18,
    "busy": 86,
    "temporarily_unavailable": 48,
    "decline": 63,
    "unavailable": 53,
    "not_found": 44,
}
_BY_CODE = {code: name for name, code in BEHAVIOURS.items()}
_NUMBER = re.compile(r"(?:\+1)?2125(\d\d)(\d)(\d\d\d)")

Side = Literal["rig", "asterisk"]


class SipUnavailable(RuntimeError):
    """sipp is missing or one of the rig's user agents did not start."""


def trunk_number(behaviour: str, index: int = 0, talk_s: int | None = None) -> str:
    """The trunk number that makes the customer behave so (``+12125BBTNNN``).

    `index` (0-999) tells calls apart; `talk_s` (1-9) is how long the customer talks
    before hanging up: required for ``answer_hangup``, optional for ``answer`` and
    ``early_media`` (without it they talk until Asterisk hangs up)."""
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown trunk behaviour {behaviour!r}; known: {', '.join(BEHAVIOURS)}")
    if not 0 <= index <= 999:
        raise ValueError(f"trunk number index must be 0-999, not {index}")
    if behaviour == "answer_hangup" and talk_s is None:
        raise ValueError("answer_hangup needs talk_s (1-9 seconds)")
    if talk_s is not None:
        if behaviour not in ("answer", "early_media", "answer_hangup"):
            raise ValueError(f"talk_s makes no sense for {behaviour!r}")
        if not 1 <= talk_s <= 9:
            raise ValueError(f"talk_s must be 1-9 seconds, not {talk_s}")
    return f"+12125{BEHAVIOURS[behaviour]:02d}{talk_s or 0}{index:03d}"


def trunk_behaviour(number: str) -> tuple[str, int, int] | None:
    """(behaviour, talk_s, index) of a trunk number, None if outside the scheme."""
    m = _NUMBER.fullmatch(number)
    if m is None or int(m.group(1)) not in _BY_CODE:
        return None
    return _BY_CODE[int(m.group(1))], int(m.group(2)), int(m.group(3))


# --------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SipMessage:
    """One line of a sipp short message log: a message sent or received."""

    at: float  # time.time()
    sent: bool  # by the rig's user agent (else received from Asterisk)
    call_id: str
    cseq_method: str
    first_line: str

    @property
    def method(self) -> str | None:
        """The request's method, None for a response."""
        return None if self.first_line.startswith("SIP/2.0") else self.first_line.split()[0]

    @property
    def status(self) -> int | None:
        """The response's status code, None for a request."""
        if not self.first_line.startswith("SIP/2.0"):
            return None
        return int(self.first_line.split()[1])


@dataclass(frozen=True)
class TrunkCall:
    """One call Asterisk placed on the trunk, as the trunk saw it."""

    number: str
    behaviour: str | None  # None: outside the numbering scheme
    call_id: str
    invite_at: float
    final_status: int | None  # the final response the trunk sent to the INVITE
    answered_at: float | None  # 200 OK sent
    ended_at: float | None  # BYE or CANCEL, or the final failure response
    bye_from: Side | None  # who hung up an answered call
    cancelled: bool  # Asterisk sent CANCEL
    messages: tuple[SipMessage, ...] = field(repr=False)


@dataclass(frozen=True)
class PhoneCall:
    """One call on an agent's phone or an inbound caller."""

    call_id: str
    invite_at: float
    final_status: int | None  # the final response to the INVITE
    answered_at: float | None
    ended_at: float | None
    bye_from: Side | None  # rig: the phone (or caller) hung up
    cancelled: bool
    messages: tuple[SipMessage, ...] = field(repr=False)


def read_messages(path: Path) -> list[SipMessage]:
    """The messages of a ``-trace_shortmsg`` log (missing file: none)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        # date, time, epoch, R|S, call id, CSeq:..., first line
        if len(parts) < 7 or parts[3] not in ("R", "S"):
            continue
        cseq = parts[5].removeprefix("CSeq:").split()
        out.append(
            SipMessage(
                at=float(parts[2]),
                sent=parts[3] == "S",
                call_id=parts[4],
                cseq_method=cseq[-1] if cseq else "",
                first_line=parts[6].strip(),
            )
        )
    return out


@dataclass
class _Dialog:
    call_id: str
    invite_at: float
    request_uri: str
    final_status: int | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    bye_from: Side | None = None
    cancelled: bool = False
    messages: list[SipMessage] = field(default_factory=list)


def _dialogs(messages: list[SipMessage], rig_invites: bool) -> list[_Dialog]:
    """Calls in order of their INVITE; `rig_invites`: the rig sent the INVITE (a
    caller), else Asterisk did (trunk, phone). OPTIONS and such are left out."""
    calls: dict[str, _Dialog] = {}
    for msg in messages:
        dialog = calls.get(msg.call_id)
        if dialog is None:
            if msg.method != "INVITE" or msg.sent != rig_invites:
                continue
            dialog = calls[msg.call_id] = _Dialog(msg.call_id, msg.at, msg.first_line.split()[1])
        dialog.messages.append(msg)
        status = msg.status
        if status is not None and msg.cseq_method == "INVITE" and status >= 200:
            if dialog.final_status is None:
                dialog.final_status = status
                if status == 200:
                    dialog.answered_at = msg.at
                elif dialog.ended_at is None:
                    dialog.ended_at = msg.at
        elif msg.method == "CANCEL":
            dialog.cancelled = True
            dialog.ended_at = dialog.ended_at or msg.at
        elif msg.method == "BYE" and dialog.bye_from is None:
            dialog.bye_from = "rig" if msg.sent else "asterisk"
            dialog.ended_at = msg.at
    return list(calls.values())


def _user(uri: str) -> str:
    return uri.removeprefix("sip:").split("@", 1)[0]


# --------------------------------------------------------------------------
# sipp processes
# --------------------------------------------------------------------------


def _free_udp(count: int = 1, step: int = 1) -> int:
    """A free loopback UDP port p (with p + step ... free too, for `count` ports)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first:
            first.bind((HOST, 0))
            port = int(first.getsockname()[1])
            if step == 2 and port % 2:
                continue
            if port + step * (count - 1) > 65535:
                continue
            others = []
            try:
                for i in range(1, count):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    others.append(s)
                    s.bind((HOST, port + step * i))
            except OSError:
                continue
            finally:
                for s in others:
                    s.close()
            return port
    raise SipUnavailable("no free loopback UDP ports for sipp")


def sipp_path() -> str:
    """The sipp executable, or SipUnavailable saying how to get it."""
    exe = shutil.which("sipp") or ("/usr/bin/sipp" if os.access("/usr/bin/sipp", os.X_OK) else None)
    if exe is None:
        raise SipUnavailable("sipp is not installed (apt-get install sip-tester)")
    return exe


class SippProcess:
    """One sipp user agent on its own loopback ports, logging to `workdir`."""

    def __init__(self, name: str, scenario: str, workdir: Path) -> None:
        self.name = name
        self.scenario = SCENARIO_DIR / scenario
        self.workdir = workdir
        self.sip_port = _free_udp()
        self.media_port = _free_udp(count=2, step=2)  # sipp binds audio and audio + 2
        self.control_port = _free_udp()
        self.output_path = workdir / f"{name}.out"
        self.log_paths: list[Path] = []  # one per start: sipp truncates its logs
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def messages(self) -> list[SipMessage]:
        """What this user agent sent and received, over all its starts."""
        return [msg for path in self.log_paths for msg in read_messages(path)]

    async def start(self, *args: str) -> None:
        """Start sipp with the rig's common options plus `args`; fail clearly if it
        exits at once (bad scenario, port taken)."""
        run = f"{self.name}.{len(self.log_paths) + 1}"
        self.log_paths.append(self.workdir / f"{run}.messages.log")
        command = [
            sipp_path(), *args,
            "-sf", str(self.scenario),
            "-i", HOST, "-p", str(self.sip_port), "-bind_local",
            "-mi", HOST, "-mp", str(self.media_port),
            "-cp", str(self.control_port),
            "-nostdin", "-aa",
            "-trace_shortmsg", "-shortmessage_file", str(self.log_paths[-1]),
            "-trace_msg", "-message_file", str(self.workdir / f"{run}.trace.log"),
            "-trace_err", "-error_file", str(self.workdir / f"{run}.errors.log"),
        ]  # fmt: skip
        out = os.open(self.output_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *command,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=out,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            os.close(out)
        # sipp checks its scenario and binds its sockets before anything else
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._proc.wait(), 0.3)
        if self._proc.returncode not in (None, 0):
            raise SipUnavailable(
                f"sipp {self.name} exited with status {self._proc.returncode}: "
                f"{self.output_path.read_text(errors='replace')[-2000:]}"
            )

    async def wait(self, timeout: float) -> int:
        """Wait for sipp to end by itself; its exit status (0: every call succeeded)."""
        assert self._proc is not None
        return await asyncio.wait_for(self._proc.wait(), timeout)

    async def stop(self) -> None:
        """Kill it at once, as a phone pulled from the wall would go."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


def _die_with_parent() -> None:
    """In the child: be killed when the test process dies, however it dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class CallerProcess(SippProcess):
    """One inbound caller (a sipp UAC making one call)."""

    def calls(self) -> list[PhoneCall]:
        return [_phone_call(d) for d in _dialogs(self.messages(), rig_invites=True)]


def _phone_call(d: _Dialog) -> PhoneCall:
    return PhoneCall(
        call_id=d.call_id,
        invite_at=d.invite_at,
        final_status=d.final_status,
        answered_at=d.answered_at,
        ended_at=d.ended_at,
        bye_from=d.bye_from,
        cancelled=d.cancelled,
        messages=tuple(d.messages),
    )


def _write_tone(path: Path) -> None:
    """2 s of PCMU: 0.5 s of 425 Hz, then silence (sipp loops it)."""
    rate = 8000
    samples = [
        int(8000 * math.sin(2 * math.pi * 425 * i / rate)) if i < rate // 2 else 0
        for i in range(2 * rate)
    ]
    path.write_bytes(bytes(_ulaw(s) for s in samples))


def _ulaw(sample: int) -> int:
    """G.711 mu-law of a 16-bit linear sample."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = (magnitude >> 7).bit_length() - 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


# --------------------------------------------------------------------------
# The rig
# --------------------------------------------------------------------------


@dataclass
class _Phone:
    answer_delay_s: float
    talk_s: float
    process: SippProcess


class SipRig:
    """The trunk, `agents` agent phones and inbound callers around its own Asterisk.

    >>> async with SipRig(agents=2) as rig:
    ...     await rig.add_to_queue("sales", 1)
    ...     ami = await RawAmi.connect(rig.asterisk.ami_host, rig.asterisk.ami_port)

    Phones answer after `answer_delay_s` and hang up after `talk_s` (if Asterisk has not);
    :meth:`start_agent` changes that per phone."""

    def __init__(
        self,
        agents: int = 4,
        *,
        answer_delay_s: float = 1.0,
        talk_s: float = 60.0,
    ) -> None:
        if agents < 0:
            raise ValueError(f"agents must be >= 0, not {agents}")
        self.workdir = Path(tempfile.mkdtemp(prefix="siprig-"))
        self.trunk = SippProcess("trunk", "trunk.xml", self.workdir)
        self.phones = {
            n: _Phone(answer_delay_s, talk_s, SippProcess(f"agent{n}", "agent.xml", self.workdir))
            for n in range(1, agents + 1)
        }
        self.callers: list[CallerProcess] = []
        self.asterisk = AsteriskInstance(append_config=self.asterisk_config())
        self._ami: RawAmi | None = None
        self._ami_lock = asyncio.Lock()

    # -- names -------------------------------------------------------------
    @staticmethod
    def agent_endpoint(n: int) -> str:
        return f"siprig-agent{n}"

    def agent_interface(self, n: int) -> str:
        """The queue member interface (and state interface) of agent `n`'s phone."""
        self._phone(n)
        return f"PJSIP/{self.agent_endpoint(n)}"

    def _phone(self, n: int) -> _Phone:
        if n not in self.phones:
            raise ValueError(f"no agent {n} in this rig (agents 1-{len(self.phones)})")
        return self.phones[n]

    # -- Asterisk configuration ------------------------------------------------
    def asterisk_config(self) -> dict[str, str]:
        """File name -> text appended to the shipped Asterisk config."""
        pjsip = [
            "; --- sip-rig (pbx_dialer.testing.sip) ---",
            "[siprig-endpoint](!)",
            "type = endpoint",
            "transport = transport-udp",
            "disallow = all",
            "allow = ulaw,alaw",
            "direct_media = no",
            "rtp_symmetric = yes",
            "",
            "[trunk](siprig-endpoint)",
            "context = sip-rig-from-trunk",
            "aors = trunk",
            "",
            "[trunk]",
            "type = aor",
            f"contact = sip:{HOST}:{self.trunk.sip_port}",
            "",
            "[siprig-trunk-identify]",
            "type = identify",
            "endpoint = trunk",
            f"match = {HOST}:{self.trunk.sip_port}",
            "",
            "[siprig-inbound](siprig-endpoint)",
            "context = sip-rig-inbound",
            "identify_by = username",
            "",
        ]
        for n, phone in self.phones.items():
            name = self.agent_endpoint(n)
            pjsip += [
                f"[{name}](siprig-endpoint)",
                "context = sip-rig-agents",
                f"aors = {name}",
                "",
                f"[{name}]",
                "type = aor",
                f"contact = sip:{name}@{HOST}:{phone.process.sip_port}",
                "qualify_frequency = 1",
                "qualify_timeout = 0.5",
                "",
            ]
        dialplan = """
; --- sip-rig (pbx_dialer.testing.sip) ---
[sip-rig-inbound]
; An inbound caller dials <queue>-<priority>, e.g. sales-10 (the queue name may hold '-').
exten => _[a-z].,1,NoOp(sip-rig: inbound caller for ${EXTEN})
 same => n,Set(SIPRIG_QUEUE=${EXTEN})
 same => n,Set(QUEUE_PRIO=${POP(SIPRIG_QUEUE,-)})
 same => n,GotoIf($["${SIPRIG_QUEUE}" = "" | !$["${QUEUE_PRIO}" =~ "^[0-9]+$"]]?bad)
 same => n,Answer()
 same => n,Queue(${SIPRIG_QUEUE},r)
 same => n,Hangup()
 same => n(bad),Verbose(1,sip-rig: ${EXTEN} is not <queue>-<priority>)
 same => n,Hangup(1)

[sip-rig-from-trunk]
exten => _[a-z].,1,Goto(sip-rig-inbound,${EXTEN},1)

[sip-rig-agents]
; Agents' phones only answer in this rig.
exten => _X.,1,Hangup(21)

[sip-rig-answered]
; Originate into it: keeps sending audio (so RTP flows both ways) until hung up.
exten => s,1,Playtones(425/500,0/1500)
 same => n,Wait(120)
 same => n,Hangup()
"""
        return {"pjsip.conf": "\n".join(pjsip) + "\n", "extensions.conf": dialplan}

    # -- lifecycle ---------------------------------------------------------
    async def __aenter__(self) -> SipRig:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the user agents, then Asterisk, and wait until Asterisk reaches every
        phone (qualify)."""
        try:
            sipp_path()
            _write_tone(self.workdir / TONE_FILE)
            await self.trunk.start()
            for n in self.phones:
                await self._start_phone(n)
            await self.asterisk.start()
            self._ami = await RawAmi.connect(self.asterisk.ami_host, self.asterisk.ami_port)
            await self._ami.login(
                self.asterisk.simulator_user, self.asterisk.simulator_secret, events="off"
            )
            for n in self.phones:
                await self.wait_reachable(n)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Kill every sipp process, stop Asterisk, remove the rig's directory."""
        for caller in self.callers:
            await caller.stop()
        for phone in self.phones.values():
            await phone.process.stop()
        await self.trunk.stop()
        if self._ami is not None:
            await self._ami.close()
            self._ami = None
        await self.asterisk.stop()
        if os.environ.get("PBX_DIALER_KEEP_SIPRIG") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def _start_phone(self, n: int) -> None:
        phone = self._phone(n)
        await phone.process.start(
            "-set", "answer_ms", str(round(phone.answer_delay_s * 1000)),
            "-set", "talk_ms", str(round(phone.talk_s * 1000)),
        )  # fmt: skip

    # -- AMI -----------------------------------------------------------------
    async def ami_action(self, action: str, **fields: str) -> dict[str, str]:
        """One AMI action as the simulator user; its Response (error if not Success)."""
        if self._ami is None:
            raise RuntimeError("the SIP rig is not started")
        async with self._ami_lock:
            response = await self._ami.action(action, 10.0, **fields)
        if response.get("Response") != "Success":
            raise RuntimeError(f"AMI {action} failed: {response.get('Message')}")
        return dict(response)

    async def device_state(self, n: int) -> str:
        """Asterisk's device state of agent `n`'s phone (NOT_INUSE, INUSE, RINGING, ...)."""
        response = await self.ami_action(
            "Getvar", Variable=f"DEVICE_STATE({self.agent_interface(n)})"
        )
        return response.get("Value", "")

    async def wait_device_state(self, n: int, state: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while (current := await self.device_state(n)) != state:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"agent {n}'s phone is {current}, not {state}, after {timeout} s"
                )
            await asyncio.sleep(0.05)

    async def wait_reachable(self, n: int, timeout: float = 10.0) -> None:
        """Until Asterisk's qualify reaches agent `n`'s phone."""
        aor = self.agent_endpoint(n)
        deadline = time.monotonic() + timeout
        while True:
            if self._ami is None:
                raise RuntimeError("the SIP rig is not started")
            async with self._ami_lock:
                response = await self._ami.action("Command", Command=f"pjsip show aor {aor}")
            output = "\n".join(response.multi.get("Output", []))
            if re.search(rf"Contact:\s+{aor}/\S+\s+\S+\s+Avail\b", output):
                return
            if time.monotonic() > deadline:
                raise SipUnavailable(f"Asterisk does not reach agent {n}'s phone:\n{output}")
            await asyncio.sleep(0.1)

    async def add_to_queue(
        self, queue: str, n: int, *, penalty: int = 0, paused: bool = False
    ) -> str:
        """Make agent `n`'s phone a member of `queue` with its real device state;
        returns the member interface."""
        interface = self.agent_interface(n)
        await self.ami_action(
            "QueueAdd",
            Queue=queue,
            Interface=interface,
            StateInterface=interface,
            MemberName=f"Agent {n}",
            Penalty=str(penalty),
            Paused="true" if paused else "false",
        )
        return interface

    # -- phones and callers ------------------------------------------------
    async def stop_agent(self, n: int) -> None:
        """Kill agent `n`'s phone: Asterisk's qualify soon makes it UNAVAILABLE."""
        await self._phone(n).process.stop()

    async def start_agent(
        self, n: int, *, answer_delay_s: float | None = None, talk_s: float | None = None
    ) -> None:
        """(Re)start agent `n`'s phone, optionally with new timings, and wait until
        Asterisk reaches it."""
        phone = self._phone(n)
        await phone.process.stop()
        if answer_delay_s is not None:
            phone.answer_delay_s = answer_delay_s
        if talk_s is not None:
            phone.talk_s = talk_s
        await self._start_phone(n)
        if self._ami is not None:
            await self.wait_reachable(n)

    async def inbound_call(
        self, queue: str, priority: int = 0, hold_s: float = 10.0
    ) -> CallerProcess:
        """A caller who dials `queue` with `priority`, is answered (and waits in the
        queue), stays `hold_s` seconds after the answer and hangs up (unless Asterisk
        hangs up first). Returns at once; :meth:`CallerProcess.wait` waits for the end."""
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", queue):
            raise ValueError(f"queue name {queue!r}: the rig dials lower-case names only")
        if priority < 0:
            raise ValueError(f"priority must be >= 0, not {priority}")
        caller = CallerProcess(f"caller{len(self.callers) + 1}", "caller.xml", self.workdir)
        self.callers.append(caller)
        await caller.start(
            f"{HOST}:{self.asterisk.sip_port}",
            "-s", f"{queue}-{priority}",
            "-m", "1",
            "-set", "hold_ms", str(round(hold_s * 1000)),
        )  # fmt: skip
        return caller

    # -- what happened -----------------------------------------------------
    def trunk_calls(self) -> list[TrunkCall]:
        """Every call Asterisk placed on the trunk, in order of its INVITE."""
        out = []
        for d in _dialogs(self.trunk.messages(), rig_invites=False):
            number = _user(d.request_uri)
            known = trunk_behaviour(number)
            out.append(
                TrunkCall(
                    number=number,
                    behaviour=known[0] if known else None,
                    call_id=d.call_id,
                    invite_at=d.invite_at,
                    final_status=d.final_status,
                    answered_at=d.answered_at,
                    ended_at=d.ended_at,
                    bye_from=d.bye_from,
                    cancelled=d.cancelled,
                    messages=tuple(d.messages),
                )
            )
        return out

    def agent_calls(self, n: int) -> list[PhoneCall]:
        """Every call that rang agent `n`'s phone, in order."""
        process = self._phone(n).process
        return [_phone_call(d) for d in _dialogs(process.messages(), rig_invites=False)]
