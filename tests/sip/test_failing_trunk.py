"""A campaign whose every number the SIP trunk refuses the same way (404 Not Found) is
paused with an alert that names the SIP response, and dials nothing more; and a trunk
that answers every call 503 the same. Counted from the trunk's own INVITE log."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pbx_dialer.testing.sip import SipRig, trunk_number
from tests.conftest import eventually
from tests.pbx.test_campaign_run import add_records, attempts_of, create_campaign

pytestmark = [pytest.mark.pbx, pytest.mark.sip]
Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [
        ("not_found", "(INVALID, cause 1, SIP 404)"),
        ("unavailable", "(CONGESTION, cause 34, SIP 503)"),
    ],
)
async def test_a_trunk_that_refuses_every_call_the_same_way_pauses_the_campaign(
    dialer: Client, sip_rig: SipRig, behaviour: str, said: str
) -> None:
    await sip_rig.add_to_queue("sales", 1)
    phones = [trunk_number(behaviour, n) for n in range(12)]
    campaign_id = await create_campaign(dialer, max_lines=1)
    await add_records(dialer, campaign_id, phones)
    assert (await dialer.post(f"/api/campaigns/{campaign_id}/play")).status == 200

    async def paused() -> bool:
        campaign = await (await dialer.get(f"/api/campaigns/{campaign_id}")).json()
        return bool(campaign["status"] == "paused")

    await eventually(paused, timeout=60)
    campaign = await (await dialer.get(f"/api/campaigns/{campaign_id}")).json()
    assert campaign["alert"] is not None, campaign
    assert said in campaign["alert"]["text"], campaign["alert"]
    attempts = await attempts_of(dialer, campaign_id)
    assert sorted(attempts) == sorted(phones[:10])
    # Ten INVITEs left, one per number, and none after the pause.
    assert sorted(c.number for c in sip_rig.trunk_calls()) == sorted(phones[:10])
