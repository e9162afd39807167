"""Is an Asterisk wired as the dialer needs it? What `pbx-dialer check` asks over AMI.

A PBX admin's mistakes here fail silently at call time (every record CONGESTION, a
silent safe-harbour message, two contexts merged with only a warning in Asterisk's
log), so each is named beforehand in one line: a `Problem`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pbx_dialer.ami import actions
from pbx_dialer.ami.client import AmiClient, AmiError
from pbx_dialer.config import OUTBOUND_CONTEXT, PbxSettings, uses_outbound_context
from pbx_dialer.paths import PROJECT_CONF_DIR

SHIPPED_DIALPLAN = PROJECT_CONF_DIR / "extensions_dialer.conf"
# The formats Playback finds for a sound without extension (modules.conf loads them).
SOUND_FORMATS = ("wav", "gsm", "ulaw", "alaw", "sln", "g722")
SOUND_LANGUAGE = "en"
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
    client: AmiClient, queues: Iterable[tuple[str, str]], shipped: dict[str, set[str]]
) -> list[Problem]:
    """Every wiring problem of one connected Asterisk. `queues`: (campaign, queue)."""
    pbx = client.settings
    problems: list[Problem] = []
    steps: list[tuple[str, Callable[[], Awaitable[list[str]]]]] = [
        ("AMI rights", lambda: _rights(client)),
        ("dialplan", lambda: _dialplan(client, needed_contexts(pbx, shipped))),
        ("campaign queues", lambda: _queues(client, queues)),
        ("safe_harbour sound", lambda: _safe_harbour(client)),
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


async def _dialplan(client: AmiClient, contexts: dict[str, set[str]]) -> list[str]:
    pbx = client.settings
    dialplan = await _dialplan_extensions(client)
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
            problems.append(
                f"context {context!r} is not in the dialplan: "
                '#include "extensions_dialer.conf" (the shipped one) and dialplan reload'
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


async def _safe_harbour(client: AmiClient) -> list[str]:
    pbx = client.settings
    name = pbx.safe_harbour
    if not name:
        return []  # none is played
    if pbx.sounds_dir:
        base = Path(pbx.sounds_dir) / SOUND_LANGUAGE
        if any((base / f"{name}.{ext}").is_file() for ext in SOUND_FORMATS):
            return []
        return [f"safe_harbour sound {name!r} is missing: no {_sound_names(pbx.sounds_dir, name)}"]
    sounds = f"{await _getvar(client, 'ASTDATADIR')}/sounds"
    answers = [
        await _getvar(client, f"STAT(e,{sounds}/{SOUND_LANGUAGE}/{name}.{ext})")
        for ext in SOUND_FORMATS
    ]
    if "1" in answers:
        return []
    if all(answer == "0" for answer in answers):
        return [f"safe_harbour sound {name!r} is missing: no {_sound_names(sounds, name)}"]
    # Asterisk 22 refuses STAT() (a "dangerous" function) over AMI unless asterisk.conf
    # sets live_dangerously = yes, and it needs func_env.so: the check cannot tell.
    return [
        f"cannot tell whether safe_harbour sound {name!r} is in {_sound_names(sounds, name)}: "
        f"Asterisk refuses STAT() over AMI; set sounds_dir to where the dialer can read {sounds}"
    ]
