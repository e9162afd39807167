"""Benchmark: how close the dialer comes to the rate Asterisk itself can originate calls.

In one run against a local Asterisk it starts (pbx_dialer.testing.asterisk):

1. raw: a bare asyncio AMI script fires `--calls` asynchronous Originates at Local
   channels that hang up at once (context [sim-null]), at most `--lines` in flight, and
   counts their OriginateResponse events: the floor of what placing a call costs.
2. dialer: the real application (create_app, HTTP API, SQLite, AMI client, dial loop)
   runs one campaign of `--calls` records at the same [sim-null] numbers with pacing
   unlimited (a policy that always fills every free line up to max_lines = `--lines`),
   and the attempts stored as ended are counted.

Both rates run from the first call dialed to the last call over (OriginateResponse for
the script, the attempt stored as ended for the dialer), with the same Originate (same
headers and variables) and the same number of lines, so their ratio is the dialer's
own overhead. Not a percentile window of the completions: the dialer may store its
ends well after the calls ended (a backlog, also reported), and such a window would
only see the backlog drain. The dialer's CPU time per call is `time.process_time()`
over the same span in this process (the Asterisk process is not counted; the raw
script is idle by then).

    .venv/bin/python bench/ami_throughput.py [--calls 3000] [--lines 200] [--profile FILE]

Goals: dialer rate >= 0.8 x raw rate, dialer CPU <= 0.5 ms per call.
The last line of output is one JSON object:
{"raw_per_s", "dialer_per_s", "ratio", "cpu_ms_per_call"}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _common import (  # puts ROOT on sys.path, before pbx_dialer is imported
    FIRST_NUMBER,
    NULL_CONTEXT,
    QUEUE,
    admin_token,
    campaign_of_records,
    never_alert,
    serve,
    settings_for,
)

from pbx_dialer.ami import actions
from pbx_dialer.http import keys
from pbx_dialer.http.app import create_app
from pbx_dialer.notifier import Message, Notifier
from pbx_dialer.pacing.policy import BasePolicy, PacingSnapshot
from pbx_dialer.testing.asterisk import AsteriskInstance

GOAL_RATIO = 0.8
GOAL_CPU_MS = 0.5
RING_TIMEOUT_S = 30  # the campaign default; the raw Originate carries the same Timeout


@dataclass
class Completions:
    """When the first call was dialed and when each call was known to be over, with this
    process's CPU time then (all threads, and the event loop's thread alone: both marks
    are taken on it)."""

    started: tuple[float, float, float] | None = None
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    loop_cpu: list[float] = field(default_factory=list)
    results: dict[str, int] = field(default_factory=dict)
    dialed: int = 0
    backlog: int = 0  # most calls dialed and not yet known to be over, at any moment
    last_dial: float = 0.0

    def dial(self) -> None:
        if self.started is None:
            self.started = (time.perf_counter(), time.process_time(), time.thread_time())
        self.dialed += 1
        self.last_dial = time.perf_counter()
        self.backlog = max(self.backlog, self.dialed - len(self.wall))

    def add(self, result: str) -> None:
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())
        self.loop_cpu.append(time.thread_time())
        self.results[result] = self.results.get(result, 0) + 1

    def rate(self) -> float:
        """Calls over per second, from the first dial to the last call over."""
        if self.started is None or not self.wall or self.wall[-1] <= self.started[0]:
            return 0.0
        return len(self.wall) / (self.wall[-1] - self.started[0])

    def dial_rate(self) -> float:
        """Calls dialed per second, from the first dial to the last."""
        if self.started is None or self.last_dial <= self.started[0]:
            return 0.0
        return self.dialed / (self.last_dial - self.started[0])

    def cpu_ms(self) -> tuple[float, float]:
        """CPU ms per call over the same span: (all threads, the event loop's thread)."""
        if self.started is None or not self.wall:
            return 0.0, 0.0
        n = len(self.wall)
        return (
            1000.0 * (self.cpu[-1] - self.started[1]) / n,
            1000.0 * (self.loop_cpu[-1] - self.started[2]) / n,
        )


def originate(channel_id: str, number: int, attempt: int) -> dict[str, Any]:
    """The Originate the dialer sends for an attempt (see Dialer._call_variables)."""
    return actions.originate(
        channel=f"Local/{number}@{NULL_CONTEXT}",
        context="dialer-connect",
        exten="s",
        channel_id=channel_id,
        timeout_s=RING_TIMEOUT_S,
        variables={
            "DIALER_ATTEMPT": str(attempt),
            "DIALER_CAMPAIGN": "1",
            "DIALER_QUEUE": QUEUE,
            "DIALER_PRIO": "0",
            "DIALER_QUEUE_TIMEOUT": "30",
        },
    )


def wire(action: dict[str, Any]) -> bytes:
    lines = []
    for key, value in action.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {item}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- 1. the bare script ----------------------------------------------------------------


async def raw_run(ast: AsteriskInstance, calls: int, lines: int, tag: str) -> Completions:
    """Fire `calls` Originates, at most `lines` unanswered at a time; a call is done at
    its OriginateResponse (or at an error reply: nothing was placed)."""
    reader, writer = await asyncio.open_connection(ast.ami_host, ast.ami_port)
    await reader.readline()  # banner
    writer.write(
        wire({"Action": "Login", "Username": ast.dialer_user, "Secret": ast.dialer_secret})
    )
    done = Completions()
    free = asyncio.Semaphore(lines)
    finished = asyncio.Event()

    async def read() -> None:
        buffer = b""
        logged_in = False
        while True:
            chunk = await reader.read(1 << 16)
            if not chunk:
                raise ConnectionError("Asterisk closed the AMI connection")
            buffer += chunk
            *messages, buffer = buffer.split(b"\r\n\r\n")
            for message in messages:
                if message.startswith(b"Event: OriginateResponse"):
                    done.add("Success" if b"Response: Success" in message else "Failure")
                elif message.startswith(b"Response: Error"):
                    if not logged_in:
                        raise PermissionError(message.decode(errors="replace"))
                    done.add("refused")  # nothing was placed, the line is free again
                else:
                    if not logged_in and message.startswith(b"Response: Success"):
                        logged_in = True
                        ready.set()
                    continue
                free.release()
                if len(done.wall) >= calls:
                    finished.set()

    ready = asyncio.Event()
    reading = asyncio.get_running_loop().create_task(read())
    try:
        try:
            await asyncio.wait_for(ready.wait(), 10)
        except TimeoutError:
            if reading.done():
                reading.result()  # why the login failed
            raise
        for i in range(calls):
            await free.acquire()
            done.dial()
            # Named like the dialer's channels, so Asterisk's event filter treats both alike.
            writer.write(wire(originate(f"pbxd-{tag}{i}", FIRST_NUMBER + i, i + 1)))
        await asyncio.wait_for(finished.wait(), 60 + calls / 10)
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await reading
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return done


# --- 2. the dialer ------------------------------------------------------------------------


class Unlimited(BasePolicy):
    """Pacing unlimited: every free line gets a call, agents or not."""

    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        return max(0, snapshot.max_lines - snapshot.calls_live)


def unlimited(_mode: str, **_: Any) -> Unlimited:
    return Unlimited()


class CountingNotifier(Notifier):
    """The app's notifier, noting when each attempt was stored as ended (it publishes
    attempt_ended right after the attempt's row is written)."""

    def __init__(self, done: Completions, expected: int) -> None:
        super().__init__()
        self.done = done
        self.expected = expected
        self.cancelled = 0
        self._seen: set[int] = set()
        self.finished = asyncio.Event()

    def publish(self, kind: str, data: Message) -> None:
        if kind == "call" and data["attempt_id"] not in self._seen:
            # Published once an attempt is taken for dialing, before its Originate.
            self._seen.add(data["attempt_id"])
            self.done.dial()
        elif kind == "attempt_ended":
            self.done.add(str(data["result"]))
        elif kind == "call_cancelled":
            self.cancelled += 1
        if len(self.done.wall) + self.cancelled >= self.expected:
            self.finished.set()
        super().publish(kind, data)


async def dialer_run(
    ast: AsteriskInstance, calls: int, lines: int, tmp: Path, profile: cProfile.Profile | None
) -> tuple[Completions, int]:
    app = create_app(settings_for(ast, tmp, tick_seconds=0.2))
    done = Completions()
    notifier = CountingNotifier(done, calls)
    app[keys.notifier_key] = notifier  # read by the cleanup contexts at startup
    runner, base = await serve(app)
    try:
        await app[keys.pbxs_key]["main"].client.wait_ready(10)
        app[keys.dialer_key].policy_factory = unlimited
        never_alert(app)
        token = await admin_token(app)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            campaign = {"name": "AMI throughput", "queue": QUEUE, "max_lines": lines,
                        "max_attempts": 1, "ring_timeout_s": RING_TIMEOUT_S}  # fmt: skip
            campaign_id = await campaign_of_records(http, base, campaign, calls)
            # Nothing else talks to the server from here on: its CPU is the dialer's.
            if profile is not None:
                profile.enable()
            async with http.post(f"{base}/api/campaigns/{campaign_id}/play") as resp:
                if resp.status != 200:
                    raise RuntimeError(f"campaign not started: {await resp.text()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(notifier.finished.wait(), 60 + calls / 10)
            if profile is not None:
                profile.disable()
    finally:
        await runner.cleanup()
    return done, notifier.cancelled


# --- the run ------------------------------------------------------------------------------


def asterisk_cpu_s(ast: AsteriskInstance) -> float:
    """CPU seconds (user + system) the Asterisk process has used so far."""
    pid = ast.pid
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(calls: int, lines: int, profile: cProfile.Profile | None) -> dict[str, float]:
    async with AsteriskInstance() as ast:
        # A short warm-up, so neither measured run pays for Asterisk's first calls.
        await raw_run(ast, min(calls, 200), lines, "warm")
        ast_cpu0 = asterisk_cpu_s(ast)
        raw = await raw_run(ast, calls, lines, "raw")
        ast_cpu1 = asterisk_cpu_s(ast)
        raw_rate = raw.rate()
        print(
            f"raw AMI script: {len(raw.wall)} originates, {raw_rate:,.0f} calls/s, "
            f"results {raw.results}"
        )
        with tempfile.TemporaryDirectory(prefix="pbx-bench-") as tmp:
            dialer, cancelled = await dialer_run(ast, calls, lines, Path(tmp), profile)
        ast_cpu2 = asterisk_cpu_s(ast)
        # Both share the machine's cores with Asterisk: what it needs per call bounds them.
        print(
            f"Asterisk CPU per call: {1000 * (ast_cpu1 - ast_cpu0) / calls:.3f} ms (raw run), "
            f"{1000 * (ast_cpu2 - ast_cpu1) / calls:.3f} ms (dialer run); "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"
        )
        dialer_rate = dialer.rate()
        cpu_ms, loop_ms = dialer.cpu_ms()
        print(
            f"dialer: {len(dialer.wall)} attempts stored as ended of {calls} ({cancelled} "
            f"cancelled), {dialer_rate:,.0f} attempts/s, results {dialer.results}"
        )
        print(
            f"dialer: dialed at {dialer.dial_rate():,.0f} calls/s while dialing; at most "
            f"{dialer.backlog} attempts dialed and not yet stored as ended ({lines} lines)"
        )
        print(
            f"dialer CPU per call: {cpu_ms:.3f} ms, of which the event loop's thread "
            f"{loop_ms:.3f} ms (AMI, dial loop, HTTP) and other threads {cpu_ms - loop_ms:.3f} ms "
            "(aiosqlite's SQLite thread)"
        )
    ratio = dialer_rate / raw_rate if raw_rate > 0 else 0.0
    return {
        "raw_per_s": round(raw_rate, 1),
        "dialer_per_s": round(dialer_rate, 1),
        "ratio": round(ratio, 3),
        "cpu_ms_per_call": round(cpu_ms, 3),
        "complete": float(len(dialer.wall) == calls and len(raw.wall) == calls),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per run (default 3000)")
    parser.add_argument(
        "--lines", type=int, default=200, help="calls in flight at most, both runs (default 200)"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the dialer run; stats saved to FILE"
    )
    args = parser.parse_args()
    if args.calls < 50:
        parser.error("--calls: at least 50")
    if not 1 <= args.lines <= 1000:
        parser.error("--lines: between 1 and 1000 (a campaign's max_lines)")
    profile = cProfile.Profile() if args.profile else None
    figures = asyncio.run(run(args.calls, args.lines, profile))
    complete = figures.pop("complete") == 1.0
    ratio_ok = figures["ratio"] >= GOAL_RATIO
    cpu_ok = figures["cpu_ms_per_call"] <= GOAL_CPU_MS
    print(
        f"ratio dialer/raw: {figures['ratio']:.2f} (goal >= {GOAL_RATIO}): "
        f"{'met' if ratio_ok else 'NOT MET'}"
    )
    print(
        f"dialer CPU per call: {figures['cpu_ms_per_call']:.3f} ms (goal <= {GOAL_CPU_MS} ms): "
        f"{'met' if cpu_ok else 'NOT MET'}"
        + (" (measured under cProfile: inflated)" if profile is not None else "")
    )
    if not complete:
        print("WARNING: a run did not complete every call; its figures cover those that did")
    if profile is not None:
        profile.dump_stats(args.profile)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
