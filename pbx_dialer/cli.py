"""`pbx-dialer`: serve, check a configuration, record AMI sessions, run the demo.

Every expected failure (bad configuration, Asterisk refusing us) ends in one clear
line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator, Sequence

from aiohttp import web

from pbx_dialer.ami.client import AmiClient, ConnectionState
from pbx_dialer.config import ConfigError, Settings, load_settings

log = logging.getLogger("pbx_dialer")


class Fatal(Exception):
    """Stops the command with one line for the person who ran it."""


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # panoramisk logs every hiccup with a traceback; our client reports them in one line.
    # Its protocol logs under its own name until our client hands it our logger.
    logging.getLogger("pbx_dialer.ami.panoramisk").setLevel(logging.CRITICAL)
    logging.getLogger("panoramisk").setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _quiet_ami_client() -> Iterator[None]:
    """The first contact is reported by check/serve themselves, in one line each."""
    logger = logging.getLogger("pbx_dialer.ami.client")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def _first_contact(settings: Settings, wait: float) -> dict[str, AmiClient]:
    """Connect to every PBX once. A refused login is fatal (it is a configuration
    mistake); an unreachable Asterisk is reported and retried by the server."""
    clients = {pbx.name: AmiClient(pbx, on_event=lambda _e: None) for pbx in settings.pbx}
    with _quiet_ami_client():
        for client in clients.values():
            await client.start()
        for client in clients.values():
            await client.wait_first_outcome(wait)
    return clients


async def check(settings: Settings, wait: float) -> int:
    clients = await _first_contact(settings, wait)
    failed = False
    for client in clients.values():
        ok = client.state is ConnectionState.READY
        failed |= not ok
        if ok:
            print(f"ok: [{client.settings.name}] {client.describe()}")
        else:
            print(f"error: [{client.settings.name}] {_outcome(client)}", file=sys.stderr)
        with _quiet_ami_client():
            await client.close()
    return 1 if failed else 0


def _outcome(client: AmiClient) -> str:
    """describe() without "retrying": check and serve stop this client right away."""
    text = client.describe()
    return text.removesuffix("; retrying")


async def serve(settings: Settings) -> None:
    from pbx_dialer.http.app import create_app

    clients = await _first_contact(settings, settings.pbx[0].connect_timeout + 1)
    refused = ""
    for client in clients.values():
        # Described before close(): once closed it no longer knows why it failed.
        state, outcome = client.state, _outcome(client)
        with _quiet_ami_client():
            await client.close()
        if state is ConnectionState.AUTH_FAILED:
            refused = refused or f"[{client.settings.name}] {outcome}"
        elif state is not ConnectionState.READY:
            log.warning("[%s] %s; starting anyway", client.settings.name, outcome)
    if refused:
        raise Fatal(refused)
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.server.host, settings.server.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise Fatal(
            f"cannot listen on {settings.server.host}:{settings.server.port}: {exc.strerror}"
        ) from None
    print(
        f"pbx-dialer listening on http://{settings.server.host}:{settings.server.port}/", flush=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _load(path: str) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        raise Fatal(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pbx-dialer", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the dialer and its web server")
    p_serve.add_argument("--config", required=True, help="TOML settings file")
    p_check = sub.add_parser("check", help="check the configuration and the AMI login")
    p_check.add_argument("--config", required=True)
    p_check.add_argument("--wait", type=float, default=8.0)
    p_rec = sub.add_parser("record-ami", help="record an AMI session as a JSON fixture")
    p_rec.add_argument("--config", required=True)
    p_rec.add_argument("--out", required=True)
    p_rec.add_argument("--seconds", type=float, default=10.0)
    p_rec.add_argument("--pbx", default="")
    p_demo = sub.add_parser("demo", help="Asterisk, simulated agents and customers, and the dialer")
    p_demo.add_argument("--port", type=int, default=8080)
    p_demo.add_argument("--agents", type=int, default=4)
    p_demo.add_argument("--records", type=int, default=60)
    p_demo.add_argument("--database", default="var/demo.sqlite3")
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.command == "serve":
            asyncio.run(serve(_load(args.config)))
            return 0
        if args.command == "check":
            return asyncio.run(check(_load(args.config), args.wait))
        if args.command == "record-ami":
            from pbx_dialer.ami.recorder import record

            settings = _load(args.config)
            pbx = settings.pbx_named(args.pbx) if args.pbx else settings.pbx[0]
            count = asyncio.run(record(pbx, args.out, args.seconds))
            print(f"recorded {count} events to {args.out}")
            return 0
        if args.command == "demo":
            from pbx_dialer.demo import run_demo

            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(run_demo(args.port, args.agents, args.records, args.database))
            return 0
    except Fatal as exc:
        print(f"pbx-dialer: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"pbx-dialer: no PBX named {exc} in the configuration", file=sys.stderr)
        return 2
    return 2
