"""Benchmark: how soon the dashboards hear of a call that ended, with 100 of them open.

Against a local Asterisk it starts (pbx_dialer.testing.asterisk), the real application
(create_app: HTTP, websockets, SQLite, AMI client, dial loop) dials one campaign at a
steady `--rate` of calls per second to [sim-null] numbers, which hang up at once: every
call ends with an AMI event (OriginateResponse) that changes what a dashboard shows.
Meanwhile `--viewers` websocket clients, logged in as a viewer-role user, watch
/ws/dashboard the way the Campaigns dashboard page (web/static/dashboard.js) does: each
"changed" message is noted on arrival and, unless `--no-fetch`, the changed panels are
fetched from /api/dashboard 300 ms later, a burst of changes costing one fetch.

Latency: from the moment the AMI event that ended a call reached the dialer (a hook on
the PBX's event handler notes it in the server process, before the trackers see it) to
the moment the "changed" message about that call reached each viewer. Both ends read
time.monotonic(), one clock for every process on the machine: the viewers run in a
process of their own, so their CPU is not counted as the server's. The k-th
attempt_ended the notifier publishes is the k-th "changed (attempt_ended)" message of
every viewer (one subscription each, kept in order), which ties each arrival to its
event without adding anything to the messages.

Server CPU: the server process's CPU time (all its threads) over the measured span, as
a percentage of one core; the Asterisk process and the viewers' process are not in it.

    .venv/bin/python bench/live.py [--viewers 100] [--seconds 20] [--rate 20] [--no-fetch]

Goal: p99 <= 200 ms. The last line of output is one JSON object:
{"viewers", "p50_ms", "p99_ms", "server_cpu_pct"}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    QUEUE,
    admin_token,
    campaign_of_records,
    never_alert,
    serve,
    settings_for,
)  # puts ROOT on sys.path
from aiohttp import web

from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.ami.pbx import Pbx
from pbx_dialer.auth.model import Role, User
from pbx_dialer.calls import CallEnded, PbxEvent
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.http.auth import COOKIE
from pbx_dialer.notifier import Message, Notifier
from pbx_dialer.pacing.policy import BasePolicy, PacingSnapshot
from pbx_dialer.testing.asterisk import AsteriskInstance

GOAL_P99_MS = 200.0
FETCH_DELAY_S = 0.3  # dashboard.js: changes that come together cost one fetch


# --- the viewers, in a process of their own ----------------------------------------------


async def _viewer(
    http: aiohttp.ClientSession,
    base: str,
    fetch: bool,
    arrivals: list[float],
    connected: asyncio.Event,
    errors: list[str],
    fetches: list[int],
) -> None:
    dirty: set[int] = set()
    flushing: asyncio.Task[None] | None = None

    async def flush() -> None:
        await asyncio.sleep(FETCH_DELAY_S)
        ids = ",".join(str(i) for i in sorted(dirty))
        dirty.clear()
        async with http.get(f"{base}/api/dashboard?ids={ids}&limit=100") as resp:
            fetches[0] += 1
            if resp.status != 200:
                errors.append(f"/api/dashboard answered {resp.status}")
            await resp.read()

    try:
        async with http.ws_connect(f"{base}/ws/dashboard", heartbeat=None) as ws:
            async for msg in ws:
                now = time.monotonic()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                message = json.loads(msg.data)
                if message["type"] == "hello":
                    connected.set()
                elif message["type"] == "changed":
                    if message["cause"] == "attempt_ended":
                        arrivals.append(now)
                    if fetch:
                        dirty.add(int(message["campaign_id"]))
                        if flushing is None or flushing.done():
                            flushing = asyncio.get_running_loop().create_task(flush())
    except (TimeoutError, aiohttp.ClientError) as exc:
        errors.append(f"viewer: {exc!r}")
    finally:
        if flushing is not None:
            flushing.cancel()


async def _viewers(base: str, cookie: str, count: int, fetch: bool, pipe: Connection) -> None:
    arrivals: list[list[float]] = [[] for _ in range(count)]
    errors: list[str] = []
    fetches = [0]
    connected = [asyncio.Event() for _ in range(count)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(cookies={COOKIE: cookie}, connector=connector) as http:
        tasks = [
            asyncio.get_running_loop().create_task(
                _viewer(http, base, fetch, arrivals[i], connected[i], errors, fetches)
            )
            for i in range(count)
        ]
        await asyncio.wait_for(asyncio.gather(*(c.wait() for c in connected)), 60)
        pipe.send("connected")
        # The parent says when the run is over: wait for it on a thread, not on the loop.
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    report = {"arrivals": arrivals, "errors": errors[:20], "fetches": fetches[0]}
    pipe.send({**report, "cpu_s": time.process_time()})


def viewers_main(base: str, cookie: str, count: int, fetch: bool, pipe: Connection) -> None:
    """The viewers' process: `count` dashboards watching `base`."""
    asyncio.run(_viewers(base, cookie, count, fetch, pipe))


