"""One Asterisk server as the dialer sees it: an AMI connection plus the trackers fed by it.

The dialer asks it to place attempts and to count idle agents; it answers with domain
events (`pbx_dialer.calls`). After every (re)connect it resyncs from CoreShowChannels
and QueueStatus, and settles the attempts whose end it missed, never dialing them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pbx_dialer.ami import actions
from pbx_dialer.ami.client import (
    AmiClient,
    AmiConnectionLost,
    AmiError,
    AmiNotConnected,
    AmiTimeout,
    ConnectionState,
)
from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.ami.tracker import (
    CALL_AGENT,
    CALL_AGENT_FIRST,
    CALL_MESSAGE,
    EVENTS_READ,
    CallTracker,
    QueueTracker,
)
from pbx_dialer.calls import AgentState, PbxEvent
from pbx_dialer.config import PbxSettings
from pbx_dialer.pacing.rate import CallRate

log = logging.getLogger(__name__)


class OriginateRefused(AmiError):
    """Asterisk answered the Originate with an error: no call was placed."""


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One attempt to originate (see `Pbx.place_calls`)."""

    attempt_id: int
    channel_id: str
    number: str
    ring_timeout_s: float
    variables: dict[str, str]
    caller_id: str = ""
    kind: str = CALL_AGENT
    queue_wait_s: float = 0.0
    # The context the answered customer runs, when not the PBX's connect context (the
    # agent desk's calls, which ring one agent's phone rather than the queue).
    context: str = ""


PbxEventHandler = Callable[["Pbx", PbxEvent], None]
# Seconds a placed call may go without any sign of life before a resync checks on it.
_STALE_MARGIN = 30.0
# extensions_dialer.conf: an agent-first call is a Local channel whose second half waits
# in the queue; its first half dials the customer once an agent answered. A message
# call is the customer leg, answered into the message context.
AGENT_FIRST_CHANNEL = "Local/s@dialer-agent-first/n"
AGENT_FIRST_CONTEXT = "dialer-agent-first-dial"
MESSAGE_CONTEXT = "dialer-message"


