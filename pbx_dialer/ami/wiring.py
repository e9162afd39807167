"""Is an Asterisk wired as the dialer needs it? What `pbx-dialer check` asks over AMI.

A PBX admin's mistakes here fail silently at call time (every record CONGESTION, a
silent safe-harbour message, two contexts merged with only a warning in Asterisk's
log), so each is named beforehand in one line: a `Problem`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pbx_dialer.ami import actions
from pbx_dialer.ami.client import AmiClient, AmiError
from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.config import OUTBOUND_CONTEXT, PbxSettings, uses_outbound_context
from pbx_dialer.paths import PROJECT_CONF_DIR, SOUND_FORMATS

SHIPPED_DIALPLAN = PROJECT_CONF_DIR / "extensions_dialer.conf"
SOUND_LANGUAGE = "en"
# Without sounds_dir, Asterisk's own dialplan looks for the sound (STAT() is refused over
# AMI): a call into this context hangs up before answering with the answer as its cause.
CHECK_SOUND_CONTEXT = "dialer-check-sound"
SOUND_FOUND, SOUND_MISSING, SOUND_UNKNOWN = "16", "1", "79"
CHECK_CALL_TIMEOUT = 5.0
# manager.conf write= class that lets the dialer's user run each action it sends.
_RIGHT_OF = {
    "Originate": "originate",
    "Setvar": "call",
    "Getvar": "call",
    "Hangup": "call",
    "QueueAdd": "agent",
    "QueueRemove": "agent",
    "QueuePause": "agent",
    "CoreShowChannels": "reporting",
    "ShowDialPlan": "reporting",
}
# What the dialer sends (actions.SENT) plus what this check itself needs.
NEEDED_ACTIONS = (*actions.SENT, "Getvar", "ShowDialPlan")
_CONTEXT_RE = re.compile(r"^\[([^\]]+)\]")
_EXTEN_RE = re.compile(r"^exten\s*=>?\s*([^,]+),")


@dataclass(frozen=True)
class Problem:
    pbx: str
    text: str

    def __str__(self) -> str:
        return f"[{self.pbx}] {self.text}"


class CheckCalls:
    """The Hangup events of the check's own calls: give `on_event` to the AmiClient."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[AmiEvent]] = {}

    def on_event(self, event: AmiEvent) -> None:
        if event.name == "Hangup":
            waiter = self._waiting.get(event.get("Uniqueid"))
            if waiter is not None and not waiter.done():
                waiter.set_result(event)

    async def hangup_of(
        self, client: AmiClient, action: actions.Action, channel_id: str
    ) -> AmiEvent | None:
        """Originate `action` (ChannelId `channel_id`) and wait for that channel's
        Hangup; None when none came in time. Raises AmiError when Asterisk refuses."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[channel_id] = waiter  # before sending: the Hangup may come first
        try:
            (reply,) = await client.send_many([action])
            if isinstance(reply, AmiError):
                raise reply
            if not reply.success:
                raise AmiError(f"Originate refused: {reply.message}")
            return await asyncio.wait_for(waiter, CHECK_CALL_TIMEOUT)
        except TimeoutError:
            return None
        finally:
            del self._waiting[channel_id]


def shipped_contexts(text: str) -> dict[str, set[str]]:
    """Context -> its extensions, as extensions_dialer.conf defines them."""
    contexts: dict[str, set[str]] = {}
    current: set[str] | None = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if match := _CONTEXT_RE.match(line):
            current = contexts.setdefault(match.group(1).strip(), set())
        elif current is not None and (match := _EXTEN_RE.match(line)):
            current.add(match.group(1).strip())
    return contexts


def needed_contexts(pbx: PbxSettings, shipped: dict[str, set[str]]) -> dict[str, set[str]]:
    """The shipped contexts this PBX's calls run through: all, except the trunk helper
    ([dialer-outbound] and what it calls) when the dial template does not use it."""
    if uses_outbound_context(pbx.dial_template):
        return dict(shipped)
    return {n: e for n, e in shipped.items() if not n.startswith(OUTBOUND_CONTEXT)}


async def check_pbx(
    client: AmiClient,
    queues: Iterable[tuple[str, str]],
    shipped: dict[str, set[str]],
    calls: CheckCalls,
) -> list[Problem]:
    """Every wiring problem of one connected Asterisk. `queues`: (campaign, queue);
    `calls`: the CheckCalls that is given this client's events."""
    pbx = client.settings
    problems: list[Problem] = []
    dialplan: dict[str, set[str]] | None = None  # None: could not be read

    async def dialplan_step() -> list[str]:
        nonlocal dialplan
        dialplan = await _dialplan_extensions(client)
        return _dialplan(pbx, dialplan, needed_contexts(pbx, shipped))

    steps: list[tuple[str, Callable[[], Awaitable[list[str]]]]] = [
        ("AMI rights", lambda: _rights(client)),
        ("dialplan", dialplan_step),
        ("campaign queues", lambda: _queues(client, queues)),
        ("safe_harbour sound", lambda: _safe_harbour(client, calls, dialplan)),
    ]
    for what, step in steps:
        try:
            problems += [Problem(pbx.name, text) for text in await step()]
        except AmiError as exc:
            problems.append(Problem(pbx.name, f"cannot check the {what}: {exc}"))
    return problems


