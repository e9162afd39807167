"""Live campaigns against a real CRM server on loopback and the real dialer (a real
Asterisk): records page by page with cursors, never twice (also across a restart),
a CRM failing and coming back, auto-pause/unpause that never undoes a supervisor."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pbx_dialer.config import Settings
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.testing.sim import Simulator
from tests.conftest import TEST_ADMIN, app_client, eventually, start_client

pytestmark = pytest.mark.pbx

Client = TestClient[web.Request, web.Application]


class Crm:
    """A CRM endpoint: records in arrival order, the cursor is how many were served."""

    def __init__(self, page_size: int = 2) -> None:
        self.records: list[dict[str, Any]] = []
        self.page_size = page_size
        self.mode = "ok"  # ok | 500 | garbage | shape | slow
        self.requests: list[tuple[float, str]] = []  # (when, cursor asked)
        self.server: TestServer | None = None

    def add(self, count: int, *, external: bool = True, **extra: Any) -> None:
        for _ in range(count):
            n = len(self.records) + 1
            record: dict[str, Any] = {"phone": f"+1212555{n:04d}", "name": f"Customer {n}"}
            if external:
                record["external_id"] = f"crm-{n}"
            record.update(extra)
            self.records.append(record)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        cursor = request.query.get("cursor", "")
        self.requests.append((time.monotonic(), cursor))
        if self.mode == "500":
            return web.Response(status=500, text="internal error")
        if self.mode == "garbage":
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        if self.mode == "shape":
            return web.json_response({"records": "none today"})
        if self.mode == "slow":
            await asyncio.sleep(3)
        start = int(cursor or 0)
        page = self.records[start : start + self.page_size]
        end = start + len(page)
        return web.json_response(
            {"records": page, "next_cursor": str(end), "has_more": end < len(self.records)}
        )

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/leads"))


@pytest_asyncio.fixture
async def crm() -> AsyncIterator[Crm]:
    fake = Crm()
    app = web.Application()
    app.router.add_get("/leads", fake.handle)
    fake.server = TestServer(app, host="127.0.0.1")
    await fake.server.start_server()
    try:
        yield fake
    finally:
        await fake.server.close()


async def _campaign(client: Client, name: str = "Live") -> int:
    response = await client.post(
        "/api/campaigns",
        json={"name": name, "queue": "sales", "max_lines": 2, "calling_rules": "none"},
    )
    assert response.status == 201, await response.text()
    campaign_id: int = (await response.json())["id"]
    return campaign_id


async def _feed(client: Client, campaign_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/campaigns/{campaign_id}/feed")
    assert response.status == 200
    data: dict[str, Any] = await response.json()
    return data


async def _records(client: Client, campaign_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/campaigns/{campaign_id}/records")
    records: list[dict[str, Any]] = (await response.json())["records"]
    return records


async def _status(client: Client, campaign_id: int) -> str:
    status: str = (await (await client.get(f"/api/campaigns/{campaign_id}")).json())["status"]
    return status


async def _history(client: Client, campaign_id: int) -> list[tuple[str, str]]:
    app = client.app
    assert app is not None
    db = app[keys.db_key]
    rows = await db.fetchall(
        "SELECT action, actor FROM campaign_actions WHERE campaign_id = ? ORDER BY id",
        (campaign_id,),
    )
    return [(r["action"], r["actor"]) for r in rows]


async def test_records_by_page_never_twice_failures_backoff_and_restart(
    settings: Settings, crm: Crm, tmp_path: Path
) -> None:
    crm.add(3)
    crm.records.append({"phone": "not a number", "external_id": "bad-1"})
    crm.records.append({"phone": "+12125550003", "external_id": "crm-3"})  # seen already
    crm.add(1, external=False)  # no external id: only the cursor keeps it single
    client = await start_client(app_client(create_app(settings)))
    try:
        campaign_id = await _campaign(client)
        put = await client.put(
            f"/api/campaigns/{campaign_id}/feed",
            json={"url": crm.url, "poll_s": 0.2, "timeout_s": 0.5},
        )
        assert put.status == 201, await put.text()
        created = await put.json()
        assert created["unbounded"] is True and created["contacts"] is None

        async def all_six_read() -> bool:
            return bool((await _feed(client, campaign_id))["cursor"] == "6")

        await eventually(all_six_read, timeout=10)
        feed = await _feed(client, campaign_id)
        assert (feed["state"], feed["taken"], feed["skipped"], feed["duplicates"]) == (
            "ok",
            4,
            1,
            1,
        )
        assert "not a number" in feed["last_skips"][0]["reason"]
        # Pages followed one another through their cursors, the first one empty.
        assert [c for _, c in crm.requests[:3]] == ["", "2", "4"]
        first = await _records(client, campaign_id)
        assert [r["phone"] for r in first] == [
            "+12125550001",
            "+12125550002",
            "+12125550003",
            "+12125550006",
        ]

        # Down: HTTP 500, then garbage, then a wrong shape, then too slow. Each is
        # reported; retries space out; nothing stored changes.
        for mode, words in (
            ("500", "HTTP 500"),
            ("garbage", "garbage page: not JSON"),
            ("shape", "'records' must be an array"),
            ("slow", "did not answer within 0.5 s"),
        ):
            crm.mode = mode

            async def reported(words: str = words) -> bool:
                feed = await _feed(client, campaign_id)
                return feed["state"] == "failing" and words in feed["last_error"]

            await eventually(reported, timeout=15)
        failing = await _feed(client, campaign_id)
        assert failing["failures"] >= 4 and failing["cursor"] == "6"
        assert await _records(client, campaign_id) == first
        failed_at = [t for t, _ in crm.requests[3:]]
        gaps = [b - a for a, b in itertools.pairwise(failed_at)]
        # Exponential backoff: 0.4, 0.8, 1.6 s ... (each gap includes the 0.5 s timeout
        # for the slow ones, so compare the early gaps against the last).
        assert gaps[-1] >= 2 * gaps[0], gaps

        # Back: new records flow again from where it stopped.
        crm.add(2)
        crm.mode = "ok"

        async def recovered() -> bool:
            feed = await _feed(client, campaign_id)
            return bool(feed["state"] == "ok" and feed["taken"] == 6)

        await eventually(recovered, timeout=30)
        after = await _records(client, campaign_id)
        assert after[:4] == first
        assert (await _feed(client, campaign_id))["last_error"] == ""
    finally:
        await client.close()

    # A restart resumes at the stored cursor: nothing is fetched or taken twice.
    crm.add(1, external=False)
    asked_before = len(crm.requests)
    client = await start_client(app_client(create_app(settings)))
    try:

        async def ninth_taken() -> bool:
            return bool((await _feed(client, campaign_id))["taken"] == 7)

        await eventually(ninth_taken, timeout=10)
        assert crm.requests[asked_before][1] == "8"
        records = await _records(client, campaign_id)
        phones = [r["phone"] for r in records]
        assert len(phones) == len(set(phones)) == 7
        assert phones[-1] == "+12125550009"
    finally:
        await client.close()


async def test_pauses_and_unpauses_by_itself_never_over_a_supervisor(
    dialer: Client, sim: Simulator, crm: Crm
) -> None:
    campaign_id = await _campaign(dialer)
    put = await dialer.put(
        f"/api/campaigns/{campaign_id}/feed", json={"url": crm.url, "poll_s": 0.2}
    )
    assert put.status == 201
    # Played with no record yet: a live campaign is not complete for want of records.
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def paused_for(reason: str) -> bool:
        feed = await _feed(dialer, campaign_id)
        return await _status(dialer, campaign_id) == "paused" and feed["auto_paused"] == reason

    # No agent logged in to "sales": paused by the feed, with the reason in words.
    await eventually(lambda: paused_for("no-agents"), timeout=10)
    feed = await _feed(dialer, campaign_id)
    assert feed["auto_paused_reason"] == "no agents logged in to its queue"

    # An agent logs in: still nothing to dial, so it stays paused, now for that.
    await sim.add_agent("sales", 7001)
    await eventually(lambda: paused_for("no-records"), timeout=10)

    # New records: it unpauses, dials them, then (nothing left) pauses again instead
    # of completing: more may come.
    crm.add(1)

    async def dialed_and_paused_again() -> bool:
        records = await _records(dialer, campaign_id)
        return (
            bool(records)
            and records[0]["attempts"] == 1
            and records[0]["state"] != "in_progress"
            and await paused_for("no-records")
        )

    await eventually(dialed_and_paused_again, timeout=30)
    history = await _history(dialer, campaign_id)
    assert history[0] == ("play", TEST_ADMIN)
    assert history[1:4] == [("pause", "live-feed"), ("play", "live-feed"), ("pause", "live-feed")]
    assert ("complete", "dialer") not in history

    # A supervisor's Pause: records keep coming, but the feed never plays it again.
    await sim.pause_agent("sales", 7001, True)  # logged in, takes no call: nothing dials
    crm.add(2)
    await eventually(lambda: _taken_and(dialer, campaign_id, "active", 3), timeout=10)
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/pause")).status == 200
    crm.add(1)

    async def third_batch_taken() -> bool:
        return bool((await _feed(dialer, campaign_id))["taken"] == 4)

    await eventually(third_batch_taken, timeout=10)
    polls = len(crm.requests)
    await eventually(lambda: _more_polls(crm, polls + 5), timeout=10)
    assert await _status(dialer, campaign_id) == "paused"
    assert (await _feed(dialer, campaign_id))["auto_paused"] == ""
    assert (await _history(dialer, campaign_id))[-1] == ("pause", TEST_ADMIN)

    # The agents leave while a supervisor holds it: still the supervisor's pause.
    await sim.remove_agent("sales", 7001)
    polls = len(crm.requests)
    await eventually(lambda: _more_polls(crm, polls + 5), timeout=10)
    assert (await _history(dialer, campaign_id))[-1] == ("pause", TEST_ADMIN)

    # Played again by the supervisor with no agent: the feed pauses it (its own reason).
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200
    await eventually(lambda: paused_for("no-agents"), timeout=10)

    # A supervisor's Stop while the feed holds it: stopped for good.
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/stop")).status == 200
    await sim.add_agent("sales", 7002)
    polls = len(crm.requests)
    await asyncio.sleep(1.0)
    assert await _status(dialer, campaign_id) == "stopped"
    assert (await _history(dialer, campaign_id))[-1] == ("stop", TEST_ADMIN)
    assert len(crm.requests) == polls  # an ended campaign's CRM is left alone


async def _taken_and(client: Client, campaign_id: int, status: str, taken: int) -> bool:
    feed = await _feed(client, campaign_id)
    return feed["taken"] == taken and await _status(client, campaign_id) == status


async def _more_polls(crm: Crm, count: int) -> bool:
    return len(crm.requests) >= count


async def test_feed_api_validation_and_delete(dialer: Client, crm: Crm) -> None:
    campaign_id = await _campaign(dialer)
    url = f"/api/campaigns/{campaign_id}/feed"
    assert (await dialer.get(url)).status == 404
    cases = [
        ({"url": "ftp://crm.example/leads"}, "url", "http:// or https://"),
        ({"url": "http://"}, "url", "must name a host"),
        ({"url": 5}, "url", "must be a string"),
        ({}, "url", "is required"),
        ({"url": crm.url, "poll_s": 0}, "poll_s", "between 0.1 and 86400"),
        ({"url": crm.url, "poll_s": "fast"}, "poll_s", "number of seconds"),
        ({"url": crm.url, "timeout_s": 600}, "timeout_s", "between 0.1 and 60"),
        ({"url": crm.url, "every": 3}, "every", "unknown field"),
    ]
    for body, field, words in cases:
        response = await dialer.put(url, json=body)
        assert response.status == 422, body
        assert words in (await response.json())["fields"][field]
    bad_json = await dialer.put(url, data=b"{", headers={"Content-Type": "application/json"})
    assert bad_json.status == 400
    assert (await dialer.put("/api/campaigns/999/feed", json={"url": crm.url})).status == 404
    assert (await dialer.get(url)).status == 404  # nothing was created by the refusals

    crm.add(1)
    assert (await dialer.put(url, json={"url": crm.url, "poll_s": 0.2})).status == 201
    edited = await dialer.put(url, json={"url": crm.url, "poll_s": 5})
    assert edited.status == 200 and (await edited.json())["poll_s"] == 5

    async def taken() -> bool:
        return bool((await _feed(dialer, campaign_id))["taken"] == 1)

    await eventually(taken, timeout=10)
    deleted = await dialer.delete(url)
    assert deleted.status == 200
    assert (await dialer.delete(url)).status == 404
    assert (await dialer.get(url)).status == 404
    assert len(await _records(dialer, campaign_id)) == 1  # its records stay


async def test_pauses_when_no_record_is_inside_its_calling_window(
    dialer: Client, sim: Simulator, crm: Crm
) -> None:
    """The consumer hours are open one hour a day, twelve hours from now: the CRM's
    records (all in UTC) cannot be called, so the feed pauses the campaign for that."""
    start = (datetime.now(UTC).hour + 12) % 24
    window = [f"{start:02d}:00", f"{start + 1:02d}:00" if start < 23 else "24:00"]
    code = await dialer.post(
        "/api/hour-codes",
        json={
            "name": "One hour",
            "timezone": "UTC",
            "weekly": {d: [window] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        },
    )
    assert code.status == 201, await code.text()
    campaign_id = await _campaign(dialer)
    edited = await dialer.patch(
        f"/api/campaigns/{campaign_id}", json={"consumer_hour_code_id": (await code.json())["id"]}
    )
    assert edited.status == 200
    await sim.add_agent("sales", 7001)
    crm.add(2, timezone="UTC")
    put = await dialer.put(
        f"/api/campaigns/{campaign_id}/feed", json={"url": crm.url, "poll_s": 0.2}
    )
    assert put.status == 201
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def paused_outside_window() -> bool:
        feed = await _feed(dialer, campaign_id)
        return (
            await _status(dialer, campaign_id) == "paused"
            and feed["auto_paused"] == "outside-window"
        )

    await eventually(paused_outside_window, timeout=10)
    assert all(r["attempts"] == 0 for r in await _records(dialer, campaign_id))


async def test_records_from_the_crm_reopen_a_completed_campaign_paused(
    dialer: Client, crm: Crm
) -> None:
    """A campaign completed (nothing to dial) is given a feed later: the records it
    brings reopen it, Paused, and the feed does not play it by itself."""
    campaign_id = await _campaign(dialer, "Done, then fed")
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def completed() -> bool:
        return await _status(dialer, campaign_id) == "completed"

    await eventually(completed, timeout=10)
    crm.add(2)
    put = await dialer.put(
        f"/api/campaigns/{campaign_id}/feed", json={"url": crm.url, "poll_s": 0.2}
    )
    assert put.status == 201

    async def reopened() -> bool:
        return await _status(dialer, campaign_id) == "paused"

    await eventually(reopened, timeout=10)
    assert len(await _records(dialer, campaign_id)) == 2
    assert (await _history(dialer, campaign_id))[-2:] == [
        ("complete", "dialer"),
        ("reopen", "live-feed"),
    ]
    await asyncio.sleep(1.0)  # a few passes of the feed: it stays paused
    assert await _status(dialer, campaign_id) == "paused"
