"""The dial loop: for every active campaign, ask its pacing policy how many calls to place,
take that many records and originate them on the campaign's PBX; then follow each call
from the PBX's domain events to its stored outcome.

It never touches AMI itself: it talks to `Pbx` objects, and it never sends an attempt
twice: the attempt row exists before the Originate, and a record in progress is never
picked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pbx_dialer.ami.actions import UnsafeAmiValue
from pbx_dialer.ami.client import AmiError, AmiNotConnected
from pbx_dialer.ami.pbx import CallRequest, OriginateRefused, Pbx
from pbx_dialer.ami.tracker import CALL_AGENT, CALL_AGENT_FIRST, CALL_MESSAGE
from pbx_dialer.calls import (
    AgentLeft,
    AgentState,
    CallAnswered,
    CallCauseLearned,
    CallConnected,
    CallEnded,
    CallQueued,
    CallRecording,
    CallTransferred,
    PbxEvent,
    TechResult,
)
from pbx_dialer.campaigns import hours, timezones
from pbx_dialer.campaigns.model import Campaign, CampaignStatus, Control, TransitionRefused
from pbx_dialer.campaigns.service import CampaignNotFound, CampaignService
from pbx_dialer.dialing import completion
from pbx_dialer.dialing.failures import Ending, FailureAlert, FailureWatch
from pbx_dialer.dialing.gate import DialGate, GateCall
from pbx_dialer.notifier import Notifier
from pbx_dialer.pacing import (
    AGENT_AWAY,
    AGENT_BUSY,
    AGENT_IDLE,
    AGENT_WRAPUP,
    CAP_ALERT,
    AbandonmentCap,
    AbandonRule,
    Counts,
    DispatchLimit,
    PacingPolicy,
    PacingSnapshot,
    cap_alert,
    learned_of,
    policy_for,
)
from pbx_dialer.pacing.cap import BUCKETS_PER_WINDOW, HOUR_BUCKET_S, HOUR_S
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import hour_codes as hour_code_rows
from pbx_dialer.storage import pacing as pacing_rows
from pbx_dialer.storage import transfers as transfer_rows
from pbx_dialer.storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class LiveCall:
    attempt_id: int
    campaign_id: int
    pbx: str
    phone: str
    phase: str  # ringing, waiting (answered, in queue), talking
    placed_at: float
    agent: str | None = None
    phase_since: float = 0.0
    answered_at: float | None = None
    media: str = "agent"  # "message": an agentless call, which waits for no agent

    def to_json(self) -> dict[str, object]:
        return {
            "attempt_id": self.attempt_id,
            "campaign_id": self.campaign_id,
            "phone": self.phone,
            "phase": self.phase,
            "agent": self.agent,
            "pbx": self.pbx,
            "placed_at": self.placed_at,
            "phase_since": self.phase_since or self.placed_at,
            "media": self.media,
        }


# Modes that may place more calls than there are free agents, and the seconds an
# answered call of theirs may wait for one before it counts as abandoned.
OVERDIAL_MODES = ("power", "predictive")
ABANDON_AFTER_S = 2
# An agent-first call waits in the queue up to the campaign's queue timeout; the
# Originate gives it a little longer, so the queue's own timeout ends it cleanly.
AGENT_FIRST_MARGIN_S = 5
# At most this many queued PBX events are stored in one pass of the event loop.
EVENT_BATCH = 500
# Agent desk hook (pbx_dialer/agents/desk.py): campaigns of these modes are dialed by
# the desk when an agent asks, never by the loop.
DESK_MODES = ("preview",)
# A predictive campaign's learned statistics are stored at most this often.
LEARNED_SAVE_S = 10.0
# How long the list of time zones among a campaign's ready records is reused.
ZONES_TTL_S = 30.0
# How often live pages get fresh record counts of campaigns whose records moved.
COUNTS_INTERVAL_S = 0.5


def call_kind(dial_mode: str) -> str:
    """How a campaign's calls run on the PBX (pbx_dialer.ami.tracker.CALL_KINDS)."""
    if dial_mode == "agent_first":
        return CALL_AGENT_FIRST
    if dial_mode == "agentless":
        return CALL_MESSAGE
    return CALL_AGENT


def media_of(dial_mode: str) -> str:
    """What the called person gets, stored with each attempt: an agent or a message."""
    return "message" if dial_mode == "agentless" else "agent"


