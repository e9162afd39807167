"""The live-feed service: polls each live campaign's CRM, stores what it brings, and
pauses or unpauses the campaign by itself (see policy.py for when).

One task per feed, so a slow CRM never delays another campaign's. Each task polls
when the poll (or the backoff after a failure) is due, and checks at least every
`check_s` whether its campaign should pause or unpause, so an agent logging in is
noticed within a second. The CRM contract is in parse.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from pbx_dialer.ami.pbx import Pbx
from pbx_dialer.campaigns.model import Campaign, CampaignStatus, Control, TransitionRefused
from pbx_dialer.campaigns.service import CampaignNotFound, CampaignService
from pbx_dialer.crm.parse import MAX_PAGE_BYTES, PageInvalid, parse_page
from pbx_dialer.crm.policy import REASON_WORDS, Decision, Move, Situation, backoff_s, decide
from pbx_dialer.crm.settings import FeedSettings
from pbx_dialer.notifier import Notifier
from pbx_dialer.storage import live_feeds as feed_rows
from pbx_dialer.storage import records as record_rows
from pbx_dialer.storage.db import Database

log = logging.getLogger(__name__)

ACTOR = "live-feed"
# Pages fetched back to back in one poll while the CRM says has_more.
MAX_PAGES_PER_POLL = 50


class FeedNotFound(LookupError):
    pass


class FetchFailed(Exception):
    pass


# Hook for calling windows: whether any ready record of the campaign is inside its
# calling window now (None: unknown, never pauses). To be answered from
# pbx_dialer/campaigns/hours.py once hour codes exist.
WindowCheck = Callable[[Campaign, float], Awaitable[bool | None]]


async def _no_window_check(campaign: Campaign, now: float) -> bool | None:
    return None


class FeedService:
    def __init__(
        self,
        db: Database,
        campaigns: CampaignService,
        pbxs: Mapping[str, Pbx],
        notifier: Notifier,
        clock: Callable[[], float],
        *,
        on_records: Callable[[], None] = lambda: None,
        check_s: float = 1.0,
        window_check: WindowCheck = _no_window_check,
    ) -> None:
        self.db = db
        self.campaigns = campaigns
        self.pbxs = pbxs
        self.notifier = notifier
        self.clock = clock
        # Wakes the dial loop when new records land.
        self.on_records = on_records
        self.check_s = check_s
        self.window_check = window_check
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._wakes: dict[int, asyncio.Event] = {}
        self._session: aiohttp.ClientSession | None = None

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(headers={"Accept": "application/json"})
        for feed in await feed_rows.list_all(self.db):
            self._run(feed.campaign_id)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()

    def _run(self, campaign_id: int) -> None:
        if campaign_id in self._tasks and not self._tasks[campaign_id].done():
            self.wake(campaign_id)
            return
        self._wakes[campaign_id] = asyncio.Event()
        self._tasks[campaign_id] = asyncio.get_running_loop().create_task(
            self._feed_loop(campaign_id)
        )

    def wake(self, campaign_id: int) -> None:
        event = self._wakes.get(campaign_id)
        if event is not None:
            event.set()

    # -- API -----------------------------------------------------------------------

    async def put(self, campaign_id: int, settings: FeedSettings) -> tuple[dict[str, Any], bool]:
        await self.campaigns.get(campaign_id)
        _, created = await feed_rows.put(
            self.db,
            campaign_id,
            url=settings.url,
            poll_s=settings.poll_s,
            timeout_s=settings.timeout_s,
            cursor=settings.cursor,
            now=self.clock(),
        )
        self._run(campaign_id)
        return await self.status(campaign_id), created

    async def status(self, campaign_id: int) -> dict[str, Any]:
        campaign = await self.campaigns.get(campaign_id)
        feed = await feed_rows.get(self.db, campaign_id)
        if feed is None:
            raise FeedNotFound(f"campaign {campaign_id} has no live feed")
        data = feed.to_json()
        data["campaign_status"] = campaign.status.value
        data["auto_paused_reason"] = _words(feed.auto_paused)
        data["records"] = await record_rows.counts(self.db, campaign_id)
        return data

    async def delete(self, campaign_id: int) -> None:
        """The campaign keeps its records and its status; it is just fed no more."""
        await self.campaigns.get(campaign_id)
        if not await feed_rows.delete(self.db, campaign_id):
            raise FeedNotFound(f"campaign {campaign_id} has no live feed")
        task = self._tasks.pop(campaign_id, None)
        self._wakes.pop(campaign_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def holds_open(self, campaign_id: int) -> bool:
        """Asked by the dialer before it completes a campaign with nothing left to
        dial: a live campaign is never complete (more records may come); its feed
        pauses it instead."""
        if not await feed_rows.is_live(self.db, campaign_id):
            return False
        self.wake(campaign_id)
        return True

    # -- the loop of one feed --------------------------------------------------------

    async def _feed_loop(self, campaign_id: int) -> None:
        wake = self._wakes[campaign_id]
        while True:
            wake.clear()
            try:
                delay = await self._pass(campaign_id)
            except (CampaignNotFound, FeedNotFound):
                return
            except Exception:
                log.exception("live feed of campaign %s: pass failed", campaign_id)
                delay = self.check_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), max(delay, 0.01))

    async def _pass(self, campaign_id: int) -> float:
        """Poll if due, then steer the campaign; returns how long to wait."""
        feed = await self._feed(campaign_id)
        campaign = await self.campaigns.get(campaign_id)
        if campaign.status is CampaignStatus.STOPPED:
            return self.check_s * 10
        if feed.next_poll_at is None or self.clock() >= feed.next_poll_at:
            await self._poll(feed, campaign)
            feed = await self._feed(campaign_id)
            campaign = await self.campaigns.get(campaign_id)
        # A Completed one is polled still (records it brings reopen it) but not steered.
        if campaign.status is not CampaignStatus.COMPLETED:
            await self._steer(campaign_id)
        due = feed.next_poll_at if feed.next_poll_at is not None else self.clock()
        return min(self.check_s, due - self.clock())

    async def _feed(self, campaign_id: int) -> feed_rows.LiveFeed:
        feed = await feed_rows.get(self.db, campaign_id)
        if feed is None:
            raise FeedNotFound(f"campaign {campaign_id} has no live feed")
        return feed

    async def _poll(self, feed: feed_rows.LiveFeed, campaign: Campaign) -> None:
        for _ in range(MAX_PAGES_PER_POLL):
            try:
                body = await self._fetch(feed)
                page = parse_page(body, campaign.settings.default_region)
            except (FetchFailed, PageInvalid) as exc:
                error = str(exc) if isinstance(exc, FetchFailed) else f"garbage page: {exc}"
                failures = await feed_rows.record_failure(self.db, feed, error, self.clock())
                retry_in = backoff_s(feed.poll_s, failures)
                await feed_rows.set_next_poll(self.db, feed.campaign_id, self.clock() + retry_in)
                log.warning(
                    "live feed of campaign %s: %s (retry in %.1f s)",
                    feed.campaign_id,
                    error,
                    retry_in,
                )
                await self._publish(feed.campaign_id)
                return
            taken = await feed_rows.take_page(
                self.db, feed, page.records, page.skipped, page.next_cursor, self.clock()
            )
            if taken.added:
                with contextlib.suppress(TransitionRefused):  # stopped meanwhile
                    await self.campaigns.reopen_for(
                        feed.campaign_id, ACTOR, f"{taken.added} records from the CRM"
                    )
                self.on_records()
            if taken.added or page.skipped or feed.state != "ok":
                await self._publish(feed.campaign_id)
            if not (taken.stored and page.has_more):
                break
            feed = await self._feed(feed.campaign_id)
        await feed_rows.set_next_poll(self.db, feed.campaign_id, self.clock() + feed.poll_s)

    async def _fetch(self, feed: feed_rows.LiveFeed) -> bytes:
        assert self._session is not None
        url = URL(feed.url).update_query(cursor=feed.cursor)
        timeout = aiohttp.ClientTimeout(total=feed.timeout_s)
        try:
            async with self._session.get(url, timeout=timeout) as response:
                body = await response.content.read(MAX_PAGE_BYTES + 1)
                if response.status != 200:
                    raise FetchFailed(f"CRM answered HTTP {response.status}")
                return body
        except TimeoutError:
            raise FetchFailed(f"CRM did not answer within {feed.timeout_s:g} s") from None
        except aiohttp.ClientError as exc:
            raise FetchFailed(f"cannot reach the CRM: {exc or type(exc).__name__}") from None

    # -- pausing and unpausing by itself -------------------------------------------

    async def _steer(self, campaign_id: int) -> None:
        feed = await self._feed(campaign_id)
        campaign = await self.campaigns.get(campaign_id)
        now = self.clock()
        pbx = self.pbxs.get(campaign.settings.pbx or next(iter(self.pbxs), ""))
        agents = (
            pbx.queues.logged_in(campaign.settings.queue)
            if pbx is not None and pbx.ready and campaign.settings.queue
            else None
        )
        situation = Situation(
            status=campaign.status.value,
            auto_paused=feed.auto_paused,
            last_action_by_feed=await feed_rows.last_action(self.db, campaign_id)
            == (Control.PAUSE.value, ACTOR),
            agents_logged_in=agents,
            has_ready=await feed_rows.dialable_now(self.db, campaign_id, now),
            any_in_window=await self.window_check(campaign, now),
        )
        await self._apply(campaign_id, decide(situation))

    async def _apply(self, campaign_id: int, decision: Decision) -> None:
        move, reason = decision.move, decision.reason
        if move is Move.NOTHING:
            return
        if move is Move.PAUSE and reason is not None:
            # Noted first: if the pause then fails, the campaign is Active and the
            # note is forgotten on the next pass.
            await feed_rows.set_auto_paused(self.db, campaign_id, reason.value)
            try:
                await self.campaigns.control(
                    campaign_id, Control.PAUSE, actor=ACTOR, detail=REASON_WORDS[reason]
                )
            except TransitionRefused:
                await feed_rows.set_auto_paused(self.db, campaign_id, "")
        elif move is Move.PLAY:
            feed = await self._feed(campaign_id)
            with contextlib.suppress(TransitionRefused):
                await self.campaigns.control(
                    campaign_id,
                    Control.PLAY,
                    actor=ACTOR,
                    detail=f"resumed (had paused: {_words(feed.auto_paused)})",
                )
            await feed_rows.set_auto_paused(self.db, campaign_id, "")
        elif move is Move.RECORD and reason is not None:
            await feed_rows.set_auto_paused(self.db, campaign_id, reason.value)
        elif move is Move.FORGET:
            await feed_rows.set_auto_paused(self.db, campaign_id, "")
        await self._publish(campaign_id)

    async def _publish(self, campaign_id: int) -> None:
        with contextlib.suppress(CampaignNotFound, FeedNotFound):
            self.notifier.publish("live_feed", {"feed": await self.status(campaign_id)})


def _words(reason: str) -> str:
    return next((w for r, w in REASON_WORDS.items() if r.value == reason), "")
