"""The outcome of an unanswered call from what the network said, and the README's table
of it: the table is the code's (every row a test of the mapping)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pbx_dialer.ami import causes
from pbx_dialer.calls import TechResult

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_rows(kind: str) -> dict[int, str]:
    rows = {}
    for line in README.read_text().splitlines():
        found = re.match(rf"^\| {re.escape(kind)} (\d+) [^|]*\|[^|]*\| ([A-Z]+) \|$", line)
        if found:
            rows[int(found.group(1))] = found.group(2)
    return rows


def test_the_readme_table_is_the_sip_mapping() -> None:
    documented = readme_rows("SIP")
    assert documented == {k: v.value for k, v in causes.SIP_RESULTS.items()}
    for status, result in documented.items():
        assert causes.unanswered_result(
            far_sip=status, far_cause=None, own_cause=None, reason="0"
        ) is TechResult(result)


def test_the_readme_table_is_the_q850_mapping() -> None:
    documented = readme_rows("Q.850")
    assert documented == {k: v.value for k, v in causes.CAUSE_RESULTS.items()}
    for cause, result in documented.items():
        assert causes.unanswered_result(
            far_sip=None, far_cause=cause, own_cause=None, reason="0"
        ) is TechResult(result)


@pytest.mark.parametrize(
    ("status", "result"),
    [(403, TechResult.FAILED), (488, TechResult.FAILED), (599, TechResult.CONGESTION),
     (606, TechResult.FAILED)],
)  # fmt: skip
def test_other_sip_errors_are_the_trunk_or_the_network_not_the_person(
    status: int, result: TechResult
) -> None:
    # 403 maps to Q.850 21 "call rejected", which alone would read as a person declining.
    assert (
        causes.unanswered_result(far_sip=status, far_cause=21, own_cause=21, reason="0") is result
    )


def test_the_dialers_own_cancel_defers_to_its_own_channel() -> None:
    assert (
        causes.unanswered_result(far_sip=487, far_cause=127, own_cause=19, reason="3")
        is TechResult.NOANSWER
    )


def test_without_any_cause_the_reason_decides() -> None:
    for reason, result in causes.REASON_RESULTS.items():
        assert (
            causes.unanswered_result(far_sip=None, far_cause=16, own_cause=0, reason=reason)
            is result
        )
    assert causes.unanswered_result(far_sip=None, far_cause=None, own_cause=None, reason="1") is (
        TechResult.NOANSWER
    )