class Dialer:
    def __init__(
        self,
        db: Database,
        pbxs: Mapping[str, Pbx],
        campaigns: CampaignService,
        notifier: Notifier,
        clock: Callable[[], float],
        tick_seconds: float = 0.5,
        policy_factory: Callable[..., PacingPolicy] = policy_for,
    ) -> None:
        self.db = db
        self.pbxs = pbxs
        self.campaigns = campaigns
        self.notifier = notifier
        self.clock = clock
        self.tick_seconds = tick_seconds
        # Benchmarks swap in a policy of their own (e.g. unlimited pacing).
        self.policy_factory = policy_factory
        self.live: dict[int, LiveCall] = {}
        self._policies: dict[int, tuple[str, PacingPolicy]] = {}
        # campaign -> when its pacing's learned statistics were last stored, and what.
        self._learned_saved: dict[int, tuple[float, dict[str, Any]]] = {}
        self._wake = asyncio.Event()
        self._events: asyncio.Queue[tuple[str, PbxEvent]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._placing: set[asyncio.Task[None]] = set()
        self.dials = 0
        self._queue_of: dict[int, tuple[str, str]] = {}
        self._hold_until: dict[str, float] = {}
        self._counts_due: set[int] = set()
        self._limits: dict[int, DispatchLimit] = {}
        self._zones: dict[int, tuple[float, list[str | None]]] = {}
        self.refusal_hold_s = 2.0
        # Agents in wrap-up, (pbx, queue, interface) -> when it ends: no AMI event says
        # so, the dial loop tells the policies and wakes for it.
        self._wrapups: dict[tuple[str, str, str], float] = {}
        # When the PBX call-rate cap lets the next call go, if it held one back this pass.
        self._rate_due: float | None = None
        self._served_at: dict[int, float] = {}
        # Agent desk hook: it follows the PBX events of the calls it places itself.
        self.event_listeners: list[Callable[[Pbx, PbxEvent], None]] = []
        # Campaigns whose calls all fail the same way are paused (pbx_dialer.dialing.failures).
        self.failures = FailureWatch()
        self.gate = DialGate(db)
        # campaign -> the attempt whose ending raised its alert, and the alert: no new
        # call for it until the pause is stored after that ending.
        self._alerts: dict[int, tuple[int, FailureAlert]] = {}

    @property
    def default_pbx(self) -> str:
        return next(iter(self.pbxs))

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        await self._adopt_unfinished()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._dial_loop()),
            loop.create_task(self._event_loop()),
            loop.create_task(self._counts_loop()),
        ]

    async def close(self) -> None:
        for task in [*self._tasks, *self._placing]:
            task.cancel()
        for task in [*self._tasks, *self._placing]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def wake(self) -> None:
        self._wake.set()

    async def _adopt_unfinished(self) -> None:
        """Attempts left in flight by a previous run: follow them, never dial them again."""
        modes: dict[int, str] = {}
        for name, pbx in self.pbxs.items():
            unfinished = await attempt_rows.unfinished(self.db, name)
            for attempt in unfinished:
                placed_at = float(attempt.placed_at)
                if attempt.campaign_id not in modes:
                    campaign = await campaign_rows.get(self.db, attempt.campaign_id)
                    modes[attempt.campaign_id] = campaign.settings.dial_mode if campaign else ""
                kind = call_kind(modes[attempt.campaign_id])
                pbx.adopt(
                    attempt.id,
                    attempt.channel_id,
                    placed_at,
                    kind,
                    answered_at=attempt.answered_at,
                    connected_at=attempt.connected_at,
                    agent=attempt.agent,
                    queue=attempt.queue,
                )
                call = LiveCall(
                    attempt.id, attempt.campaign_id, name, attempt.phone, "ringing", placed_at
                )
                call.media = media_of(modes[attempt.campaign_id])
                call.answered_at, call.agent = attempt.answered_at, attempt.agent
                if attempt.connected_at is not None:
                    call.phase, call.phase_since = "talking", attempt.connected_at
                elif attempt.answered_at is not None or attempt.state == "queued":
                    call.phase = "waiting"
                    call.phase_since = attempt.answered_at or placed_at
                self.live[attempt.id] = call
            if unfinished:
                # The AMI link starts before this: a resync may already have run
                # without these calls.
                pbx.request_resync()

    # -- events from the PBXs (called on the loop by the AMI reader) -------------

    def on_pbx_event(self, pbx: Pbx, event: PbxEvent) -> None:
        """Follow the call at once (pacing needs it now); store it in order, later."""
        call = self.live.get(getattr(event, "attempt_id", -1))
        cached = self._policies.get(call.campaign_id) if call is not None else None
        policy = cached[1] if cached is not None else None
        if isinstance(event, CallAnswered | CallQueued) and call is not None:
            if call.phase == "ringing":
                call.phase, call.phase_since, call.answered_at = "waiting", event.at, event.at
                if policy is not None:
                    policy.on_answered(event.at, call.attempt_id)
        elif isinstance(event, CallConnected) and call is not None:
            call.phase, call.phase_since = "talking", event.at
            call.agent = event.agent
            if policy is not None:
                wait = event.at - (call.answered_at if call.answered_at is not None else event.at)
                policy.on_connected(event.at, wait, call.attempt_id)
        elif isinstance(event, CallEnded):
            self.live.pop(event.attempt_id, None)
            if call is not None:
                self._watch_failures(call, event)
            if policy is not None:
                if event.result is TechResult.MACHINE:
                    policy.on_machine(event.at, event.attempt_id)
                policy.on_ended(event.at, event.result.value, event.attempt_id)
            self.wake()
        elif isinstance(event, AgentState | AgentLeft):
            self._agent_changed(pbx, event)
            self.wake()
        self._events.put_nowait((pbx.name, event))
        for listener in self.event_listeners:  # agent desk hook
            listener(pbx, event)

    def _watch_failures(self, call: LiveCall, event: CallEnded) -> None:
        """Heard at once, like pacing: the dial loop holds the campaign from this moment,
        so no next record is dialed before the pause is stored."""
        ending = Ending(
            event.at,
            event.result,
            event.cause_code,
            event.sip_status,
            answered=call.answered_at is not None,
        )
        alert = self.failures.heard(call.campaign_id, ending)
        if alert is not None:
            self._alerts[call.campaign_id] = (event.attempt_id, alert)

    async def _pause_failing(self, campaign_id: int, alert: FailureAlert) -> None:
        try:
            await self._pause_with_alert(campaign_id, alert.text)
        finally:
            self._alerts.pop(campaign_id, None)

    async def _pause_with_alert(self, campaign_id: int, text: str) -> None:
        """Pause through the one status change, the alert in the history and on the pages."""
        try:
            await self.campaigns.control(
                campaign_id, Control.PAUSE, actor="dialer", detail=text, alert=text
            )
            log.warning("campaign %s %s", campaign_id, text)
        except (TransitionRefused, CampaignNotFound) as exc:
            # Paused, stopped or gone meanwhile: it dials no more anyway.
            log.warning("campaign %s: %s; not paused: %s", campaign_id, text, exc)

    def _agent_changed(self, pbx: Pbx, event: AgentState | AgentLeft) -> None:
        now = self.clock()
        key = (pbx.name, event.queue, event.interface)
        self._wrapups.pop(key, None)
        if isinstance(event, AgentLeft) or event.paused or not event.logged_in:
            state = AGENT_AWAY
        elif event.in_wrapup(now):
            state = AGENT_WRAPUP
            self._wrapups[key] = event.wrapup_until
        else:
            state = AGENT_IDLE if event.idle else AGENT_BUSY
        self._tell_agent(pbx.name, event.queue, event.interface, state, now)

    def _tell_agent(self, pbx_name: str, queue: str, interface: str, state: str, at: float) -> None:
        for campaign_id, (campaign_pbx, campaign_queue) in self._queue_of.items():
            if campaign_queue == queue and (campaign_pbx or self.default_pbx) == pbx_name:
                cached = self._policies.get(campaign_id)
                if cached is not None:
                    cached[1].on_agent(at, interface, state)

    def end_wrapups(self, now: float) -> None:
        """Wrap-ups over by now: those agents are idle again (Asterisk sends no event)."""
        for key, until in sorted(self._wrapups.items()):
            if until <= now:
                del self._wrapups[key]
                self._tell_agent(*key, AGENT_IDLE, until)

    def next_wake(self) -> float | None:
        """The next moment the dial loop must look again without being woken: a wrap-up
        ends, or the PBX call-rate cap lets a held-back call go."""
        moments = [*self._wrapups.values()]
        if self._rate_due is not None:
            moments.append(self._rate_due)
        return min(moments) if moments else None

    async def _event_loop(self) -> None:
        """Store events in arrival order; calls that ended together in one transaction."""
        while True:
            batch = [await self._events.get()]
            while not self._events.empty() and len(batch) < EVENT_BATCH:
                batch.append(self._events.get_nowait())
            ended: list[CallEnded] = []
            for pbx_name, event in batch:
                if isinstance(event, CallEnded):
                    ended.append(event)
                    continue
                await self._store_ended(ended)
                ended = []
                try:
                    await self._store(pbx_name, event)
                except Exception:
                    log.exception("could not store %r", event)
            await self._store_ended(ended)

    async def _store_ended(self, ended: list[CallEnded]) -> None:
        if not ended:
            return
        try:
            stored = await attempt_rows.finish_many(self.db, ended)
        except Exception:
            # One bad event must not take the others down with it: store them one by one.
            log.exception("could not store %d ended calls together", len(ended))
            stored = []
            for event in ended:
                try:
                    stored.append(await attempt_rows.finish(self.db, event))
                except Exception:
                    log.exception("could not store %r", event)
                    stored.append(None)
        for event, found in zip(ended, stored, strict=True):
            if found is None:
                continue
            campaign_id, phone, record_state = found
            if record_state == "ready":
                await self.align_next_attempt(event.attempt_id)
            self.notifier.publish(
                "attempt_ended",
                {
                    "attempt_id": event.attempt_id,
                    "campaign_id": campaign_id,
                    "phone": phone,
                    "result": event.result.value,
                    "agent": event.agent,
                    "ring_s": event.ring_s,
                    "wait_s": event.wait_s,
                    "talk_s": event.talk_s,
                    "cause": event.cause,
                    "at": event.at,
                },
            )
            self._counts_due.add(campaign_id)
        for event in ended:
            for campaign_id, (attempt_id, alert) in list(self._alerts.items()):
                if attempt_id == event.attempt_id:
                    await self._pause_failing(campaign_id, alert)
        self.wake()

    async def _store(self, pbx_name: str, event: PbxEvent) -> None:
        if isinstance(event, CallCauseLearned):
            await attempt_rows.set_sip_status(self.db, event.attempt_id, event.sip_status)
            return
        if isinstance(event, CallRecording):
            await transfer_rows.set_recording(self.db, event)
            return
        if isinstance(event, CallTransferred):
            campaign_id = await transfer_rows.add(self.db, event)
            if campaign_id is not None:
                self.notifier.publish(
                    "transfer",
                    {
                        "attempt_id": event.attempt_id,
                        "campaign_id": campaign_id,
                        "kind": event.kind.value,
                        "at": event.at,
                        "by": event.by,
                        "agent_interface": event.by_interface,
                        "target": event.target,
                    },
                )
            return
        if isinstance(event, AgentState):
            self.notifier.publish(
                "agent",
                {
                    "pbx": pbx_name,
                    "queue": event.queue,
                    "interface": event.interface,
                    "name": event.name,
                    "idle": event.idle,
                    "paused": event.paused,
                    "status": event.status,
                },
            )
            return
        if isinstance(event, AgentLeft):
            self.notifier.publish(
                "agent_left", {"pbx": pbx_name, "queue": event.queue, "interface": event.interface}
            )
            return
        if isinstance(event, CallAnswered):
            await attempt_rows.mark(self.db, event.attempt_id, "answered", answered_at=event.at)
            self._publish_call(event.attempt_id)
        elif isinstance(event, CallQueued):
            await attempt_rows.mark(self.db, event.attempt_id, "queued", queue=event.queue)
            self._publish_call(event.attempt_id)
        elif isinstance(event, CallConnected):
            await attempt_rows.mark(
                self.db,
                event.attempt_id,
                "connected",
                connected_at=event.at,
                agent=event.agent,
                agent_interface=event.agent_interface,
            )
            self._publish_call(event.attempt_id)
        elif isinstance(event, CallEnded):
            await self._store_ended([event])

    def _publish_call(self, attempt_id: int) -> None:
        call = self.live.get(attempt_id)
        if call is not None:
            self.notifier.publish("call", call.to_json())

    async def _counts_loop(self) -> None:
        """Record counts for live pages, at most every COUNTS_INTERVAL_S per campaign:
        one query per campaign however many calls moved meanwhile."""
        while True:
            await asyncio.sleep(COUNTS_INTERVAL_S)
            due, self._counts_due = self._counts_due, set()
            for campaign_id in sorted(due):
                try:
                    await self.campaigns.publish(campaign_id)
                except Exception:
                    log.exception("could not publish counts of campaign %s", campaign_id)

    # -- placing calls -----------------------------------------------------------

    async def _dial_loop(self) -> None:
        while True:
            timeout = self.tick_seconds
            due = self.next_wake()
            if due is not None:
                timeout = min(timeout, max(0.01, due - self.clock()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            try:
                await self.dial_once()
            except Exception:
                log.exception("dial loop pass failed")

    async def dial_once(self) -> None:
        """One pass over the active campaigns: what the loop does at each wake-up."""
        self.end_wrapups(self.clock())
        self._rate_due = None
        active = await campaign_rows.list_with_status(self.db, CampaignStatus.ACTIVE)
        # The campaign the PBX's call-rate cap served longest ago asks first: under the
        # cap, campaigns take turns instead of the first one taking every call.
        for campaign in sorted(active, key=lambda c: self._served_at.get(c.id, 0.0)):
            await self._dial_campaign(campaign)

    @staticmethod
    def _policy_key(campaign: Campaign) -> str:
        s = campaign.settings
        return f"{s.dial_mode}/{s.max_abandon_pct}/{s.abandon_rule}/{s.amd_false_positive_pct}"

    @staticmethod
    def _rule(campaign: Campaign) -> AbandonRule:
        settings = campaign.settings
        return AbandonRule(settings.abandon_rule, settings.amd_false_positive_pct / 100.0)

    def _policy(self, campaign: Campaign, seed: Mapping[str, Any] | None = None) -> PacingPolicy:
        """One policy object per campaign, kept while its mode, cap and rule stay the
        same. `seed`: what a new one starts from (the campaign's stored life and rule
        window for its cap, a predictive policy's learned statistics)."""
        settings = campaign.settings
        key = self._policy_key(campaign)
        cached = self._policies.get(campaign.id)
        if cached is None or cached[0] != key:
            policy = self.policy_factory(
                settings.dial_mode,
                max_abandon_pct=settings.max_abandon_pct,
                rule=self._rule(campaign),
                **(seed or {}),
            )
            cached = (key, policy)
            self._policies[campaign.id] = cached
        return cached[1]

    async def _seeded_policy(self, campaign: Campaign) -> PacingPolicy:
        """The campaign's policy; a new one starts from the campaign's stored life and
        rule window, so its abandonment cap survives a restart and a change of mode or
        cap, and a predictive one from the statistics stored for the campaign (or its
        queue). On the way: the alert at the cap, and the statistics stored again."""
        cached = self._policies.get(campaign.id)
        if cached is not None and cached[0] == self._policy_key(campaign):
            await self._cap_alert(campaign, cached[1])
            await self._store_learned(campaign, cached[1])
            return cached[1]
        # A call ending during this read may be missed by both (stored after the read,
        # heard before the policy exists): a few at most, once per campaign and run.
        now = self.clock()
        rule = self._rule(campaign)
        bucket_s = rule.window_s / BUCKETS_PER_WINDOW
        answered, abandoned, machines = await attempt_rows.abandon_counts(self.db, campaign.id)
        buckets = await attempt_rows.abandon_buckets(
            self.db, campaign.id, now - rule.window_s - bucket_s, bucket_s
        )
        hour = await attempt_rows.abandon_buckets(
            self.db, campaign.id, now - HOUR_S - HOUR_BUCKET_S, HOUR_BUCKET_S
        )
        seed: dict[str, Any] = {
            "answered": answered,
            "abandoned": abandoned,
            "machines": machines,
            "window": [(start, Counts(a, ab, m)) for start, a, ab, m in buckets],
            "hour": [(start, Counts(a, ab, m)) for start, a, ab, m in hour],
            "now": now,
        }
        if campaign.settings.dial_mode == "predictive":
            pbx = campaign.settings.pbx or self.default_pbx
            learned = await pacing_rows.learned_for(
                self.db, campaign.id, pbx, campaign.settings.queue
            )
            if learned is not None:
                seed["learned"] = learned
        try:
            policy = self._policy(campaign, seed)
        except ValueError:
            log.warning(
                "campaign %s: stored pacing statistics refused; starting fresh", campaign.id
            )
            seed.pop("learned", None)
            policy = self._policy(campaign, seed)
        await self._cap_alert(campaign, policy)
        return policy

    async def _cap_alert(self, campaign: Campaign, policy: PacingPolicy) -> None:
        """At its abandonment cap the campaign says so on its pages (the campaign alert,
        published with its counts); the alert goes once it is under the cap again."""
        if not isinstance(policy, AbandonmentCap) or campaign.status is not CampaignStatus.ACTIVE:
            return
        text = cap_alert(policy)
        shown = campaign.alert is not None and campaign.alert.text.startswith(CAP_ALERT)
        if text is not None and campaign.alert is None:
            if await campaign_rows.raise_alert(
                self.db, campaign.id, campaign.status, text, self.clock()
            ):
                log.warning("campaign %s %s", campaign.id, text)
                self._counts_due.add(campaign.id)
        elif (
            text is None
            and shown
            and await campaign_rows.clear_alert(self.db, campaign.id, CAP_ALERT)
        ):
            self._counts_due.add(campaign.id)

    async def _store_learned(self, campaign: Campaign, policy: PacingPolicy) -> None:
        """A predictive policy's statistics, stored for the campaign and its queue at
        most every LEARNED_SAVE_S, and only when they changed."""
        now = self.clock()
        saved = self._learned_saved.get(campaign.id)
        if saved is not None and now - saved[0] < LEARNED_SAVE_S:
            return
        learned = learned_of(policy)
        if learned is None or (saved is not None and saved[1] == learned):
            return
        self._learned_saved[campaign.id] = (now, learned)
        pbx = campaign.settings.pbx or self.default_pbx
        try:
            await pacing_rows.save_learned(
                self.db, campaign.id, pbx, campaign.settings.queue, learned, now
            )
        except Exception:
            log.exception("could not store the pacing statistics of campaign %s", campaign.id)

    def policy_of(self, campaign_id: int) -> PacingPolicy | None:
        """The campaign's pacing policy, if it has dialed in this run (why not dialing)."""
        cached = self._policies.get(campaign_id)
        return cached[1] if cached is not None else None

    def inbound_waiting_too_long(self, campaign: Campaign, pbx: Pbx, now: float) -> bool:
        """Inbound callers come first: with a limit set, no new campaign call while one of
        them has waited longer than it (our own calls in the queue do not count)."""
        limit = campaign.settings.inbound_wait_limit_s
        if limit <= 0:
            return False
        waiting = pbx.queues.waiting(campaign.settings.queue)
        return any(
            now - joined > limit
            for uniqueid, joined in waiting.items()
            if not uniqueid.startswith("pbxd-")
        )

    def held_until(self, pbx_name: str) -> float:
        """Until when this PBX gets no new call after refusing one."""
        return self._hold_until.get(pbx_name, 0.0)

    def _limit(self, campaign: Campaign) -> DispatchLimit:
        per_minute = campaign.settings.dispatch_per_min
        limit = self._limits.get(campaign.id)
        if limit is None or limit.per_minute != per_minute:
            limit = self._limits[campaign.id] = DispatchLimit(per_minute)
        return limit

    def snapshot(self, campaign: Campaign, pbx: Pbx) -> PacingSnapshot:
        calls = [c for c in self.live.values() if c.campaign_id == campaign.id]
        agents = pbx.agents(campaign.settings.queue)
        # Calls of other campaigns sharing the queue are waiting for the same agents.
        mates = self._queue_mates(campaign)
        # Message calls are not waiting for agents (one transferred to the queue waits
        # there like an inbound caller).
        queue_calls = [
            c
            for c in self.live.values()
            if c.pbx == pbx.name and c.campaign_id in mates and c.media == "agent"
        ]
        now = self.clock()
        return PacingSnapshot(
            now=now,
            # A paused agent takes no call: pacing counts only those who can.
            agents_logged_in=sum(1 for a in agents if a.logged_in and not a.paused),
            # An agent in wrap-up gets no queue call yet: not idle for pacing.
            agents_idle=sum(1 for a in agents if a.idle_at(now)),
            agents_wrapup=sum(1 for a in agents if a.in_wrapup(now)),
            wrapup_ends=tuple(a.wrapup_until for a in agents if a.in_wrapup(now)),
            calls_ringing=sum(1 for c in queue_calls if c.phase == "ringing"),
            calls_waiting=sum(1 for c in queue_calls if c.phase == "waiting"),
            calls_live=len(calls),
            max_lines=campaign.settings.max_lines,
        )

    def _queue_mates(self, campaign: Campaign) -> set[int]:
        self._queue_of[campaign.id] = (campaign.settings.pbx, campaign.settings.queue)
        key = self._queue_of[campaign.id]
        return {cid for cid, q in self._queue_of.items() if q == key}

    async def _dial_campaign(self, campaign: Campaign) -> None:
        if campaign.settings.dial_mode in DESK_MODES:
            return  # agent desk hook: agents ask for these records
        if campaign.id in self._alerts:
            return  # its calls all fail: it is being paused
        pbx = self.pbxs.get(campaign.settings.pbx or self.default_pbx)
        if pbx is None or not pbx.ready or self._hold_until.get(pbx.name, 0.0) > self.clock():
            return
        now = self.clock()
        if not await completion.may_dial_again(self.db, campaign, self.live.values()):
            await self._complete(campaign)
            return
        policy = await self._seeded_policy(campaign)
        wanted = policy.calls_to_place(self.snapshot(campaign, pbx))
        limit = self._limit(campaign)
        wanted = limit.allowed(now, wanted)
        if wanted <= 0:
            return
        if self.inbound_waiting_too_long(campaign, pbx, now):
            return
        centre_open, zones = await self.calling_hours(campaign, now)
        if not centre_open or campaign.id in self._alerts:
            return  # (an alert may have come while the loop was reading)
        wanted = self._take_rate(pbx, campaign.id, wanted)
        if wanted <= 0:
            return
        media = media_of(campaign.settings.dial_mode)
        taken: list[attempt_rows.PlacedAttempt] = []
        try:
            taken = await attempt_rows.take_records(
                self.db, campaign.id, pbx.name, wanted, now, zones, media
            )
            if taken:
                self._counts_due.add(campaign.id)
            taken = await self._last_check(campaign, taken, now)
        finally:
            # Fewer records than tokens (or none after the last check): the rest is
            # for the next campaign.
            pbx.call_rate.give_back(wanted - len(taken))
        limit.record(now, len(taken))
        for attempt in taken:
            self.live[attempt.id] = LiveCall(
                attempt.id, campaign.id, pbx.name, attempt.phone, "ringing", now, media=media
            )
            # Published before the Originate, so no later phase can overtake it.
            self._publish_call(attempt.id)
            policy.on_dialed(now, attempt.id)
        if taken:
            # One task for the whole pick, not one per call: each call's outcome is
            # still handled on its own (_place_all).
            task = asyncio.get_running_loop().create_task(self._place_all(pbx, campaign, taken))
            self._placing.add(task)
            task.add_done_callback(self._placing.discard)

    def _take_rate(self, pbx: Pbx, campaign_id: int, wanted: int) -> int:
        """Take up to `wanted` calls from the PBX's calls-per-second bucket; what it
        holds back waits for the next pass, which comes when a token is due."""
        now = self.clock()
        granted = pbx.call_rate.take(now, wanted)
        if granted > 0:
            self._served_at[campaign_id] = now
        if granted < wanted:
            due = pbx.call_rate.next_due(now)
            self._rate_due = due if self._rate_due is None else min(self._rate_due, due)
        return granted

    async def _last_check(
        self, campaign: Campaign, taken: list[attempt_rows.PlacedAttempt], now: float
    ) -> list[attempt_rows.PlacedAttempt]:
        """The compliance check right before the dial, for the whole batch, written in one
        transaction (a write per call would queue behind the storing of ended calls)."""
        allowed: list[tuple[attempt_rows.PlacedAttempt, dict[str, Any]]] = []
        refused: list[tuple[attempt_rows.PlacedAttempt, str, float | None, str | None]] = []
        verdicts = await self.gate.admit(campaign, [(a.record_id, a.phone) for a in taken], now)
        for attempt, verdict in zip(taken, verdicts, strict=True):
            if verdict.allowed:
                allowed.append((attempt, verdict.record))
            else:
                # Something changed since the pick (a DNC entry, an hour code, the
                # allowance): no call; the record is filtered, spent, or given back.
                refused.append((attempt, verdict.refusal, verdict.retry_at, verdict.next_phone))
        if taken:
            await attempt_rows.settle_checks(self.db, allowed, refused)
        return [attempt for attempt, _ in allowed]

    async def calling_hours(
        self, campaign: Campaign, now: float
    ) -> tuple[bool, attempt_rows.ZoneFilter | None]:
        """Whether the call centre is open, and which records' local time allows a call
        (None: the campaign has no consumer hour code, every record may be called)."""
        settings = campaign.settings
        ids = {i for i in (settings.cc_hour_code_id, settings.consumer_hour_code_id) if i}
        if not ids:
            return True, None
        codes = await hour_code_rows.get_many(self.db, ids)
        moment = datetime.fromtimestamp(now, UTC)
        centre = codes.get(settings.cc_hour_code_id or 0)
        if centre is not None and not hours.is_open(centre, moment):
            return False, None
        consumer = codes.get(settings.consumer_hour_code_id or 0)
        if consumer is None:
            return True, None
        zones = await self._ready_zones(campaign.id, now)
        open_zones = frozenset(hours.open_zones(consumer, zones, moment))

        def unknown_ok(phone: str) -> bool:
            return hours.fallback_open(consumer, moment, timezones.candidate_zones(phone))

        return True, attempt_rows.ZoneFilter(open_zones, unknown_ok if None in zones else None)

    async def any_in_calling_window(self, campaign: Campaign, now: float) -> bool:
        """Whether some record of the campaign may be called now, calling hours included."""
        centre_open, zones = await self.calling_hours(campaign, now)
        return centre_open and await attempt_rows.any_callable(self.db, campaign.id, now, zones)

    async def align_next_attempt(self, attempt_id: int) -> None:
        """Move a retry or callback of this attempt's record to when its consumer hours
        are open, so every next-attempt time falls inside the record's calling window."""
        row = await self.db.fetchone(
            "SELECT r.id, r.state, r.next_attempt_at, r.timezone, r.phone, "
            "c.consumer_hour_code_id FROM attempts a JOIN records r ON r.id = a.record_id "
            "JOIN campaigns c ON c.id = r.campaign_id WHERE a.id = ?",
            (attempt_id,),
        )
        if row is None or row["state"] != "ready" or not row["consumer_hour_code_id"]:
            return
        code = (await hour_code_rows.get_many(self.db, {row["consumer_hour_code_id"]})).get(
            row["consumer_hour_code_id"]
        )
        if code is None:
            return
        due = datetime.fromtimestamp(max(row["next_attempt_at"], self.clock()), UTC)
        if row["timezone"] is not None:
            opening = hours.next_open(code, due, row["timezone"])
        else:
            zones = hours.fallback_zones(code, timezones.candidate_zones(row["phone"]))
            opening = hours.next_open_everywhere(code, zones, due)
        if opening is None:
            return
        if opening.timestamp() > row["next_attempt_at"]:
            await attempt_rows.reschedule_record(self.db, row["id"], opening.timestamp())

    async def _ready_zones(self, campaign_id: int, now: float) -> list[str | None]:
        # The zones of a campaign change only with imports: looked up twice a minute.
        cached = self._zones.get(campaign_id)
        if cached is None or cached[0] < now:
            cached = (now + ZONES_TTL_S, await attempt_rows.ready_zones(self.db, campaign_id))
            self._zones[campaign_id] = cached
        return cached[1]

    async def _place_all(
        self, pbx: Pbx, campaign: Campaign, taken: list[attempt_rows.PlacedAttempt]
    ) -> None:
        """Originate a pick's attempts together; an attempt whose call was not placed
        gives its record back (_unsent), the others are dialed."""
        settings = campaign.settings
        kind = call_kind(settings.dial_mode)
        queue_wait_s = settings.queue_timeout_s + AGENT_FIRST_MARGIN_S
        requests = [
            CallRequest(
                attempt_id=attempt.id,
                channel_id=attempt.channel_id,
                number=attempt.phone,
                ring_timeout_s=settings.ring_timeout_s,
                caller_id=settings.caller_id,
                variables=self._call_variables(pbx, campaign, attempt),
                kind=kind,
                queue_wait_s=queue_wait_s,
            )
            for attempt in taken
        ]
        outcomes = await self.gate.place(
            pbx,
            [GateCall(a.record_id, r) for a, r in zip(taken, requests, strict=True)],
            self.clock(),
        )
        unbuildable: Exception | None = None
        for attempt, outcome in zip(taken, outcomes, strict=True):
            if outcome is None:
                self.dials += 1
                continue
            # No call was placed, whatever the reason: the attempt is settled now, so
            # nothing stays "ringing" holding a line and the queue's count.
            await self._unsent(pbx, campaign, attempt, outcome)
            if isinstance(outcome, UnsafeAmiValue):
                unbuildable = outcome
        if unbuildable is not None:
            # The campaign's own settings cannot be sent: dialing again would only
            # repeat it. Paused, with the reason on its page.
            await self._pause_with_alert(
                campaign.id, f"paused: a call could not be placed: {unbuildable}"
            )

    async def _unsent(
        self, pbx: Pbx, campaign: Campaign, attempt: attempt_rows.PlacedAttempt, exc: Exception
    ) -> None:
        """No call was placed: the record goes back to the inventory untouched, and
        when the PBX refused, it gets a moment before the next try, so a refusal
        cannot spin."""
        self.live.pop(attempt.id, None)
        await attempt_rows.forget_unsent(self.db, attempt)
        self.notifier.publish(
            "call_cancelled", {"attempt_id": attempt.id, "campaign_id": campaign.id}
        )
        self._counts_due.add(campaign.id)
        log.warning("attempt %s not placed: %s", attempt.id, exc)
        if isinstance(exc, AmiNotConnected | OriginateRefused | AmiError):
            self._hold_until[pbx.name] = self.clock() + self.refusal_hold_s
            self.notifier.publish("pbx_warning", {"name": pbx.name, "detail": str(exc)})

    def _call_variables(
        self, pbx: Pbx, campaign: Campaign, attempt: attempt_rows.PlacedAttempt
    ) -> dict[str, str]:
        settings = campaign.settings
        variables = {
            "DIALER_ATTEMPT": str(attempt.id),
            "DIALER_CAMPAIGN": str(campaign.id),
            "DIALER_QUEUE": settings.queue,
            "DIALER_PRIO": str(settings.queue_priority),
            "DIALER_QUEUE_TIMEOUT": str(settings.queue_timeout_s),
        }
        if settings.dial_mode in OVERDIAL_MODES:
            # More calls than free agents: one nobody takes within 2 s is abandoned,
            # hears the safe-harbour message and is released.
            variables["DIALER_QUEUE_TIMEOUT"] = str(ABANDON_AFTER_S)
            variables["DIALER_SAFE_HARBOUR"] = pbx.settings.safe_harbour
        if settings.recording:
            # MixMonitor from answer; the file is tied to the attempt by CallRecording.
            variables["DIALER_RECORD"] = "1"
        if settings.dial_mode == "agentless":
            variables["DIALER_MESSAGE"] = settings.message
            variables["DIALER_TRANSFER_KEY"] = settings.transfer_key
            if settings.amd:
                variables["DIALER_AMD"] = "1"
        return variables

    async def _complete(self, campaign: Campaign) -> None:
        # A supervisor may have paused or stopped it meanwhile; then it stays so.
        with contextlib.suppress(ValueError):
            await self.campaigns.control(campaign.id, Control.COMPLETE, actor="dialer")