class Pbx:
    def __init__(
        self,
        settings: PbxSettings,
        *,
        on_event: PbxEventHandler,
        on_state: Callable[[Pbx, ConnectionState, str], None] | None = None,
        on_raw_event: Callable[[AmiEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.calls = CallTracker()
        self.queues = QueueTracker(settings.queue_wrapup_s)
        # Every campaign and agent desk on this PBX takes its new calls from this bucket.
        self.call_rate = CallRate(settings.max_calls_per_second)
        self._on_event = on_event
        self._on_state = on_state
        self._on_raw_event = on_raw_event
        self._clock = clock
        self._deadlines: dict[str, float] = {}
        self._resync_task: asyncio.Task[None] | None = None
        # A resync was asked for while one ran: that one may have listed the channels
        # before what it must now see (calls adopted meanwhile), so another follows.
        self._resync_again = False
        self._sweeper: asyncio.Task[None] | None = None
        self.resyncs = 0
        self.client = AmiClient(
            settings,
            on_event=self._feed,
            on_state=self._state_changed,
            clock=clock,
            # Others are dropped unparsed (when manager.conf did not filter them already).
            events=None if on_raw_event is not None else EVENTS_READ,
        )

    async def start(self) -> None:
        await self.client.start()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def close(self) -> None:
        for task in (self._sweeper, self._resync_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.client.close()

    @property
    def ready(self) -> bool:
        return self.client.ready

    def describe(self) -> str:
        return self.client.describe()

    def live_calls(self) -> int:
        return self.calls.live_count()

    def agents(self, queue: str) -> list[AgentState]:
        return self.queues.members(queue)

    def idle_agents(self, queue: str, now: float | None = None) -> int:
        return self.queues.idle_agents(queue, now)

    # -- placing calls ---------------------------------------------------------

    def channel_for(self, number: str) -> str:
        return self.settings.dial_template.replace("{number}", number)

    def adopt(
        self,
        attempt_id: int,
        channel_id: str,
        placed_at: float,
        kind: str = CALL_AGENT,
        *,
        answered_at: float | None = None,
        connected_at: float | None = None,
        agent: str | None = None,
        queue: str | None = None,
    ) -> None:
        """Follow an attempt placed earlier (by a previous run of the dialer), from what
        that run stored: its answer, agent and queue are not told again by Asterisk."""
        self.calls.track(attempt_id, channel_id, placed_at, kind)
        self.calls.resume(
            channel_id, answered_at=answered_at, connected_at=connected_at, agent=agent, queue=queue
        )
        self._deadlines[channel_id] = placed_at

    async def place_call(
        self,
        *,
        attempt_id: int,
        channel_id: str,
        number: str,
        ring_timeout_s: float,
        variables: dict[str, str],
        caller_id: str = "",
        kind: str = CALL_AGENT,
        queue_wait_s: float = 0.0,
    ) -> None:
        """Originate one attempt (see `place_calls`). Raises AmiNotConnected or
        OriginateRefused when no call was placed (the record may be tried again)."""
        request = CallRequest(
            attempt_id=attempt_id,
            channel_id=channel_id,
            number=number,
            ring_timeout_s=ring_timeout_s,
            variables=variables,
            caller_id=caller_id,
            kind=kind,
            queue_wait_s=queue_wait_s,
        )
        (outcome,) = await self.place_calls([request])
        if outcome is not None:
            raise outcome

    async def place_calls(self, requests: Sequence[CallRequest]) -> list[Exception | None]:
        """Originate several attempts in one go, each a call of its `kind`
        (pbx_dialer.ami.tracker.CALL_KINDS; an agent-first call may wait `queue_wait_s`
        for an agent before the customer is dialed). Per request, in order: None when the
        call was placed (or sent with its reply lost: a resync settles it), else
        AmiNotConnected or OriginateRefused: no call was placed, the record may be tried
        again (or UnsafeAmiValue: its Originate could not be built, nothing sent). Every
        other outcome arrives as events, CallEnded last."""
        outcomes: list[Exception | None] = [None] * len(requests)
        sent: list[tuple[int, CallRequest, actions.Action, float]] = []
        for index, request in enumerate(requests):
            try:
                sent.append((index, request, *self._originate(request)))
            except actions.UnsafeAmiValue as exc:
                outcomes[index] = exc  # this call only: the others still go
        if not self.client.ready:
            error = AmiNotConnected(self.describe())
            for index, *_ in sent:
                outcomes[index] = error
            return outcomes
        placed_at = self._clock()
        for _index, request, _action, timeout_s in sent:
            self.calls.track(request.attempt_id, request.channel_id, placed_at, request.kind)
            self._deadlines[request.channel_id] = placed_at + timeout_s + _STALE_MARGIN
        try:
            replies = await self.client.send_many([action for _, _, action, _ in sent])
        except AmiNotConnected as exc:
            replies = [exc for _ in sent]
        for (index, request, _action, _timeout), reply in zip(sent, replies, strict=True):
            channel_id = request.channel_id
            if isinstance(reply, AmiConnectionLost | AmiTimeout):
                # Asterisk may have got it: the resync after reconnect settles it.
                log.warning(
                    "originate %s: %s; its outcome will come from a resync", channel_id, reply
                )
            elif isinstance(reply, AmiError):
                self.calls.forget(channel_id)
                outcomes[index] = reply
            elif not reply.success:
                # Asterisk refused before dialing (shutting down, rights, a bad channel
                # template): nobody was called, so the record is not spent.
                self.calls.forget(channel_id)
                outcomes[index] = OriginateRefused(
                    f"{self.name}: originate refused: {reply.message or 'error'}"
                )
        return outcomes

    def _originate(self, request: CallRequest) -> tuple[actions.Action, float]:
        """The Originate of one request, and its timeout in seconds."""
        channel = self.channel_for(request.number)
        context, exten = self.settings.connect_context, self.settings.connect_exten
        timeout_s = request.ring_timeout_s
        variables = request.variables
        ring_timeout = str(int(request.ring_timeout_s))
        if self.settings.trunk:
            # For [dialer-outbound]. Inherited ("_"): an agent-first call dials the
            # customer with Dial(), whose new channel gets only inherited variables.
            variables = {
                **variables,
                "_DIALER_TRUNK": self.settings.trunk,
                "_DIALER_RING_TIMEOUT": ring_timeout,
            }
        if request.kind == CALL_AGENT_FIRST:
            variables = {**variables, "DIALER_CUSTOMER": channel}
            if not self.settings.trunk:
                variables["DIALER_RING_TIMEOUT"] = ring_timeout
            channel, context, exten = AGENT_FIRST_CHANNEL, AGENT_FIRST_CONTEXT, "s"
            # The Originate is answered when an agent takes the call.
            timeout_s = request.queue_wait_s
        elif request.kind == CALL_MESSAGE:
            context, exten = MESSAGE_CONTEXT, "s"
        elif request.context:
            context, exten = request.context, "s"
        action = actions.originate(
            channel=channel,
            context=context,
            exten=exten,
            channel_id=request.channel_id,
            timeout_s=timeout_s,
            caller_id=request.caller_id,
            variables=variables,
        )
        return action, timeout_s

    # -- events ----------------------------------------------------------------

    def _emit_all(self, events: Sequence[PbxEvent]) -> None:
        for event in events:
            self._on_event(self, event)

    def _feed(self, event: AmiEvent) -> None:
        if self._on_raw_event is not None:
            self._on_raw_event(event)
        self._emit_all(self.calls.feed(event))
        self._emit_all(self.queues.feed(event))

    def _state_changed(self, state: ConnectionState, detail: str) -> None:
        if state is ConnectionState.READY:
            self._start_resync()
        if self._on_state is not None:
            self._on_state(self, state, detail)

    def _start_resync(self) -> None:
        if self._resync_task is None or self._resync_task.done():
            self._resync_task = asyncio.get_running_loop().create_task(self._resyncs())

    def request_resync(self) -> None:
        """A resync that lists Asterisk's channels after this moment: after calls were
        adopted, one already running may have looked before they were known (then a
        call alive only by its trunk leg would be taken for ended)."""
        self._resync_again = True
        if self.client.ready:
            self._start_resync()

    async def _resyncs(self) -> None:
        while True:
            self._resync_again = False
            await self.resync()
            if not self._resync_again:
                return

    async def resync(self) -> None:
        """Learn what Asterisk has now: live channels, queue members, waiting callers."""
        started = self._clock()
        try:
            channels = await self.client.send_list(actions.core_show_channels())
            present = self.calls.present(channels)
            for channel in channels:
                self._emit_all(self.calls.refresh(channel))
            missing = self.calls.settle_missing(
                present,
                at=self._clock(),
                cause="ended while the dialer was not listening (resync)",
                placed_before=started,
            )
            self._emit_all(missing)
            token = self.queues.begin_resync()
            statuses = await self.client.send_list(actions.queue_status())
        except AmiError as exc:
            log.warning("%s: resync failed: %s", self.name, exc)
            return
        self._emit_all(self.queues.finish_resync(token, statuses))
        self.resyncs += 1
        self._deadlines = {
            cid: when for cid, when in self._deadlines.items() if self.calls.is_tracking(cid)
        }

    async def _sweep(self) -> None:
        """Check on calls that went quiet for too long (a lost OriginateResponse)."""
        while True:
            await asyncio.sleep(5.0)
            now = self._clock()
            if self.client.ready and any(
                when < now and self.calls.is_tracking(cid) and not self.calls.has_started(cid)
                for cid, when in self._deadlines.items()
            ):
                self._start_resync()
