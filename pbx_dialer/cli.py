"""`pbx-dialer`: serve, check a configuration, record AMI sessions, run the demo, create
the first admin and API tokens.

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
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from aiohttp import web

from pbx_dialer.ami.client import AmiClient, AmiError, ConnectionState, EventHandler
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


def _ignore(_event: object) -> None:
    pass


async def _first_contact(
    settings: Settings, wait: float, on_event: EventHandler = _ignore
) -> dict[str, AmiClient]:
    """Connect to every PBX once. A refused login is fatal (it is a configuration
    mistake); an unreachable Asterisk is reported and retried by the server."""
    clients = {pbx.name: AmiClient(pbx, on_event=on_event) for pbx in settings.pbx}
    with _quiet_ami_client():
        for client in clients.values():
            await client.start()
        for client in clients.values():
            await client.wait_first_outcome(wait)
    return clients


async def check(settings: Settings, wait: float) -> int:
    """One line per problem (stderr) of every Asterisk: login, rights, dialplan,
    campaign queues, safe-harbour sound; a final ok line (stdout) when there is none."""
    from pbx_dialer.ami.wiring import SHIPPED_DIALPLAN, CheckCalls, check_pbx, shipped_contexts

    campaign_queues = await _campaign_queues(settings)
    try:
        shipped = shipped_contexts(SHIPPED_DIALPLAN.read_text(encoding="utf-8"))
    except OSError as exc:
        raise Fatal(
            f"cannot read {SHIPPED_DIALPLAN} ({exc.strerror}) to check the dialplan"
        ) from None
    calls = CheckCalls()  # the check's own calls (the safe-harbour sound), on every PBX
    clients = await _first_contact(settings, wait, calls.on_event)
    problems: list[str] = []
    for name, client in clients.items():
        if client.state is not ConnectionState.READY:
            problems.append(f"[{name}] {_outcome(client)}")
        else:
            print(f"ok: [{name}] {client.describe()}")
            queues = [(c, q) for pbx, c, q in campaign_queues if pbx == name]
            try:
                problems += [str(p) for p in await check_pbx(client, queues, shipped, calls)]
            except AmiError as exc:
                problems.append(f"[{name}] check stopped: {exc}")
        with _quiet_ami_client():
            await client.close()
    problems += [
        f"campaign {c!r} runs on PBX {pbx!r}, which is not configured"
        for pbx, c, _q in campaign_queues
        if pbx not in clients
    ]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"ok: no wiring problem found on {', '.join(clients)}")
    return 0


async def _campaign_queues(settings: Settings) -> list[tuple[str, str, str]]:
    """(PBX, campaign, queue) of every campaign not completed, from the database if it
    exists already (check creates none)."""
    from pbx_dialer.campaigns.model import CampaignStatus
    from pbx_dialer.storage import campaigns
    from pbx_dialer.storage.db import Database, StorageError

    if not await asyncio.to_thread(Path(settings.database.path).exists):
        return []
    try:
        db = await Database.open(settings.database.path)
    except StorageError as exc:
        raise Fatal(str(exc)) from None
    try:
        found = await campaigns.list_all(db)
    finally:
        await db.close()
    default = settings.pbx[0].name
    return [
        (c.settings.pbx or default, c.settings.name, c.settings.queue)
        for c in found
        if c.settings.queue and c.status is not CampaignStatus.COMPLETED
    ]


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


def _read_password(from_stdin: bool) -> str:
    """One line from stdin (scripts), or typed twice at a prompt that does not echo."""
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        first = getpass.getpass("password: ")
        again = getpass.getpass("password again: ")
    except (EOFError, KeyboardInterrupt):
        raise Fatal("no password given") from None
    if first != again:
        raise Fatal("the two passwords differ")
    return first


async def create_admin(settings: Settings, username: str, password: str, reset: bool) -> str:
    """The first admin (or a new password for an admin who lost theirs, with --reset)."""
    from pbx_dialer.auth.forms import password_problem, username_problem
    from pbx_dialer.auth.model import Role, User
    from pbx_dialer.auth.service import AuthService
    from pbx_dialer.storage import users as user_rows
    from pbx_dialer.storage.db import Database, StorageError

    if (problem := username_problem(username)) is not None:
        raise Fatal(f"--username: {problem}")
    if (problem := password_problem(password)) is not None:
        raise Fatal(f"password: {problem}")
    try:
        db = await Database.open(settings.database.path)
    except StorageError as exc:
        raise Fatal(str(exc)) from None
    try:
        auth = AuthService(db, time.time, lifetime_s=1, idle_s=1)
        found = await user_rows.for_login(db, username)
        if found is None:
            user = User(id=0, username=username, role=Role.ADMIN, display_name=username)
            await auth.create_user(user, password)
            return f"admin {username!r} created"
        record = found[0]
        if not reset:
            raise Fatal(f"a user named {username!r} exists already (--reset sets a new password)")
        if record.user.role is not Role.ADMIN:
            raise Fatal(f"{username!r} is a {record.user.role.value}, not an admin")
        await auth.set_password(record.user.id, password)
        await user_rows.set_disabled(db, record.user.id, False, time.time())
        return f"admin {username!r}: new password set, account enabled"
    finally:
        await db.close()


async def create_token(settings: Settings, username: str, name: str) -> str:
    """An API token for scripts (Authorization: Bearer ...); printed once, stored hashed."""
    from pbx_dialer.auth.service import AuthService
    from pbx_dialer.storage import users as user_rows
    from pbx_dialer.storage.db import Database, StorageError

    try:
        db = await Database.open(settings.database.path)
    except StorageError as exc:
        raise Fatal(str(exc)) from None
    try:
        found = await user_rows.for_login(db, username)
        if found is None:
            raise Fatal(f"no user named {username!r}")
        auth = AuthService(db, time.time, lifetime_s=1, idle_s=1)
        return (await auth.new_token(found[0].user.id, name))[1]
    finally:
        await db.close()


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
    p_check = sub.add_parser("check", help="check the configuration and how each Asterisk is wired")
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
    p_admin = sub.add_parser("create-admin", help="create the first admin (or --reset one)")
    p_admin.add_argument("--config", required=True)
    p_admin.add_argument("--username", required=True)
    p_admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    p_admin.add_argument("--reset", action="store_true", help="new password for this admin")
    p_token = sub.add_parser("create-token", help="an API token for scripts")
    p_token.add_argument("--config", required=True)
    p_token.add_argument("--username", required=True)
    p_token.add_argument("--name", default="script", help="what the token is for")
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
        if args.command == "create-admin":
            settings = _load(args.config)
            password = _read_password(args.password_stdin)
            print(asyncio.run(create_admin(settings, args.username, password, args.reset)))
            return 0
        if args.command == "create-token":
            settings = _load(args.config)
            print(asyncio.run(create_token(settings, args.username, args.name)))
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
