"""The failing-campaign rule: the last N endings all failed the same way within a window."""

from __future__ import annotations

import pytest

from pbx_dialer.calls import TechResult
from pbx_dialer.dialing.failures import ALERT_AFTER, ALERT_WINDOW_S, Ending, FailureWatch

CONGESTION = TechResult.CONGESTION


def congestion(at: float, cause: int | None = 34, sip: int | None = None) -> Ending:
    return Ending(at, CONGESTION, cause_code=cause, sip_status=sip)


def test_defaults_are_ten_calls_in_five_minutes() -> None:
    assert (ALERT_AFTER, ALERT_WINDOW_S) == (10, 300.0)
    watch = FailureWatch()
    assert [watch.heard(1, congestion(100.0 + i)) for i in range(9)] == [None] * 9
    alert = watch.heard(1, congestion(109.0))
    assert alert is not None
    assert (alert.result, alert.cause_code, alert.calls) == (CONGESTION, 34, 10)
    assert alert.text == (
        "paused: the last 10 calls all failed the same way (CONGESTION, cause 34) "
        "within 5 minutes — check the trunk and dialplan"
    )


def test_one_alert_per_run_then_the_count_starts_again() -> None:
    watch = FailureWatch(calls=3)
    found = [watch.heard(1, congestion(float(i))) for i in range(6)]
    assert [a is not None for a in found] == [False, False, True, False, False, True]


@pytest.mark.parametrize(
    "working",
    [
        Ending(5.0, TechResult.BUSY),
        Ending(5.0, TechResult.NOANSWER),
        Ending(5.0, TechResult.SUCCESS, answered=True),
        Ending(5.0, TechResult.MACHINE, answered=True),
        # Answered, then failed: the line reached someone, so it works.
        Ending(5.0, TechResult.FAILED, cause_code=34, answered=True),
    ],
    ids=["busy", "noanswer", "success", "machine", "answered-failed"],
)
def test_a_working_line_in_between_resets_the_count(working: Ending) -> None:
    watch = FailureWatch(calls=3)
    assert watch.heard(1, congestion(1.0)) is None
    assert watch.heard(1, congestion(2.0)) is None
    assert watch.heard(1, working) is None
    assert watch.heard(1, congestion(6.0)) is None
    assert watch.heard(1, congestion(7.0)) is None
    assert watch.heard(1, congestion(8.0)) is not None


def test_only_the_same_result_and_cause_count() -> None:
    watch = FailureWatch(calls=3)
    assert watch.heard(1, congestion(1.0, cause=34)) is None
    assert watch.heard(1, congestion(2.0, cause=34)) is None
    # Another cause breaks the run and starts a new one.
    assert watch.heard(1, congestion(3.0, cause=38)) is None
    assert watch.heard(1, Ending(4.0, TechResult.FAILED, cause_code=38)) is None
    assert watch.heard(1, Ending(5.0, TechResult.FAILED, cause_code=38)) is None
    assert watch.heard(1, Ending(6.0, TechResult.FAILED, cause_code=38)) is not None


def test_no_cause_code_is_a_way_of_its_own_and_is_said_so() -> None:
    watch = FailureWatch(calls=2)
    assert watch.heard(1, Ending(1.0, TechResult.FAILED)) is None
    assert watch.heard(1, Ending(2.0, TechResult.FAILED, cause_code=0)) is None
    assert watch.heard(1, Ending(3.0, TechResult.FAILED, cause_code=0)) is not None
    assert watch.heard(1, Ending(4.0, TechResult.FAILED)) is None
    alert = watch.heard(1, Ending(5.0, TechResult.FAILED))
    assert alert is not None and alert.cause_code is None
    assert "(FAILED, no cause code)" in alert.text


def test_the_sip_status_is_told_when_all_had_the_same() -> None:
    watch = FailureWatch(calls=2, window_s=90)
    assert watch.heard(1, Ending(1.0, TechResult.INVALID, 1, 404)) is None
    alert = watch.heard(1, Ending(2.0, TechResult.INVALID, 1, 404))
    assert alert is not None and alert.sip_status == 404
    assert "(INVALID, cause 1, SIP 404) within 90 seconds" in alert.text
    assert watch.heard(1, Ending(3.0, TechResult.INVALID, 1, 404)) is None
    mixed = watch.heard(1, Ending(4.0, TechResult.INVALID, 1, 410))
    assert mixed is not None and mixed.sip_status is None and "SIP" not in mixed.text


def test_interleaved_campaigns_are_counted_apart() -> None:
    watch = FailureWatch(calls=3)
    # Campaign 1 fails; campaign 2 works in between: neither disturbs the other.
    assert watch.heard(1, congestion(1.0)) is None
    assert watch.heard(2, Ending(1.5, TechResult.BUSY)) is None
    assert watch.heard(1, congestion(2.0)) is None
    assert watch.heard(2, congestion(2.5)) is None
    alert = watch.heard(1, congestion(3.0))
    assert alert is not None
    assert watch.heard(2, congestion(3.5)) is None
    assert watch.heard(2, congestion(4.0)) is not None


def test_the_window_slides() -> None:
    watch = FailureWatch(calls=3, window_s=60)
    assert watch.heard(1, congestion(0.0)) is None
    assert watch.heard(1, congestion(50.0)) is None
    # 0..70 is wider than 60 s: no alert yet, the first one slides out.
    assert watch.heard(1, congestion(70.0)) is None
    # 50..100 fits.
    assert watch.heard(1, congestion(100.0)) is not None


def test_a_watch_needs_a_count_and_a_window() -> None:
    with pytest.raises(ValueError, match="at least one call"):
        FailureWatch(calls=0)
    with pytest.raises(ValueError, match="positive window"):
        FailureWatch(window_s=0)
