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
        """Originate one attempt, a call of `kind` (pbx_dialer.ami.tracker.CALL_KINDS;
        an agent-first call may wait `queue_wait_s` for an agent before the customer is
        dialed). Raises AmiNotConnected or OriginateRefused when no call was placed (the
        record may be tried again); every other outcome arrives as events, CallEnded last."""
        channel = self.channel_for(number)
        context, exten = self.settings.connect_context, self.settings.connect_exten
        timeout_s = ring_timeout_s
        if kind == CALL_AGENT_FIRST:
            variables = {
                **variables,
                "DIALER_CUSTOMER": channel,
                "DIALER_RING_TIMEOUT": str(int(ring_timeout_s)),
            }
            channel, context, exten = AGENT_FIRST_CHANNEL, AGENT_FIRST_CONTEXT, "s"
            # The Originate is answered when an agent takes the call.
            timeout_s = queue_wait_s
        elif kind == CALL_MESSAGE:
            context, exten = MESSAGE_CONTEXT, "s"
        action = actions.originate(
            channel=channel,
            context=context,
            exten=exten,
            channel_id=channel_id,
            timeout_s=timeout_s,
            caller_id=caller_id,
            variables=variables,
        )
        if not self.client.ready:
            raise AmiNotConnected(self.describe())
        placed_at = self._clock()
        self.calls.track(attempt_id, channel_id, placed_at, kind)
        self._deadlines[channel_id] = placed_at + timeout_s + _STALE_MARGIN
        try:
            response = await self.client.send(action)
        except (AmiConnectionLost, AmiTimeout) as exc:
            # Asterisk may have got it: the resync after reconnect settles it.
            log.warning("originate %s: %s; its outcome will come from a resync", channel_id, exc)
            return
        except AmiNotConnected:
            self.calls.forget(channel_id)
            raise
        if not response.success:
            # Asterisk refused before dialing (shutting down, rights, a bad channel
            # template): nobody was called, so the record is not spent.
            self.calls.forget(channel_id)
            raise OriginateRefused(f"{self.name}: originate refused: {response.message or 'error'}")

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
            self._resync_task = asyncio.get_running_loop().create_task(self.resync())

    async def resync(self) -> None:
        """Learn what Asterisk has now: live channels, queue members, waiting callers."""
        started = self._clock()
        try:
            channels = await self.client.send_list(actions.core_show_channels())
            present = {c.get("uniqueid") for c in channels}
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
