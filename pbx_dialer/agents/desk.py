"""The agent desk: what one agent is working on, and the calls placed for one agent.

An agent is known by their queue member interface (e.g. `PJSIP/7001`). In a preview
campaign the agent asks for work: the next callable record is reserved for them (their
own due callbacks first), they read it, then accept (the customer is dialed and, once
answered, connected straight to that agent), skip it, or let the campaign's auto-dial
timer accept it. A callback an agent promised in another mode is dialed for that agent
when the agent is idle. Either way the call is an ordinary attempt: the PBX's tracker
follows it by its pre-assigned channel id and the dialer stores its outcome.

Customer legs connected by Dial() instead of Queue() produce no AgentConnect event:
while such a call is answered and not yet with its agent, the desk asks the PBX for a
resync, which reports the bridge (and the agent's name, which the dialplan puts in the
customer's connected line) as the call being connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pbx_dialer.agents import rules
from pbx_dialer.ami.pbx import CallRequest, Pbx
from pbx_dialer.calls import AgentLeft, AgentState, CallAnswered, CallConnected, CallEnded, PbxEvent
from pbx_dialer.campaigns.model import Campaign, CampaignStatus, Control
from pbx_dialer.dialing import completion, compliance
from pbx_dialer.dialing.engine import DESK_MODES, Dialer, LiveCall
from pbx_dialer.dialing.gate import GateCall
from pbx_dialer.notifier import Notifier
from pbx_dialer.storage import attempts as attempt_rows
from pbx_dialer.storage import campaigns as campaign_rows
from pbx_dialer.storage import reservations
from pbx_dialer.storage.db import Database

log = logging.getLogger(__name__)

# The dialplan context of calls for one agent (asterisk/extensions_dialer.conf).
AGENT_CONTEXT = "dialer-preview"
# How long the agent's phone rings once the customer has answered.
AGENT_RING_S = 20
# How often reservations, timers and promised callbacks are looked at.
SWEEP_S = 0.5
# While a call for one agent is answered but not yet with the agent: resync this often.
FOLLOW_S = 0.5
# How often expired skips are deleted.
SKIPS_CLEANUP_S = 60.0
# At the PBX's calls-per-second cap, a desk call waits up to RATE_TRIES x RATE_WAIT_S
# for a token (other campaigns take them too) before the agent is told to retry.
RATE_TRIES = 3
RATE_WAIT_S = 0.5


class DeskRefused(Exception):
    """The agent cannot do that now; the message says why (HTTP 409)."""


@dataclass
class DeskCall:
    attempt_id: int
    agent: str
    campaign_id: int
    pbx: str
    agent_name: str


class AgentDesk:
    def __init__(
        self, db: Database, dialer: Dialer, notifier: Notifier, clock: Callable[[], float]
    ) -> None:
        self.db = db
        self.dialer = dialer
        self.notifier = notifier
        self.clock = clock
        # Calls the desk placed itself, by attempt id.
        self.calls: dict[int, DeskCall] = {}
        # Each agent's current or last call (theirs to classify), by interface.
        self.last_call: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._skips_forgotten_at = 0.0
        # Answered calls not yet with their agent (attempt -> PBX, give up at), and the
        # PBXs whose channels are being looked at for them.
        self._answered: dict[int, tuple[str, float]] = {}
        self._following: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        released = await reservations.release_every(self.db)
        if released:
            log.info("gave back %d records reserved by a previous run", released)
        self.dialer.event_listeners.append(self.on_pbx_event)
        self._loop_task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.dialer.event_listeners.remove(self.on_pbx_event)
        tasks = [*self._tasks, *([self._loop_task] if self._loop_task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what the agent sees -----------------------------------------------------

    def _pbx_of(self, campaign: Campaign) -> Pbx | None:
        return self.dialer.pbxs.get(campaign.settings.pbx or self.dialer.default_pbx)

    def member(self, campaign: Campaign, agent: str) -> AgentState | None:
        """The agent as the campaign's queue knows them, when logged in to it."""
        pbx = self._pbx_of(campaign)
        if pbx is None:
            return None
        for state in pbx.agents(campaign.settings.queue):
            if state.interface == agent and state.logged_in:
                return state
        return None

    async def _campaigns_of(self, agent: str) -> list[Campaign]:
        """Active campaigns whose queue the agent is logged in to, highest priority first."""
        active = await campaign_rows.list_with_status(self.db, CampaignStatus.ACTIVE)
        mine = [c for c in active if self.member(c, agent) is not None]
        return sorted(mine, key=lambda c: (-c.settings.queue_priority, c.id))

    async def view(self, agent: str) -> dict[str, Any]:
        """The agent's desk: their reservation (with its countdown) or their current or
        last call, the campaign's notes and classifications, the record's notes and
        fields."""
        now = self.clock()
        campaigns = await self._campaigns_of(agent)
        # Logged in to any campaign's queue, even one whose campaigns are all finished.
        every = campaigns + await campaign_rows.list_all(self.db)
        member = next((m for c in every if (m := self.member(c, agent))), None)
        desk: dict[str, Any] = {
            "agent": agent,
            "agent_url": rules.interface_to_url(agent),
            "name": member.name if member else None,
            "logged_in": member is not None,
            "paused": bool(member and member.paused),
            "state": "away" if member is None else "idle",
            "campaigns": [
                {"id": c.id, "name": c.settings.name, "dial_mode": c.settings.dial_mode}
                for c in campaigns
            ],
            "reservation": None,
            "call": None,
            "campaign": None,
            "record": None,
            "now": now,
        }
        reservation = await reservations.for_agent(self.db, agent)
        campaign_id: int | None = None
        record_id: int | None = None
        if reservation is not None:
            desk["state"] = "reserved"
            desk["reservation"] = {
                "record_id": reservation.record_id,
                "campaign_id": reservation.campaign_id,
                "reserved_at": reservation.reserved_at,
                "autodial_at": reservation.autodial_at,
                "countdown_s": rules.countdown(now, reservation.autodial_at),
            }
            campaign_id, record_id = reservation.campaign_id, reservation.record_id
        else:
            call = await self._call_view(agent)
            if call is not None:
                desk["call"] = call
                desk["state"] = call["desk_state"]
                campaign_id, record_id = call["campaign_id"], call["record_id"]
        if campaign_id is not None:
            campaign = await campaign_rows.get(self.db, campaign_id)
            if campaign is not None:
                desk["campaign"] = {
                    "id": campaign.id,
                    "name": campaign.settings.name,
                    "dial_mode": campaign.settings.dial_mode,
                    "agent_notes": campaign.settings.agent_notes,
                    "preview_autodial_s": campaign.settings.preview_autodial_s,
                    "classifications": [
                        {
                            "code": c["code"],
                            "label": c.get("label", c["code"]),
                            "outcome": c["outcome"],
                        }
                        for c in campaign.settings.classifications
                    ],
                }
        if record_id is not None:
            desk["record"] = await reservations.record_card(self.db, record_id)
        return desk

    async def _call_view(self, agent: str) -> dict[str, Any] | None:
        attempt_id = self.last_call.get(agent)
        if attempt_id is None:
            return None
        row = await self.db.fetchone(
            "SELECT id, campaign_id, record_id, phone, state, result, connected_at, "
            "classification, classified_by FROM attempts WHERE id = ?",
            (attempt_id,),
        )
        if row is None:
            return None
        live = self.dialer.live.get(attempt_id)
        if live is not None:
            phase = live.phase
            desk_state = "talking" if phase == "talking" else "dialing"
        elif row["state"] != "ended":
            phase, desk_state = row["state"], "dialing"
        else:
            phase = "ended"
            reached = row["connected_at"] is not None
            desk_state = "wrapup" if reached and not row["classified_by"] else "idle"
        return {
            "attempt_id": row["id"],
            "campaign_id": row["campaign_id"],
            "record_id": row["record_id"],
            "phone": row["phone"],
            "phase": phase,
            "result": row["result"],
            "classification": row["classification"],
            "classified": bool(row["classified_by"]),
            "desk_state": desk_state,
        }

    def _publish(self, agent: str, detail: str = "") -> None:
        self.notifier.publish("agent_desk", {"interface": agent, "detail": detail})

    # -- what the agent does ------------------------------------------------------

    async def next(self, agent: str) -> dict[str, Any]:
        """Reserve the next record for the agent (theirs stays theirs until it is
        accepted, skipped or expires)."""
        async with self._lock:
            if await reservations.for_agent(self.db, agent) is None:
                await self._reserve(agent)
        return await self.view(agent)

    async def _reserve(self, agent: str) -> None:
        current = await self._call_view(agent)
        if current is not None and current["desk_state"] in ("dialing", "talking"):
            raise DeskRefused(f"{agent} is on a call; finish it first")
        if current is not None and current["desk_state"] == "wrapup":
            raise DeskRefused(f"classify your last call (attempt {current['attempt_id']}) first")
        campaigns = [
            c for c in await self._campaigns_of(agent) if c.settings.dial_mode in DESK_MODES
        ]
        if not campaigns:
            raise DeskRefused(
                f"{agent} is not logged in to the queue of any active preview campaign"
            )
        now = self.clock()
        for campaign in campaigns:
            if await self._reserve_in(campaign, agent, now):
                self._publish(agent, "reserved")
                return
        raise DeskRefused("no record is ready to be called now; ask again in a moment")

    async def _reserve_in(self, campaign: Campaign, agent: str, now: float) -> bool:
        centre_open, zones = await self.dialer.calling_hours(campaign, now)
        if not centre_open:
            return False
        skipped = await reservations.skipped_by(self.db, agent, now)
        candidates = await reservations.own_callbacks(self.db, campaign.id, agent, now, 5)
        candidates += await attempt_rows.peek(self.db, campaign.id, 20 + len(skipped), now, zones)
        pbx = self._pbx_of(campaign)
        autodial_s = campaign.settings.preview_autodial_s
        for record_id, phone in candidates:
            if record_id in skipped or pbx is None:
                continue
            autodial = rules.autodial_at(now, autodial_s)
            if not await reservations.hold(
                self.db, record_id, campaign.id, agent, pbx.name, now, autodial
            ):
                continue
            # The same check as right before a dial: the agent never sees a record that
            # may not be called (DNC, out of attempts, outside its hours).
            verdict = await compliance.check(self.db, campaign, record_id, phone, now)
            if verdict.allowed:
                return True
            await reservations.release(
                self.db, record_id, verdict.refusal, verdict.retry_at, verdict.next_phone
            )
        return False

    async def skip(self, agent: str) -> dict[str, Any]:
        async with self._lock:
            reservation = await reservations.for_agent(self.db, agent)
            if reservation is None:
                raise DeskRefused(f"no record is reserved for {agent}")
            await reservations.skip(self.db, reservation, self.clock() + rules.SKIP_EXCLUDE_S)
            self.dialer.wake()
        self._publish(agent, "skipped")
        return await self.view(agent)

    async def accept(self, agent: str) -> dict[str, Any]:
        async with self._lock:
            reservation = await reservations.for_agent(self.db, agent)
            if reservation is None:
                raise DeskRefused(f"no record is reserved for {agent}; ask for the next one")
            await self._dial_reserved(reservation)
        return await self.view(agent)

    async def _dial_reserved(self, reservation: reservations.Reservation) -> None:
        now = self.clock()
        agent = reservation.agent
        campaign = await campaign_rows.get(self.db, reservation.campaign_id)
        if campaign is None or campaign.status is not CampaignStatus.ACTIVE:
            await reservations.release(self.db, reservation.record_id)
            self._publish(agent, "released")
            raise DeskRefused("the campaign is not active any more; the record was given back")
        member = self.member(campaign, agent)
        if member is None:
            await reservations.release(self.db, reservation.record_id)
            self._publish(agent, "released")
            raise DeskRefused(
                f"{agent} is not logged in to the campaign's queue; the record was given back"
            )
        pbx = self.dialer.pbxs.get(reservation.pbx)
        if pbx is None or not pbx.ready:
            raise DeskRefused(f"the PBX {reservation.pbx} is not connected; try again shortly")
        lines = sum(1 for c in self.dialer.live.values() if c.campaign_id == campaign.id)
        if lines >= campaign.settings.max_lines:
            raise DeskRefused(
                f"the campaign uses all its {campaign.settings.max_lines} lines; try again shortly"
            )
        card = await reservations.record_card(self.db, reservation.record_id)
        phone = str(card["phone"]) if card else ""
        verdict = await self.dialer.gate.admit_one(campaign, reservation.record_id, phone, now)
        if not verdict.allowed:
            await reservations.release(
                self.db,
                reservation.record_id,
                verdict.refusal,
                verdict.retry_at,
                verdict.next_phone,
            )
            self._publish(agent, "released")
            raise DeskRefused(f"the record may not be called now ({verdict.refusal}); given back")
        await self._rate_token(pbx)
        attempt = await reservations.place(
            self.db, reservation.record_id, campaign.id, pbx.name, phone, now, verdict.record
        )
        if attempt is None:
            pbx.call_rate.give_back(1)
            raise DeskRefused("the record was taken meanwhile")
        await self._dial(pbx, campaign, attempt, agent, member.name)

    async def _rate_token(self, pbx: Pbx) -> None:
        """The PBX's calls-per-second cap counts desk calls too: wait a moment for the
        next token rather than refuse the agent at once."""
        for _ in range(RATE_TRIES):
            now = self.clock()
            if pbx.call_rate.take(now, 1) == 1:
                return
            await asyncio.sleep(min(RATE_WAIT_S, max(0.01, pbx.call_rate.next_due(now) - now)))
        raise DeskRefused(
            f"the PBX {pbx.name} is at its cap of {pbx.settings.max_calls_per_second:g} "
            "new calls per second; try again shortly"
        )

    # -- placing a call for one agent ----------------------------------------------

    async def _dial(
        self,
        pbx: Pbx,
        campaign: Campaign,
        attempt: attempt_rows.PlacedAttempt,
        agent: str,
        agent_name: str,
    ) -> None:
        """Originate the customer into [dialer-preview], which connects them to `agent`.
        Followed like any attempt: the PBX tracks its pre-assigned channel id."""
        settings = campaign.settings
        now = self.clock()
        call = LiveCall(attempt.id, campaign.id, pbx.name, attempt.phone, "ringing", now)
        call.agent = agent_name
        self.dialer.live[attempt.id] = call
        self.calls[attempt.id] = DeskCall(attempt.id, agent, campaign.id, pbx.name, agent_name)
        self.last_call[agent] = attempt.id
        self.notifier.publish("call", call.to_json())
        variables = {
            "DIALER_ATTEMPT": str(attempt.id),
            "DIALER_CAMPAIGN": str(campaign.id),
            "DIALER_AGENT": agent,
            "DIALER_AGENT_NAME": agent_name,
            "DIALER_AGENT_TIMEOUT": str(AGENT_RING_S),
        }
        if settings.recording:
            variables["DIALER_RECORD"] = "1"
        request = CallRequest(
            attempt_id=attempt.id,
            channel_id=attempt.channel_id,
            number=attempt.phone,
            ring_timeout_s=settings.ring_timeout_s,
            variables=variables,
            caller_id=settings.caller_id,
            context=AGENT_CONTEXT,
        )
        (outcome,) = await self.dialer.gate.place(pbx, [GateCall(attempt.record_id, request)], now)
        if outcome is not None:
            # Not placed (not admitted, not connected, refused, unsafe): settled now.
            await self._unsent(pbx, attempt, agent, str(outcome))
            raise DeskRefused(f"the call could not be placed: {outcome}")
        self._publish(agent, "dialing")

    async def _unsent(
        self, pbx: Pbx, attempt: attempt_rows.PlacedAttempt, agent: str, detail: str
    ) -> None:
        """No call was placed: the record goes back to the inventory untouched."""
        pbx.calls.forget(attempt.channel_id)
        self.dialer.live.pop(attempt.id, None)
        self.calls.pop(attempt.id, None)
        if self.last_call.get(agent) == attempt.id:
            del self.last_call[agent]
        await attempt_rows.forget_unsent(self.db, attempt)
        self.notifier.publish(
            "call_cancelled", {"attempt_id": attempt.id, "campaign_id": attempt.campaign_id}
        )
        log.warning("call for %s not placed: %s", agent, detail)
        self._publish(agent, "not placed")

    # -- following the PBX ------------------------------------------------------------

    def on_pbx_event(self, pbx: Pbx, event: PbxEvent) -> None:
        """Called by the dialer for every PBX event (its listener hook)."""
        if isinstance(event, AgentState | AgentLeft):
            self._wake.set()
            return
        mine = self.calls.get(getattr(event, "attempt_id", -1))
        if isinstance(event, CallConnected) and mine is None and event.agent_interface:
            # A queue call reached an agent: it is on that agent's desk until classified.
            self.last_call[event.agent_interface] = event.attempt_id
            self._publish(event.agent_interface, "connected")
            return
        if mine is None:
            return
        if isinstance(event, CallAnswered):
            self._await_agent(pbx, event.attempt_id)
        elif isinstance(event, CallConnected | CallEnded) and event.agent != mine.agent_name:
            # The resync names the agent from the customer's connected line, which only
            # func_callerid can set: the desk knows whom it dialed.
            live = self.dialer.live.get(event.attempt_id)
            if live is not None:
                live.agent = mine.agent_name
            states = ("ended",) if isinstance(event, CallEnded) else ("connected", "ended")
            self._spawn(self._name_agent(event.attempt_id, mine.agent_name, states))
        if isinstance(event, CallEnded):
            self.calls.pop(event.attempt_id, None)
            self._wake.set()
        self._publish(mine.agent, type(event).__name__)

    async def _name_agent(self, attempt_id: int, name: str, states: tuple[str, ...]) -> None:
        """Once the dialer has stored the event, put the agent's name on the attempt."""
        for _ in range(100):
            if await reservations.name_agent(self.db, attempt_id, name, states):
                return
            await asyncio.sleep(0.05)

    def _await_agent(self, pbx: Pbx, attempt_id: int) -> None:
        """The customer answered: follow the call until it is with its agent."""
        self._answered[attempt_id] = (pbx.name, self.clock() + AGENT_RING_S + 5)
        if pbx.name not in self._following:
            self._following.add(pbx.name)
            self._spawn(self._follow(pbx))

    async def _follow(self, pbx: Pbx) -> None:
        """While calls of this PBX are answered and not yet with their agent, look at
        its channels: one resync for all of them, every FOLLOW_S."""
        try:
            while True:
                await asyncio.sleep(FOLLOW_S)
                now = self.clock()
                for attempt_id, (name, until) in list(self._answered.items()):
                    call = self.dialer.live.get(attempt_id)
                    done = call is None or call.phase == "talking" or attempt_id not in self.calls
                    if name == pbx.name and (done or now > until):
                        del self._answered[attempt_id]
                if not any(name == pbx.name for name, _ in self._answered.values()):
                    return
                await pbx.resync()
        finally:
            self._following.discard(pbx.name)

    # -- the sweep: timers, expiry, promised callbacks, completion ------------------------

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SWEEP_S)
            self._wake.clear()
            try:
                await self.sweep()
            except Exception:
                log.exception("agent desk sweep failed")

    async def sweep(self) -> None:
        async with self._lock:
            now = self.clock()
            await self._sweep_reservations(now)
            await self._agent_callbacks(now)
            await self._complete_finished(now)
            if now - self._skips_forgotten_at >= SKIPS_CLEANUP_S:
                # Not at every sweep: it is a write, and writes queue behind each other.
                self._skips_forgotten_at = now
                await reservations.forget_old_skips(self.db, now)

    async def _sweep_reservations(self, now: float) -> None:
        for reservation in await reservations.every(self.db):
            campaign = await campaign_rows.get(self.db, reservation.campaign_id)
            open_ = (
                campaign is not None
                and campaign.status is CampaignStatus.ACTIVE
                and campaign.settings.dial_mode in DESK_MODES
            )
            present = campaign is not None and self.member(campaign, reservation.agent) is not None
            view = rules.ReservationView(
                reservation.reserved_at, reservation.autodial_at, present, open_
            )
            action = rules.sweep_action(view, now)
            if action == "release":
                await reservations.release(self.db, reservation.record_id)
                self.dialer.wake()
                self._publish(reservation.agent, "expired")
            elif action == "dial":
                try:
                    await self._dial_reserved(reservation)
                except DeskRefused as exc:
                    # Tried again at the next sweep while the reservation lasts.
                    log.info("auto-dial for %s: %s", reservation.agent, exc)
                    self._publish(reservation.agent, str(exc))

    async def _agent_callbacks(self, now: float) -> None:
        """Due callbacks promised by one agent in the other modes: dialed for that agent
        when idle; after rules.AGENT_CALLBACK_WAIT_S, anyone's."""
        busy = {c.agent for c in self.calls.values()}
        for row in await reservations.due_agent_callbacks(self.db, now):
            if rules.callback_for_anyone(now, float(row["next_attempt_at"])):
                await reservations.give_to_anyone(self.db, int(row["id"]))
                self.dialer.wake()
                continue
            agent = str(row["callback_agent"])
            campaign = await campaign_rows.get(self.db, int(row["campaign_id"]))
            if (
                agent in busy
                or campaign is None
                or campaign.status is not CampaignStatus.ACTIVE
                or campaign.settings.dial_mode in DESK_MODES  # reserved when they ask
            ):
                continue
            member = self.member(campaign, agent)
            pbx = self._pbx_of(campaign)
            if member is None or not member.idle or pbx is None or not pbx.ready:
                continue
            if await reservations.for_agent(self.db, agent) is not None:
                continue
            verdict = await self.dialer.gate.admit_one(
                campaign, int(row["id"]), str(row["phone"]), now
            )
            if not verdict.allowed:
                continue  # outside its hours, or refused: the dial loop's check settles it later
            attempt = await reservations.place(
                self.db, int(row["id"]), campaign.id, pbx.name, str(row["phone"]), now,
                verdict.record,
            )  # fmt: skip
            if attempt is None:
                continue
            busy.add(agent)
            try:
                await self._dial(pbx, campaign, attempt, agent, member.name)
            except DeskRefused as exc:
                log.info("callback for %s: %s", agent, exc)

    async def _complete_finished(self, now: float) -> None:
        """A preview campaign with nothing left to call, reserve or follow is complete
        (the dial loop does this for the modes it dials)."""
        for campaign in await campaign_rows.list_with_status(self.db, CampaignStatus.ACTIVE):
            if campaign.settings.dial_mode not in DESK_MODES:
                continue
            if await completion.may_dial_again(self.db, campaign, self.dialer.live.values()):
                continue
            with contextlib.suppress(ValueError):
                await self.dialer.campaigns.control(campaign.id, Control.COMPLETE, actor="dialer")