async def _rights(client: AmiClient) -> list[str]:
    # ListCommands lists only the actions this user may run.
    reply = await client.send({"Action": "ListCommands"})
    allowed = {str(key).lower() for key in reply.headers}
    missing = [name for name in NEEDED_ACTIONS if name.lower() not in allowed]
    if not missing:
        return []
    rights = sorted({_RIGHT_OF.get(name, "?") for name in missing})
    user = client.settings.username
    return [
        f"AMI user {user!r} may not run {', '.join(missing)}: add {','.join(rights)} to "
        f"write= of [{user}] in manager.conf (then: manager reload)"
    ]


async def _dialplan_extensions(client: AmiClient) -> dict[str, set[str]]:
    """Context -> its extensions, of the whole dialplan: asked in one go, since
    ShowDialPlan of a missing context answers an error that never ends an event list."""
    contexts: dict[str, set[str]] = {}
    for event in await client.send_list({"Action": "ShowDialPlan"}):
        extensions = contexts.setdefault(event.get("Context"), set())
        if event.get("Extension"):
            extensions.add(event.get("Extension"))
    return contexts


def _asks_asterisk_for_the_sound(pbx: PbxSettings) -> bool:
    return bool(pbx.safe_harbour) and not pbx.sounds_dir


def _dialplan(
    pbx: PbxSettings, dialplan: dict[str, set[str]], contexts: dict[str, set[str]]
) -> list[str]:
    problems: list[str] = []
    if pbx.connect_context not in contexts:
        found = dialplan.get(pbx.connect_context)
        if found is None:
            problems.append(f"connect_context {pbx.connect_context!r} is not in the dialplan")
        elif pbx.connect_exten not in found:
            problems.append(
                f"connect_context {pbx.connect_context!r} has no extension "
                f"{pbx.connect_exten!r} (connect_exten)"
            )
    for context, expected in contexts.items():
        found = dialplan.get(context)
        if found is None:
            unchecked = ""
            if context == CHECK_SOUND_CONTEXT and _asks_asterisk_for_the_sound(pbx):
                unchecked = f" (so the safe_harbour sound {pbx.safe_harbour!r} is not checked)"
            problems.append(
                f"context {context!r} is not in the dialplan: "
                '#include "extensions_dialer.conf" (the shipped one) and dialplan reload'
                + unchecked
            )
            continue
        extra, lacking = sorted(found - expected), sorted(expected - found)
        if extra:
            problems.append(
                f"context {context!r} has extensions the shipped extensions_dialer.conf does "
                f"not give it ({', '.join(extra)}): it was merged with another [{context}] "
                "of your dialplan; rename that one"
            )
        if lacking:
            problems.append(
                f"context {context!r} lacks extensions {', '.join(lacking)} of the shipped "
                "extensions_dialer.conf: use that file as shipped"
            )
    return problems


