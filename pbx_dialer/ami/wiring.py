"""Is an Asterisk wired as the dialer needs it? What `pbx-dialer check` asks over AMI.

A PBX admin's mistakes here fail silently at call time (every record CONGESTION, a
silent safe-harbour message, two contexts merged with only a warning in Asterisk's
log), so each is named beforehand in one line: a `Problem`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pbx_dialer.ami import actions
from pbx_dialer.ami.client import AmiClient, AmiError
from pbx_dialer.config import OUTBOUND_CONTEXT, PbxSettings, uses_outbound_context
from pbx_dialer.testing.asterisk import PROJECT_CONF_DIR

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
    problems = [Problem(pbx.name, text) for text in await _rights(client)]
    for text in await _dialplan(client, needed_contexts(pbx, shipped)):
        problems.append(Problem(pbx.name, text))
    for campaign, queue in queues:
        if not await _queue_exists(client, queue):
            problems.append(
                Problem(
                    pbx.name,
                    f"campaign {campaign!r}: queue {queue!r} does not exist on this Asterisk "
                    "(queues.conf, then: module reload app_queue.so)",
                )
            )
    if pbx.safe_harbour:
        problem = await _safe_harbour(client)
        if problem:
            problems.append(Problem(pbx.name, problem))
    return problems


async def _rights(client: AmiClient) -> list[str]:
    # ListCommands lists only the actions this user may run.
    reply = await client.send({"Action": "ListCommands"})
    allowed = {str(key).lower() for key in reply.headers}
    missing = [name for name in NEEDED_ACTIONS if name.lower() not in allowed]
    if not missing:
        return []
    rights = sorted({_RIGHT_OF.get(name, "?") for name in missing})
    return [
        f"AMI user {client.settings.username!r} may not run {', '.join(missing)}: "
        f"add {','.join(rights)} to write= of [{client.settings.username}] in manager.conf "
        "(then: manager reload)"
    ]


async def _extensions(client: AmiClient, context: str) -> set[str] | None:
    try:
        listed = await client.send_list({"Action": "ShowDialPlan", "Context": context})
    except AmiError as exc:
        if "did not find context" in str(exc).lower():
            return None
        raise
    return {e.get("Extension") for e in listed if e.get("Context") == context} - {""}


async def _dialplan(client: AmiClient, contexts: dict[str, set[str]]) -> list[str]:
    pbx = client.settings
    problems: list[str] = []
    if pbx.connect_context not in contexts:
        found = await _extensions(client, pbx.connect_context)
        if found is None:
            problems.append(f"connect_context {pbx.connect_context!r} is not in the dialplan")
        elif pbx.connect_exten not in found:
            problems.append(
                f"connect_context {pbx.connect_context!r} has no extension "
                f"{pbx.connect_exten!r} (connect_exten)"
            )
    for context, expected in contexts.items():
        found = await _extensions(client, context)
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


async def _queue_exists(client: AmiClient, queue: str) -> bool:
    listed = await client.send_list(actions.queue_status(queue))
    return any(e.name == "QueueParams" and e.get("Queue") == queue for e in listed)


async def _getvar(client: AmiClient, variable: str) -> str:
    reply = await client.send({"Action": "Getvar", "Variable": variable})
    return reply.get("Value") if reply.success else ""


def _sound_names(directory: str, name: str) -> str:
    return f"{directory}/{SOUND_LANGUAGE}/{name}.{{{','.join(SOUND_FORMATS)}}}"


async def _safe_harbour(client: AmiClient) -> str:
    pbx = client.settings
    name = pbx.safe_harbour
    if pbx.sounds_dir:
        base = Path(pbx.sounds_dir) / SOUND_LANGUAGE
        if any((base / f"{name}.{ext}").is_file() for ext in SOUND_FORMATS):
            return ""
        return f"safe_harbour sound {name!r} is missing: no {_sound_names(pbx.sounds_dir, name)}"
    sounds = f"{await _getvar(client, 'ASTDATADIR')}/sounds"
    answers = [
        await _getvar(client, f"STAT(e,{sounds}/{SOUND_LANGUAGE}/{name}.{ext})")
        for ext in SOUND_FORMATS
    ]
    if "1" in answers:
        return ""
    if all(answer == "0" for answer in answers):
        return f"safe_harbour sound {name!r} is missing: no {_sound_names(sounds, name)}"
    # Asterisk 22 refuses STAT() (a "dangerous" function) over AMI unless asterisk.conf
    # sets live_dangerously = yes, and it needs func_env.so: the check cannot tell.
    return (
        f"cannot tell whether safe_harbour sound {name!r} is in {_sound_names(sounds, name)}: "
        f"Asterisk refuses STAT() over AMI; set sounds_dir to where the dialer can read {sounds}"
    )
