"""Five interleaved calls over real SIP, replayed through the pure call tracker.

The session (tests/fixtures/ami/sip_trunk_mix.json, recorded from the SIP rig with
`python -m pbx_dialer.testing.record_sip_fixtures tests/fixtures/ami`): five calls
placed at once with the dialer's AMI user; on the direct trunk a 486, a 404 and a
customer who answers and hangs up after 3 s; through `[dialer-outbound]` (no /n) a
customer who answers and talks 4 s (the Local channel optimised away at the agent's
connect) and a 503. Two sipp agent phones answer 1 s after they ring. The events of the
five interleave; every one of them must end once, as the network said, with the times
the trunk's own log gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pbx_dialer.ami.messages import AmiEvent, event_from_json
from pbx_dialer.ami.tracker import CallTracker
from pbx_dialer.calls import CallConnected, CallEnded, CallEvent, TechResult

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ami" / "sip_trunk_mix.json"


def session() -> tuple[dict[str, Any], list[AmiEvent]]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data, [event_from_json(e) for e in data["events"]]


def replay(events: list[AmiEvent], attempts: list[dict[str, Any]]) -> list[CallEvent]:
    tracker = CallTracker()
    for a in attempts:
        tracker.track(a["attempt_id"], a["channel_id"], a["placed_at"])
    out: list[CallEvent] = []
    for event in events:
        out.extend(tracker.feed(event))
    assert tracker.live_count() == 0, "every call of the session must be settled"
    return out


def test_five_interleaved_sip_calls_end_as_the_network_said() -> None:
    data, events = session()
    out = replay(events, data["attempts"])
    ends = {e.attempt_id: e for e in out if isinstance(e, CallEnded)}
    assert len(ends) == 5 and len([e for e in out if isinstance(e, CallEnded)]) == 5
    outcome = {i: (e.result, e.cause_code, e.sip_status) for i, e in ends.items()}
    assert outcome[1] == (TechResult.BUSY, 17, 486)
    assert outcome[2] == (TechResult.INVALID, 1, 404)
    assert outcome[5] == (TechResult.CONGESTION, 34, 503)
    assert outcome[3][0] is outcome[4][0] is TechResult.SUCCESS

    number = {a["attempt_id"]: a["number"] for a in data["attempts"]}
    connected = {e.attempt_id: e.at for e in out if isinstance(e, CallConnected)}
    for attempt_id in (3, 4):
        trunk = data["trunk"][number[attempt_id]]
        end = ends[attempt_id]
        # The call ends when the customer's own leg does, also when the Local channel
        # that dialed it went away at the agent's connect (attempt 4).
        assert abs(end.at - trunk["ended_at"]) < 0.1, (attempt_id, end, trunk)
        assert end.talk_s is not None
        assert abs(end.talk_s - (trunk["ended_at"] - connected[attempt_id])) < 0.1
        assert end.talk_s > 1.0, "not the moment the Local channel went away"
        assert end.ring_s is not None
        assert abs(end.ring_s - (trunk["answered_at"] - trunk["invite_at"])) < 0.1