async def _queues(client: AmiClient, queues: Iterable[tuple[str, str]]) -> list[str]:
    problems: list[str] = []
    for campaign, queue in queues:
        listed = await client.send_list(actions.queue_status(queue))
        if not any(e.name == "QueueParams" and e.get("Queue") == queue for e in listed):
            problems.append(
                f"campaign {campaign!r}: queue {queue!r} does not exist on this Asterisk "
                "(queues.conf, then: module reload app_queue.so)"
            )
    return problems


async def _getvar(client: AmiClient, variable: str) -> str:
    reply = await client.send({"Action": "Getvar", "Variable": variable})
    return reply.get("Value") if reply.success else ""


def _sound_names(directory: str, name: str) -> str:
    return f"{directory}/{SOUND_LANGUAGE}/{name}.{{{','.join(SOUND_FORMATS)}}}"


async def _safe_harbour(
    client: AmiClient, calls: CheckCalls, dialplan: dict[str, set[str]] | None
) -> list[str]:
    pbx = client.settings
    name = pbx.safe_harbour
    if not name:
        return []  # none is played
    if pbx.sounds_dir:
        base = Path(pbx.sounds_dir) / SOUND_LANGUAGE
        if any((base / f"{name}.{ext}").is_file() for ext in SOUND_FORMATS):
            return []
        return [f"safe_harbour sound {name!r} is missing: no {_sound_names(pbx.sounds_dir, name)}"]
    if dialplan is not None and CHECK_SOUND_CONTEXT not in dialplan:
        return []  # the dialplan step said so, and that the sound is not checked
    sounds = f"{await _getvar(client, 'ASTDATADIR')}/sounds"
    where = _sound_names(sounds, name)
    channel_id = f"pbxd-check-{secrets.token_hex(4)}"
    call = actions.originate(
        # The ;2 half runs the context; its cause comes back on ;1, our ChannelId.
        channel=f"Local/s@{CHECK_SOUND_CONTEXT}/n",
        context=CHECK_SOUND_CONTEXT,
        exten="s",
        channel_id=channel_id,
        timeout_s=CHECK_CALL_TIMEOUT,
        variables={
            "DIALER_SOUND": name,
            "DIALER_SOUND_LANGUAGE": SOUND_LANGUAGE,
            "DIALER_SOUND_FORMATS": "&".join(SOUND_FORMATS),
        },
    )
    hangup = await calls.hangup_of(client, call, channel_id)
    cannot_tell = f"cannot tell whether safe_harbour sound {name!r} is in {where}"
    if hangup is None:
        user = client.settings.username
        return [
            f"{cannot_tell}: no Hangup event of the check call within "
            f"{CHECK_CALL_TIMEOUT:g} s: [{user}] in manager.conf needs call in read= and the "
            "shipped eventfilter lines (Hangup of pbxd- uniqueids)"
        ]
    cause = hangup.get("Cause")
    if cause == SOUND_FOUND:
        return []
    if cause == SOUND_MISSING:
        return [f"safe_harbour sound {name!r} is missing: no {where}"]
    if cause == SOUND_UNKNOWN:
        return [f"{cannot_tell}: STAT() does not work in its dialplan: load func_env.so"]
    return [
        f"{cannot_tell}: the check call into [{CHECK_SOUND_CONTEXT}] ended with cause "
        f"{cause or '?'}, not {SOUND_FOUND} or {SOUND_MISSING}: use the shipped "
        "extensions_dialer.conf"
    ]
