"""What `pbx-dialer check` compares an Asterisk with: the shipped dialplan and actions."""

from __future__ import annotations

import re
from pathlib import Path

from pbx_dialer.ami import actions
from pbx_dialer.ami.wiring import (
    CHECK_SOUND_CONTEXT,
    SHIPPED_DIALPLAN,
    needed_contexts,
    shipped_contexts,
)
from pbx_dialer.config import PbxSettings

ACTIONS_PY = Path(actions.__file__)


def _shipped() -> dict[str, set[str]]:
    return shipped_contexts(SHIPPED_DIALPLAN.read_text(encoding="utf-8"))


def test_every_shipped_context_is_dialer_prefixed() -> None:
    # Asterisk merges contexts of the same name from any included file with only a
    # warning: a name only the dialer uses keeps the admin's own contexts out of ours.
    contexts = _shipped()
    assert contexts, "no context parsed"
    assert [name for name in contexts if not name.startswith("dialer-")] == []


def test_the_shipped_contexts_and_their_extensions_are_read() -> None:
    contexts = _shipped()
    assert contexts["dialer-connect"] == {"s", "missing", "i"}
    assert contexts["dialer-outbound"] == {"_X.", "_+X."}
    assert contexts["dialer-message"] == {"s", "message", "machine", "transfer"}
    assert contexts[CHECK_SOUND_CONTEXT] == {"s"}
    for name in ("dialer-agent", "dialer-agent-first", "dialer-queue-prio", "dialer-preview"):
        assert "s" in contexts[name]


def test_dialer_outbound_is_needed_only_when_the_template_uses_it() -> None:
    contexts = _shipped()
    direct = needed_contexts(PbxSettings(dial_template="PJSIP/{number}@trunk"), contexts)
    assert "dialer-outbound" not in direct and "dialer-outbound-dial" not in direct
    assert "dialer-connect" in direct
    through = PbxSettings(dial_template="Local/{number}@dialer-outbound", trunk="PJSIP/t")
    assert set(needed_contexts(through, contexts)) == set(contexts)


def test_sent_lists_every_action_the_builders_make() -> None:
    built = set(re.findall(r'"Action": "(\w+)"', ACTIONS_PY.read_text(encoding="utf-8")))
    assert built == set(actions.SENT)