# --- the server, in this process ---------------------------------------------------------


class Steady(BasePolicy):
    """A steady `rate` of new calls per second from the first pass on, agents or not."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate
        self.started: float | None = None
        self.placed = 0

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        if self.started is None:
            self.started = snapshot.now
        due = int(self.rate * (snapshot.now - self.started)) + 1 - self.placed
        wanted = max(0, min(due, snapshot.max_lines - snapshot.calls_live))
        self.placed += wanted
        return wanted


@dataclass
class EventTimes:
    """When the AMI event that ended each call reached the dialer, and the same times in
    the order the notifier published those calls' attempt_ended."""

    current: float = 0.0  # the AMI event being handled right now
    ended_at: dict[int, float] = field(default_factory=dict)  # attempt id -> AMI event
    published: list[float] = field(default_factory=list)
    publish_delay_ms: list[float] = field(default_factory=list)  # AMI event -> publish
    lost: int = 0  # attempt_ended without a noted event (e.g. settled by a resync)


def hook_pbx(pbx: Pbx, times: EventTimes) -> None:
    """Note the arrival of each AMI event, and which attempt it ended."""
    feed = pbx.client._on_event
    on_pbx_event = pbx._on_event

    def noted_feed(event: AmiEvent) -> None:
        times.current = time.monotonic()
        feed(event)

    def noted_event(p: Pbx, event: PbxEvent) -> None:
        if isinstance(event, CallEnded):
            times.ended_at[event.attempt_id] = times.current
        on_pbx_event(p, event)

    pbx.client._on_event = noted_feed
    pbx._on_event = noted_event


class TimingNotifier(Notifier):
    """The app's notifier, noting the AMI time of each attempt_ended as it is published."""

    def __init__(self, times: EventTimes) -> None:
        super().__init__()
        self.times = times

    def publish(self, kind: str, data: Message) -> None:
        if kind == "attempt_ended":
            at = self.times.ended_at.pop(int(data["attempt_id"]), None)
            if at is None:
                self.times.lost += 1
                at = float("nan")
            else:
                self.times.publish_delay_ms.append(1000.0 * (time.monotonic() - at))
            self.times.published.append(at)
        super().publish(kind, data)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def run(viewers: int, seconds: float, rate: float, fetch: bool) -> dict[str, Any]:
    times = EventTimes()
    calls = int(rate * seconds) + 10
    async with AsteriskInstance() as ast:
        with tempfile.TemporaryDirectory(prefix="pbx-bench-live-") as tmp:
            app = create_app(settings_for(ast, Path(tmp), tick_seconds=0.1))
            app[keys.notifier_key] = TimingNotifier(times)  # read by the cleanup contexts
            runner, base = await serve(app)
            try:
                return await _measure(app, base, times, viewers, seconds, rate, fetch, calls)
            finally:
                await runner.cleanup()


async def _measure(
    app: web.Application,
    base: str,
    times: EventTimes,
    viewers: int,
    seconds: float,
    rate: float,
    fetch: bool,
    calls: int,
) -> dict[str, Any]:
    pbx = app[keys.pbxs_key]["main"]
    await pbx.client.wait_ready(10)
    hook_pbx(pbx, times)
    policy = Steady(rate)
    app[keys.dialer_key].policy_factory = lambda _mode, **_: policy
    never_alert(app)
    token = await admin_token(app)
    auth = app[keys.auth_key]
    password = os.urandom(16).hex()
    await auth.create_user(User(id=0, username="wall", role=Role.VIEWER), password)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as api:
        campaign = {"name": "Live bench", "queue": QUEUE, "max_lines": 200, "max_attempts": 1}
        campaign_id = await campaign_of_records(api, base, campaign, calls)
        # The viewers log in as a viewer would (one wall-screen account, one session).
        async with (
            aiohttp.ClientSession() as login,
            login.post(f"{base}/login", json={"username": "wall", "password": password}) as resp,
        ):
            if resp.status != 200:
                raise RuntimeError(f"viewer log-in refused: {await resp.text()}")
            cookie = resp.cookies[COOKIE].value
        parent, child = multiprocessing.get_context("spawn").Pipe()
        process = multiprocessing.get_context("spawn").Process(
            target=viewers_main, args=(base, cookie, viewers, fetch, child), daemon=True
        )
        process.start()
        loop = asyncio.get_running_loop()
        try:
            if not await loop.run_in_executor(None, parent.poll, 90):
                raise RuntimeError("the viewers did not connect within 90 s")
            parent.recv()
            load_before = os.getloadavg()[0]
            cpu0, wall0 = time.process_time(), time.monotonic()
            async with api.post(f"{base}/api/campaigns/{campaign_id}/play") as resp:
                if resp.status != 200:
                    raise RuntimeError(f"campaign not started: {await resp.text()}")
            await asyncio.sleep(seconds)
            async with api.post(f"{base}/api/campaigns/{campaign_id}/pause") as resp:
                if resp.status != 200:
                    raise RuntimeError(f"campaign not paused: {await resp.text()}")
            # The calls in flight end and reach the viewers; then the books are closed.
            await asyncio.sleep(2.0)
            cpu1, wall1 = time.process_time(), time.monotonic()
            load_after = os.getloadavg()[0]
            parent.send("stop")
            if not await loop.run_in_executor(None, parent.poll, 60):
                raise RuntimeError("the viewers did not report within 60 s")
            report: dict[str, Any] = parent.recv()
        finally:
            process.join(10)
            if process.is_alive():
                process.kill()
    return _figures(times, report, viewers, cpu1 - cpu0, wall1 - wall0, load_before, load_after)


