"""The pure AMI event trackers: AMI events in, domain events out. No I/O, no clock.

`CallTracker` follows the customer leg of every attempt the dialer placed. It knows a
call by the ChannelId the dialer assigned at Originate, which Asterisk uses as the
channel's Uniqueid, so it never guesses by channel name. It emits `CallEnded`
exactly once per attempt, whatever order the events come in. It also reports the
recording Asterisk started on the customer leg (MixMonitorStart) and the transfers of
the customer (BlindTransfer, AttendedTransfer); a transferred call keeps its result
(SUCCESS with the agent who took it), and its talk time is the agent's: up to the
first transfer.

Three kinds of call (`CALL_KINDS`), by dial mode:

* customer first (`agent`): the customer leg is originated, answers, and waits in the
  queue for an agent;
* agent first (`agent_first`): a Local channel waits in the queue (its second half,
  `<channel id>-2`, is the queue caller); once an agent answers, its first half (the
  channel id) dials the customer. The customer answered when that half enters a bridge;
  if not, it hangs up with the customer's cause (17 busy, 19 no answer, 34 congestion).
  The Originate succeeds when the agent answers, which is not the customer answering;
* message (`message`): the customer leg hears a recorded message. It is MACHINE when it
  ends in the `machine` extension of the message context (answering-machine detection
  said so: every channel event names where in the dialplan the channel is), and a
  queue join is the person pressing the transfer key: a transfer to the queue.

`QueueTracker` keeps each queue's members and waiting callers, fed by QueueStatus
replies and the live QueueMember*/QueueCaller* events.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from pbx_dialer.ami import causes
from pbx_dialer.ami.actions import channel_id_from_action_id
from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.calls import (
    AgentLeft,
    AgentState,
    CallAnswered,
    CallCauseLearned,
    CallConnected,
    CallEnded,
    CallEvent,
    CallQueued,
    CallRecording,
    CallTransferred,
    PbxEvent,
    TechResult,
    TransferKind,
)

CALL_AGENT = "agent"
CALL_AGENT_FIRST = "agent_first"
CALL_MESSAGE = "message"
CALL_KINDS = (CALL_AGENT, CALL_AGENT_FIRST, CALL_MESSAGE)
# Where [dialer-message] leaves the call to an answering machine.
MACHINE_EXTEN = "machine"
# What the transfer of a message call to the queue is recorded as done by.
MESSAGE_TRANSFERER = "message"

# The channel variable that names a call's attempt on every channel of it: Originate
# sets it on the dialer's own channel, and the dialplan passes it on (`__DIALER_ATTEMPT`)
# to the leg it dials to the trunk, so the customer's own leg is known by it too.
ATTEMPT_VARIABLE = "DIALER_ATTEMPT"
# How many ended attempts wait for a late SIP response of their customer's leg.
_ENDED_KEPT = 2000


def is_local(channel: str) -> bool:
    return channel.startswith("Local/")


@dataclass(slots=True)
class _Call:
    attempt_id: int
    channel_id: str
    placed_at: float
    started_at: float | None = None
    answered_at: float | None = None
    queue: str | None = None
    queued_at: float | None = None
    # When it left the queue without an agent (its queue timeout: then the safe-harbour
    # message plays, which is no longer waiting).
    left_queue_at: float | None = None
    agent: str | None = None
    agent_interface: str | None = None
    connected_at: float | None = None
    # The dialer's own channel's hangup: its Q.850 cause and when.
    own_cause: int | None = None
    hung_up_at: float | None = None
    # The customer's own leg (the dialer's channel on a direct trunk, the trunk channel
    # behind a Local one): its Q.850 cause, SIP final response and hangup.
    far_cause: int | None = None
    far_sip: int | None = None
    far_hung_up_at: float | None = None
    # A Local channel optimised away (the trunk channel took its place in the bridge):
    # its hangup is not the end of the call; the customer's own leg's is.
    optimised: bool = False
    # OriginateResponse said Failure before the channel's Hangup (and its cause) came.
    failed_reason: str | None = None
    # The agent's leg of the bridge (AgentConnect's DestChannel): tells a transfer by
    # the agent from one by anybody else.
    agent_channel: str | None = None
    transferred_at: float | None = None
    transfers: set[tuple[str, float]] = field(default_factory=set)
    recording: bool = False
    kind: str = CALL_AGENT

    def end(self, result: TechResult, at: float, cause: str, times_known: bool = True) -> CallEnded:
        """The call's outcome. `times_known` False: it ended at some moment while the
        dialer was not listening, so `at` is only when that was noticed: no talk time,
        and no ring time of a call that was not known to be answered."""
        start = self.started_at if self.started_at is not None else self.placed_at
        # Agent first: the customer is dialed when the agent answers, and the talk
        # begins when the customer does.
        talk_from = self.connected_at
        if self.kind == CALL_AGENT_FIRST:
            start = self.connected_at if self.connected_at is not None else start
            talk_from = self.answered_at
        ring_end = self.answered_at if self.answered_at is not None else at
        # A customer-first call joins the queue when answered: an adopted call (no
        # QueueCallerJoin seen by this run) waited from its answer.
        queued_at = self.queued_at
        if queued_at is None and self.kind == CALL_AGENT and self.connected_at is not None:
            queued_at = self.answered_at
        wait: float | None = None
        if queued_at is not None and (times_known or self.connected_at is not None):
            wait_end = self.connected_at or self.left_queue_at or at
            wait = max(0.0, wait_end - queued_at)
        # Talk time is the agent's: it stops at the first transfer.
        talk_end = self.transferred_at if self.transferred_at is not None else at
        talk = max(0.0, talk_end - talk_from) if talk_from is not None else None
        if not times_known and self.transferred_at is None:
            talk = None
        ring: float | None = max(0.0, ring_end - start)
        if not times_known and self.answered_at is None:
            ring = None
        return CallEnded(
            attempt_id=self.attempt_id,
            result=result,
            at=at,
            agent=self.agent,
            queue=self.queue,
            ring_s=ring,
            wait_s=wait,
            talk_s=talk,
            cause=cause,
            cause_code=self.cause_code(),
            sip_status=self.far_sip,
            times_known=times_known,
        )

    def cause_code(self) -> int | None:
        """The Q.850 cause stored with the attempt: the customer leg's, unless it says
        nothing (0: cancelled by the dialer's ring timeout) and the dialer's own
        channel says more."""
        if causes.informative(self.far_cause) or self.own_cause is None:
            return self.far_cause
        return self.own_cause

    def unanswered(self, reason: str | None) -> TechResult:
        return causes.unanswered_result(
            far_sip=self.far_sip,
            far_cause=self.far_cause,
            own_cause=self.own_cause,
            reason=reason,
        )

    def describe_causes(self) -> str:
        """What the network said, for the attempt's `cause` text."""
        parts = []
        if self.far_sip is not None:
            parts.append(f"SIP {self.far_sip}")
        if self.far_cause is not None:
            parts.append(f"cause {self.far_cause}")
        if self.own_cause is not None and self.own_cause != self.far_cause:
            parts.append(f"dialer channel cause {self.own_cause}")
        return ", ".join(parts)

    def answered_result(self) -> TechResult:
        # An agent already held an agent-first call, and a message call got its message.
        if self.kind != CALL_AGENT or self.connected_at is not None:
            return TechResult.SUCCESS
        return TechResult.ABANDONED


def recording_file(channel_id: str) -> str:
    """The file MixMonitor writes for a call, relative to Asterisk's monitor spool
    directory: [dialer-connect] names it after the Uniqueid, which is the attempt's
    channel id (pbxd-<attempt>-<hex>.wav). MixMonitorStart carries no file name."""
    return f"{channel_id}.wav"


class CallTracker:
    def __init__(self) -> None:
        self._calls: dict[str, _Call] = {}
        # Agent first: the queue caller (the Local channel's second half) -> channel id.
        self._halves: dict[str, str] = {}
        # Bridge -> {Uniqueid: channel}: who an attended transfer joined the customer to.
        self._bridges: dict[str, dict[str, str]] = {}
        # Attempt id -> channel id: the customer's own leg behind a Local channel is
        # known only by the attempt it carries (ATTEMPT_VARIABLE).
        self._by_attempt: dict[int, str] = {}
        # Attempts ended lately whose customer leg had not said its SIP response yet:
        # that leg's Hangup may come a moment after (bounded: old ones fall out).
        self._ended_unsaid: OrderedDict[int, None] = OrderedDict()

    def track(
        self, attempt_id: int, channel_id: str, placed_at: float, kind: str = CALL_AGENT
    ) -> None:
        """The dialer is about to originate `channel_id` for this attempt, a call of
        `kind` (one of CALL_KINDS)."""
        if kind not in CALL_KINDS:
            raise ValueError(f"unknown call kind {kind!r}")
        self._calls[channel_id] = _Call(attempt_id, channel_id, placed_at, kind=kind)
        self._by_attempt[attempt_id] = channel_id
        if kind == CALL_AGENT_FIRST:
            self._halves[f"{channel_id}-2"] = channel_id

    def resume(
        self,
        channel_id: str,
        *,
        answered_at: float | None,
        connected_at: float | None,
        agent: str | None,
        queue: str | None,
    ) -> None:
        """What a previous run of the dialer stored about an adopted call: its answer and
        agent happened before this tracker listened, and no event will tell them again."""
        call = self._calls[channel_id]
        call.answered_at, call.connected_at = answered_at, connected_at
        call.agent, call.queue = agent, queue

    def is_tracking(self, channel_id: str) -> bool:
        return channel_id in self._calls

    def live_channel_ids(self) -> set[str]:
        return set(self._calls)

    def live_count(self) -> int:
        return len(self._calls)

    def forget(self, channel_id: str) -> None:
        """The Originate was refused or never sent: there is no call to follow."""
        self._drop(channel_id)

    def _drop(self, channel_id: str) -> None:
        call = self._calls.pop(channel_id, None)
        if call is not None:
            self._by_attempt.pop(call.attempt_id, None)
            if call.far_sip is None and call.started_at is not None:
                self._ended_unsaid[call.attempt_id] = None
                while len(self._ended_unsaid) > _ENDED_KEPT:
                    self._ended_unsaid.popitem(last=False)
        self._halves.pop(f"{channel_id}-2", None)

    def _far_leg_of(self, event: AmiEvent) -> _Call | None:
        """The call whose customer leg this event's channel is: not one of the dialer's
        own channels, not a Local channel, and carrying the call's attempt id."""
        if is_local(event.get("channel")):
            return None
        attempt = event.variables().get(ATTEMPT_VARIABLE, "")
        if not attempt.isdigit():
            return None
        return self._calls.get(self._by_attempt.get(int(attempt), ""))

    def present(self, channels: list[AmiEvent]) -> set[str]:
        """The calls a CoreShowChannels answer shows alive: by their own channel, or by
        their customer's leg alone. In that case the dialer's Local channel is gone
        (optimised away while this run was not listening, e.g. before a restart), so
        that leg's hang-up will be the call's end."""
        uniqueids = {channel.get("uniqueid") for channel in channels}
        found = uniqueids & set(self._calls)
        for channel in channels:
            call = self._far_leg_of(channel)
            if call is not None and call.channel_id not in uniqueids:
                call.optimised = True
                found.add(call.channel_id)
        return found

    def has_started(self, channel_id: str) -> bool:
        call = self._calls.get(channel_id)
        return call is not None and call.started_at is not None

    def settle_missing(
        self, present: set[str], at: float, cause: str, placed_before: float
    ) -> list[CallEvent]:
        """After a reconnect: calls Asterisk no longer has ended while we were not
        listening. Settle them from what we knew; never dial them again. Calls placed
        after `placed_before` may simply not exist yet, so they are left alone."""
        ended: list[CallEvent] = []
        for channel_id in sorted(set(self._calls) - present):
            call = self._calls[channel_id]
            if call.placed_at >= placed_before:
                continue
            self._drop(channel_id)
            result = call.answered_result() if call.answered_at is not None else TechResult.FAILED
            ended.append(call.end(result, at, cause, times_known=False))
        return ended

    def refresh(self, channel: AmiEvent) -> list[CallEvent]:
        """A CoreShowChannel entry read during a resync: catch up on an answer or a
        bridge to an agent that happened while we were not listening."""
        call = self._call_for(channel)
        if call is None:
            return []
        events: list[CallEvent] = []
        if call.kind == CALL_AGENT_FIRST:
            # Up means an agent answered; in a bridge, that the customer did too.
            if channel.get("channelstate") == "6" and call.connected_at is None:
                call.connected_at = channel.at
                call.agent = call.agent or "unknown (seen in resync)"
                events.append(
                    CallConnected(call.attempt_id, call.queue or "", call.agent, "", channel.at)
                )
            if channel.get("bridgeid") and call.connected_at is not None:
                events.extend(self._answered(call, channel.at))
            return events
        if channel.get("channelstate") == "6":
            events.extend(self._answered(call, channel.at))
        if channel.get("bridgeid") and call.connected_at is None and call.answered_at is not None:
            call.connected_at = channel.at
            call.agent = channel.get("connectedlinename") or "unknown (seen in resync)"
            events.append(
                CallConnected(call.attempt_id, call.queue or "", call.agent, "", channel.at)
            )
        return events

    def feed(self, event: AmiEvent) -> list[CallEvent]:
        handler = _HANDLERS.get(event.name)
        if handler is None:
            return []
        return handler(self, event)

    def _call_for(self, event: AmiEvent, key: str = "uniqueid") -> _Call | None:
        return self._calls.get(event.get(key))

    def _queue_call_for(self, event: AmiEvent) -> _Call | None:
        """The call whose channel is the queue caller: the customer leg, or the second
        half of an agent-first call."""
        uniqueid = event.get("uniqueid")
        return self._calls.get(self._halves.get(uniqueid, uniqueid))

    def _on_originate_response(self, event: AmiEvent) -> list[CallEvent]:
        channel_id = channel_id_from_action_id(event.get("actionid"))
        call = self._calls.get(channel_id or "")
        if call is None:
            return []
        if event.get("response") == "Success":
            if call.kind == CALL_AGENT_FIRST:
                return []  # an agent answered; the customer is being dialed
            return self._answered(call, event.at)
        reason = event.get("reason")
        if call.kind == CALL_AGENT_FIRST:
            # No agent took it (queue timeout) or it could not even queue: the
            # customer was never dialed.
            self._drop(call.channel_id)
            cause = (
                f"no agent took the call, the customer was not dialed (originate reason {reason})"
            )
            end_at = call.hung_up_at if call.hung_up_at is not None else event.at
            return [call.end(TechResult.FAILED, end_at, cause)]
        if call.hung_up_at is None and call.started_at is not None:
            # The channel exists, so its Hangup follows, with the cause that tells busy
            # from a wrong number: the Reason alone does not.
            call.failed_reason = reason
            return []
        return self._end_unanswered(call, reason, event.at)

    def _end_unanswered(self, call: _Call, reason: str | None, at: float) -> list[CallEvent]:
        self._drop(call.channel_id)
        said = call.describe_causes()
        cause = f"{said}; originate reason {reason}" if said else f"originate reason {reason}"
        end_at = call.hung_up_at if call.hung_up_at is not None else at
        return [call.end(call.unanswered(reason), end_at, cause)]

    def _answered(self, call: _Call, at: float) -> list[CallEvent]:
        if call.answered_at is not None:
            return []
        call.answered_at = at
        return [CallAnswered(call.attempt_id, at)]

    def _on_newchannel(self, event: AmiEvent) -> list[CallEvent]:
        call = self._call_for(event)
        if call is not None and call.started_at is None:
            call.started_at = event.at
        return []

    def _on_newstate(self, event: AmiEvent) -> list[CallEvent]:
        call = self._call_for(event)
        if call is None or event.get("channelstate") != "6":  # 6 = Up
            return []
        if call.kind == CALL_AGENT_FIRST:
            return []  # up because an agent answered, not the customer
        return self._answered(call, event.at)

    def _on_queue_join(self, event: AmiEvent) -> list[CallEvent]:
        call = self._queue_call_for(event)
        if call is None or call.connected_at is not None:
            # Back in a queue after an agent had it: a transfer's doing, not a new wait.
            return []
        # An agent-first call queues before anyone is dialed: nobody answered yet.
        events = [] if call.kind == CALL_AGENT_FIRST else self._answered(call, event.at)
        call.queue = event.get("queue")
        call.queued_at = event.at
        events.append(CallQueued(call.attempt_id, call.queue, event.at))
        if call.kind == CALL_MESSAGE:
            # The person pressed the transfer key during the message.
            target = f"queue {call.queue}"
            events.extend(
                self._transfer(call, TransferKind.BLIND, event.at, MESSAGE_TRANSFERER, target)
            )
        return events

    def _on_queue_leave(self, event: AmiEvent) -> list[CallEvent]:
        call = self._queue_call_for(event)
        if call is not None and call.connected_at is None and call.left_queue_at is None:
            call.left_queue_at = event.at
        return []

    def _on_agent_connect(self, event: AmiEvent) -> list[CallEvent]:
        call = self._queue_call_for(event)
        if call is None or call.connected_at is not None:
            return []
        call.agent = event.get("membername") or event.get("interface")
        call.agent_interface = event.get("interface")
        call.agent_channel = event.get("destchannel") or None
        call.connected_at = event.at
        call.queue = event.get("queue") or call.queue
        return [
            CallConnected(
                call.attempt_id, call.queue or "", call.agent, call.agent_interface, event.at
            )
        ]

    def _on_mixmonitor_start(self, event: AmiEvent) -> list[CallEvent]:
        call = self._call_for(event)
        if call is None or call.recording:
            return []
        call.recording = True
        return [CallRecording(call.attempt_id, recording_file(call.channel_id), event.at)]

    def _on_bridge_enter(self, event: AmiEvent) -> list[CallEvent]:
        bridge = self._bridges.setdefault(event.get("bridgeuniqueid"), {})
        bridge[event.get("uniqueid")] = event.get("channel")
        call = self._call_for(event)
        if call is not None and call.kind == CALL_AGENT_FIRST and call.connected_at is not None:
            # The half that dialed the customer is bridged with them: they answered.
            return self._answered(call, event.at)
        return []

    def _on_bridge_leave(self, event: AmiEvent) -> list[CallEvent]:
        bridge = self._bridges.get(event.get("bridgeuniqueid"))
        if bridge is not None:
            bridge.pop(event.get("uniqueid"), None)
        return []

    def _on_bridge_destroy(self, event: AmiEvent) -> list[CallEvent]:
        self._bridges.pop(event.get("bridgeuniqueid"), None)
        return []

    def _transferred_call(self, event: AmiEvent, *prefixes: str) -> _Call | None:
        for prefix in prefixes:
            # An agent of an agent-first call is bridged with the call's second half.
            uniqueid = event.get(f"{prefix}uniqueid")
            call = self._calls.get(self._halves.get(uniqueid, uniqueid))
            if call is not None:
                return call
        return None

    def _transfer(
        self, call: _Call, kind: TransferKind, at: float, transferer: str, target: str
    ) -> list[CallEvent]:
        if (kind.value, at) in call.transfers:
            return []  # the same event twice
        call.transfers.add((kind.value, at))
        if call.connected_at is not None and call.transferred_at is None:
            call.transferred_at = at
        if call.agent_channel is not None and transferer == call.agent_channel:
            by, interface = call.agent or transferer, call.agent_interface
        else:
            by, interface = transferer or "unknown", None
        return [CallTransferred(call.attempt_id, kind, at, by, interface, target)]

    def _on_blind_transfer(self, event: AmiEvent) -> list[CallEvent]:
        if event.get("result") != "Success":
            return []
        call = self._transferred_call(event, "transferee", "transferer")
        if call is None:
            return []
        target = f"{event.get('extension')}@{event.get('context')}"
        return self._transfer(
            call, TransferKind.BLIND, event.at, event.get("transfererchannel"), target
        )

    def _on_attended_transfer(self, event: AmiEvent) -> list[CallEvent]:
        if event.get("result") != "Success":
            return []
        call = self._transferred_call(
            event, "transferee", "origtransferer", "secondtransferer", "transfertarget"
        )
        if call is None:
            return []
        return self._transfer(
            call,
            TransferKind.ATTENDED,
            event.at,
            event.get("origtransfererchannel"),
            self._attended_target(event, call),
        )

    def _attended_target(self, event: AmiEvent, call: _Call) -> str:
        if event.get("transfertargetchannel"):
            return event.get("transfertargetchannel")
        dest = event.get("desttype")
        if dest == "Bridge":
            # The bridges were merged: the target is whoever is with the customer now.
            others = {
                event.get(f"{p}uniqueid")
                for p in ("transferee", "origtransferer", "secondtransferer")
            } | {call.channel_id}
            members = self._bridges.get(event.get("destbridgeuniqueid"), {})
            names = sorted(name for uid, name in members.items() if uid not in others)
            if names:
                return ", ".join(names)
        if dest == "App":
            return f"application {event.get('destapp')}"
        if dest == "Link":
            return event.get("localonechannel") or "linked bridges"
        return dest.lower() or "unknown"

    def _on_hangup(self, event: AmiEvent) -> list[CallEvent]:
        call = self._call_for(event)
        if call is None:
            far = self._far_leg_of(event)
            if far is not None:
                return self._far_leg_hangup(far, event)
            return self._late_far_leg(event)
        call.own_cause = causes.parse_code(event.get("cause"))
        call.hung_up_at = event.at
        if not is_local(event.get("channel")):
            # A direct trunk: the dialer's channel is the customer's own leg.
            self._far_leg_said(call, event)
        if call.optimised and call.answered_at is not None:
            return []  # a Local half optimised away: the customer's leg is still up
        if call.kind == CALL_AGENT_FIRST and call.answered_at is None:
            if call.connected_at is None:
                return []  # no agent yet: OriginateResponse, which follows, ends it
            # The agent heard the customer's line busy, ringing out or failing.
            self._drop(call.channel_id)
            said = call.describe_causes() or "hangup"
            return [call.end(call.unanswered(None), event.at, said)]
        if call.answered_at is None:
            if call.failed_reason is not None:
                return self._end_unanswered(call, call.failed_reason, event.at)
            # Not answered: OriginateResponse, which follows, ends it.
            return []
        return self._end_answered(call, event.get("exten"), event.at)

    def _end_answered(self, call: _Call, exten: str, at: float) -> list[CallEvent]:
        self._drop(call.channel_id)
        result = call.answered_result()
        if call.kind == CALL_MESSAGE and exten == MACHINE_EXTEN:
            result = TechResult.MACHINE
        # The customer's own leg may have ended a moment before the dialer's channel.
        if call.far_hung_up_at is not None:
            at = min(at, call.far_hung_up_at)
        said = call.describe_causes()
        return [call.end(result, at, f"hangup, {said}" if said else "hangup")]

    def _late_far_leg(self, event: AmiEvent) -> list[CallEvent]:
        """The customer leg of an attempt already ended hangs up with its SIP response."""
        if is_local(event.get("channel")):
            return []
        attempt = event.variables().get(ATTEMPT_VARIABLE, "")
        status = causes.parse_code(event.get("techcause"))
        if not attempt.isdigit() or status is None or int(attempt) not in self._ended_unsaid:
            return []
        del self._ended_unsaid[int(attempt)]
        return [CallCauseLearned(int(attempt), status)]

    @staticmethod
    def _far_leg_said(call: _Call, event: AmiEvent) -> None:
        call.far_cause = causes.parse_code(event.get("cause"))
        call.far_sip = causes.parse_code(event.get("techcause"))
        call.far_hung_up_at = event.at

    def _far_leg_hangup(self, call: _Call, event: AmiEvent) -> list[CallEvent]:
        """The customer's own leg behind the dialer's Local channel hung up."""
        self._far_leg_said(call, event)
        if call.optimised and call.answered_at is not None:
            # Nothing of the dialer's is left in the call: this is its end.
            return self._end_answered(call, "", event.at)
        return []  # the dialer's own channel follows, and ends the call

    def _on_local_optimization(self, event: AmiEvent) -> list[CallEvent]:
        """The dialer's Local channel leaves the call to the leg it dialed (no /n). Its
        LocalOptimizationEnd is not read: Asterisk 22 reports `Success: No` for a swap
        that did happen. Either way the trunk leg's hang-up, which always comes, ends
        the call (a Local half that stayed only makes it come a moment later)."""
        call = self._calls.get(event.get("localoneuniqueid"))
        if call is not None:
            call.optimised = True
        return []


_HANDLERS = {
    "OriginateResponse": CallTracker._on_originate_response,
    "Newchannel": CallTracker._on_newchannel,
    "Newstate": CallTracker._on_newstate,
    "QueueCallerJoin": CallTracker._on_queue_join,
    "QueueCallerLeave": CallTracker._on_queue_leave,
    "AgentConnect": CallTracker._on_agent_connect,
    "Hangup": CallTracker._on_hangup,
    "LocalOptimizationBegin": CallTracker._on_local_optimization,
    "MixMonitorStart": CallTracker._on_mixmonitor_start,
    "BridgeEnter": CallTracker._on_bridge_enter,
    "BridgeLeave": CallTracker._on_bridge_leave,
    "BridgeDestroy": CallTracker._on_bridge_destroy,
    "BlindTransfer": CallTracker._on_blind_transfer,
    "AttendedTransfer": CallTracker._on_attended_transfer,
}


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


def _int(value: str, default: int = 0) -> int:
    try:
        return int(value)
    except ValueError:
        return default


class QueueTracker:
    """Members and waiting callers of every queue, as the PBX last told us."""

    def __init__(self, queue_wrapup_s: dict[str, float] | None = None) -> None:
        # Wrap-up of queues that set `wrapuptime`: member events carry only a member's
        # own (Wrapuptime, 0 when unset), and Asterisk then applies the queue's.
        self.queue_wrapup_s = dict(queue_wrapup_s or {})
        self._members: dict[tuple[str, str], AgentState] = {}
        self._waiting: dict[str, dict[str, float]] = {}
        # Every change is numbered, so a resync can tell what changed while it ran.
        self._seq = 0
        self._member_seq: dict[tuple[str, str], int] = {}
        self._caller_seq: dict[tuple[str, str], int] = {}

    def begin_resync(self) -> int:
        """Call before asking QueueStatus; pass the result to `finish_resync`."""
        return self._seq

    def finish_resync(self, token: int, status: list[AmiEvent]) -> list[PbxEvent]:
        """Replace what we knew by a QueueStatus answer, except what live events changed
        after the question was asked (they are newer than the answer may be)."""
        fresh = {k for k, seq in self._member_seq.items() if seq > token} | {
            k for k, seq in self._caller_seq.items() if seq > token
        }
        out: list[PbxEvent] = []
        seen_members: set[tuple[str, str]] = set()
        seen_callers: set[tuple[str, str]] = set()
        for event in status:
            if event.name == "QueueMember":
                key = (event.get("queue"), event.get("interface") or event.get("location"))
                seen_members.add(key)
                if key not in fresh:
                    out.extend(self._member(event))
            elif event.name == "QueueEntry":
                key = (event.get("queue"), event.get("uniqueid"))
                seen_callers.add(key)
                if key not in fresh:
                    self.feed(event)
        for key in list(self._members):
            if key not in seen_members and key not in fresh:
                del self._members[key]
                out.append(AgentLeft(*key))
        for queue, callers in self._waiting.items():
            for uniqueid in list(callers):
                if (queue, uniqueid) not in seen_callers and (queue, uniqueid) not in fresh:
                    del callers[uniqueid]
        return out

    def members(self, queue: str) -> list[AgentState]:
        return [m for (q, _), m in sorted(self._members.items()) if q == queue]

    def idle_agents(self, queue: str, now: float | None = None) -> int:
        """Members free by device state; with `now`, those in wrap-up at `now` excluded."""
        if now is None:
            return sum(1 for m in self.members(queue) if m.idle)
        return sum(1 for m in self.members(queue) if m.idle_at(now))

    def in_wrapup(self, queue: str, now: float) -> int:
        return sum(1 for m in self.members(queue) if m.in_wrapup(now))

    def logged_in(self, queue: str) -> int:
        return sum(1 for m in self.members(queue) if m.logged_in)

    def waiting(self, queue: str) -> dict[str, float]:
        """Callers waiting in the queue: Uniqueid -> time they joined."""
        return dict(self._waiting.get(queue, {}))

    # The events `feed` reads (QueueMember and QueueEntry come as QueueStatus entries).
    MEMBER_EVENTS = frozenset(
        {"QueueMember", "QueueMemberStatus", "QueueMemberAdded", "QueueMemberPause"}
    )
    CALLER_EVENTS = frozenset({"QueueCallerJoin", "QueueEntry", "QueueCallerLeave"})
    EVENTS = MEMBER_EVENTS | CALLER_EVENTS | {"QueueMemberRemoved"}

    def feed(self, event: AmiEvent) -> list[PbxEvent]:
        name = event.name
        if name in self.MEMBER_EVENTS:
            return self._member(event)
        if name == "QueueMemberRemoved":
            key = (event.get("queue"), event.get("interface") or event.get("location"))
            self._seq += 1
            self._member_seq[key] = self._seq
            if self._members.pop(key, None) is not None:
                return [AgentLeft(*key)]
            return []
        if name in self.CALLER_EVENTS:
            queue, uniqueid = event.get("queue"), event.get("uniqueid")
            self._seq += 1
            self._caller_seq[(queue, uniqueid)] = self._seq
            if name == "QueueCallerLeave":
                self._waiting.get(queue, {}).pop(uniqueid, None)
                self._caller_seq.pop((queue, uniqueid), None)
            else:
                waited = _int(event.get("wait"), 0) if name == "QueueEntry" else 0
                self._waiting.setdefault(queue, {})[uniqueid] = event.at - waited
        return []

    def _member(self, event: AmiEvent) -> list[PbxEvent]:
        queue = event.get("queue")
        interface = event.get("interface") or event.get("location")
        self._seq += 1
        self._member_seq[(queue, interface)] = self._seq
        old = self._members.get((queue, interface))
        state = AgentState(
            queue=queue,
            interface=interface,
            name=event.get("membername") or event.get("name") or interface,
            status=_int(event.get("status"), old.status if old else 0),
            paused=_flag(event.get("paused")) if event.get("paused") else bool(old and old.paused),
            in_call=_flag(event.get("incall"))
            if event.get("incall")
            else bool(old and old.in_call),
            wrapup_until=self._wrapup_until(event, old),
        )
        if state == old:
            return []
        self._members[(queue, interface)] = state
        return [state]

    def _wrapup_until(self, event: AmiEvent, old: AgentState | None) -> float:
        """LastCall + wrap-up, as app_queue decides (member's own wrap-up, else the
        queue's): no call for the member before then. Events without LastCall keep it."""
        if not event.get("lastcall"):
            return old.wrapup_until if old is not None else 0.0
        last_call = _int(event.get("lastcall"), 0)
        wrapup = _int(event.get("wrapuptime"), 0) or self.queue_wrapup_s.get(event.get("queue"), 0)
        if last_call <= 0 or wrapup <= 0:
            return 0.0
        return float(last_call + wrapup)


# Every event the trackers read: Pbx asks its AMI client for these alone, and
# asterisk/manager.conf lets them through (tests/unit/test_manager_conf.py).
EVENTS_READ = frozenset(_HANDLERS) | QueueTracker.EVENTS
