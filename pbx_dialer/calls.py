"""What happens to a dialed call, in the contact centre's words.

These domain events are what the AMI tracker produces and what the dialer, the
storage and the live pages consume; none of them knows about AMI.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class TechResult(enum.StrEnum):
    """The technical result of one attempt."""

    SUCCESS = "SUCCESS"  # answered and connected to an agent
    BUSY = "BUSY"
    NOANSWER = "NOANSWER"
    CONGESTION = "CONGESTION"
    FAILED = "FAILED"  # the call could not be placed (trunk down, refused, no route)
    # The network says the number does not exist (Q.850 1/22/28, SIP 404/410/484/604):
    # dialing it again reaches nobody, so by default it is not retried.
    INVALID = "INVALID"
    ABANDONED = "ABANDONED"  # answered, but no agent took it before it ended
    MACHINE = "MACHINE"  # answering-machine detection said a machine answered


@dataclass(frozen=True, slots=True)
class CallAnswered:
    attempt_id: int
    at: float


@dataclass(frozen=True, slots=True)
class CallQueued:
    attempt_id: int
    queue: str
    at: float


@dataclass(frozen=True, slots=True)
class CallConnected:
    attempt_id: int
    queue: str
    agent: str
    agent_interface: str
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The attempt is over. Emitted exactly once per attempt."""

    attempt_id: int
    result: TechResult
    at: float
    agent: str | None = None
    queue: str | None = None
    ring_s: float | None = None
    wait_s: float | None = None
    talk_s: float | None = None
    cause: str = ""
    # What the network said about the customer's leg: the Q.850 hangup cause and, where
    # Asterisk exposes it, the SIP final response (None: not known).
    cause_code: int | None = None
    sip_status: int | None = None
    # False when the call ended while the dialer was not listening: its end, and so its
    # talk (and wait) time, are not known and are stored as unknown, never guessed.
    times_known: bool = True


@dataclass(frozen=True, slots=True)
class CallCauseLearned:
    """The customer leg's SIP response arrived after its attempt ended (behind a Local
    channel a fast 404 or 503 may hang up that leg a moment after the dialer's own
    channel): stored with the attempt, which keeps its result."""

    attempt_id: int
    sip_status: int


class TransferKind(enum.StrEnum):
    BLIND = "blind"  # the agent sends the customer to an extension and leaves
    ATTENDED = "attended"  # the agent talks to the target first, then joins them


@dataclass(frozen=True, slots=True)
class CallTransferred:
    """The customer of an attempt was transferred. `by` is the agent who took the call
    when the agent transferred it, else the transferring channel; `target` is
    extension@context (blind) or the target's channel (attended)."""

    attempt_id: int
    kind: TransferKind
    at: float
    by: str
    by_interface: str | None
    target: str


@dataclass(frozen=True, slots=True)
class CallRecording:
    """Asterisk started recording the attempt's customer leg into `file`, a name
    relative to its monitor spool directory (astspooldir/monitor)."""

    attempt_id: int
    file: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentState:
    """A queue member's presence as the queue sees it."""

    queue: str
    interface: str
    name: str
    status: int  # Asterisk device state: 1 not in use, 2 in use, 6 ringing, 5 unavailable, ...
    paused: bool
    in_call: bool
    # When the member's wrap-up after its last call ends (epoch seconds; 0: none):
    # Asterisk gives them no queue call before then (LastCall + wrap-up time).
    wrapup_until: float = 0.0

    @property
    def logged_in(self) -> bool:
        """Present at all: not unknown (0), invalid (4) or unavailable (5)."""
        return self.status not in (0, 4, 5)

    @property
    def idle(self) -> bool:
        """Free as far as the device and the queue's pause say; see `idle_at` for whether
        the queue would give them a call now (wrap-up depends on the time)."""
        return self.status == 1 and not self.paused and not self.in_call

    def in_wrapup(self, now: float) -> bool:
        """Otherwise free, but still in after-call work at `now`."""
        return self.idle and now < self.wrapup_until

    def idle_at(self, now: float) -> bool:
        """Free, and out of wrap-up: the queue would give them a call at `now`."""
        return self.idle and now >= self.wrapup_until


@dataclass(frozen=True, slots=True)
class AgentLeft:
    queue: str
    interface: str


CallEvent = (
    CallAnswered
    | CallQueued
    | CallConnected
    | CallEnded
    | CallTransferred
    | CallRecording
    | CallCauseLearned
)
PbxEvent = CallEvent | AgentState | AgentLeft