def _figures(
    times: EventTimes,
    report: dict[str, Any],
    viewers: int,
    cpu_s: float,
    wall_s: float,
    load_before: float,
    load_after: float,
) -> dict[str, Any]:
    published = times.published
    latencies: list[float] = []
    short = 0
    for arrivals in report["arrivals"]:
        if len(arrivals) < len(published):
            short += 1
        for at, arrived in zip(published, arrivals, strict=False):
            if at == at:  # not NaN: the event was noted
                latencies.append(1000.0 * (arrived - at))
    cpu_pct = 100.0 * cpu_s / wall_s if wall_s > 0 else 0.0
    print(
        f"calls ended and published: {len(published)} in {wall_s:.1f} s "
        f"({len(published) / wall_s:.1f}/s); {viewers} viewers; "
        f"{len(latencies)} deliveries measured; {report['fetches']} panel fetches"
    )
    if short or times.lost or report["errors"]:
        print(
            f"WARNING: {short} viewers missed messages, {times.lost} ends without a noted "
            f"AMI event, errors: {report['errors']}"
        )
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(
        f"AMI event -> viewer: p50 {p50:.1f} ms, p90 {percentile(latencies, 90):.1f} ms, "
        f"p99 {p99:.1f} ms, max {max(latencies, default=0.0):.1f} ms, "
        f"mean {statistics.fmean(latencies) if latencies else 0.0:.1f} ms"
    )
    stored = times.publish_delay_ms
    print(
        f"of which AMI event -> published by the dialer (stored first): p50 "
        f"{percentile(stored, 50):.1f} ms, p99 {percentile(stored, 99):.1f} ms"
    )
    print(
        f"server CPU: {cpu_pct:.1f}% of one core ({cpu_s:.2f} s); viewers' process "
        f"{report['cpu_s']:.2f} s; load average {load_before:.2f} -> {load_after:.2f} "
        f"on {os.cpu_count()} cores"
    )
    return {
        "viewers": viewers,
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "server_cpu_pct": round(cpu_pct, 1),
        "complete": float(bool(latencies) and not short and not times.lost),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=100, help="dashboards (default 100)")
    parser.add_argument("--seconds", type=float, default=20.0, help="dialing time (default 20)")
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second (default 20)")
    parser.add_argument(
        "--no-fetch", action="store_true", help="viewers only listen, never fetch panels"
    )
    args = parser.parse_args()
    if not 1 <= args.viewers <= 1000:
        parser.error("--viewers: between 1 and 1000")
    if not 0.5 <= args.seconds <= 600:
        parser.error("--seconds: between 0.5 and 600")
    if not 0.1 <= args.rate <= 1000:
        parser.error("--rate: between 0.1 and 1000 calls per second")
    figures = asyncio.run(run(args.viewers, args.seconds, args.rate, not args.no_fetch))
    complete = figures.pop("complete") == 1.0
    met = figures["p99_ms"] <= GOAL_P99_MS
    print(
        f"p99 AMI event -> viewer: {figures['p99_ms']:.1f} ms (goal <= {GOAL_P99_MS:.0f} ms): "
        f"{'met' if met else 'NOT MET'}"
    )
    if not complete:
        print("WARNING: not every ended call reached every viewer; figures cover those that did")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
