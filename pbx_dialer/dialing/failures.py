"""A campaign whose calls all fail the same way: a wrongly wired trunk or dialplan makes
every attempt CONGESTION, FAILED or INVALID, and the dialer would go on dialing nobody.

Pure: it hears each ended attempt of a campaign (the caller gives its time) and says when
the last ALERT_AFTER endings all failed the same way within ALERT_WINDOW_S. What happens
then (the pause, the history, the pages) is the dial loop's business.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pbx_dialer.calls import TechResult

# The last this many ended attempts of a campaign...
ALERT_AFTER = 10
# ...ended within this many seconds, all in the same failing way: the campaign pauses.
ALERT_WINDOW_S = 300.0
# Results that reach nobody. Anything else (an answered call, BUSY, NOANSWER) shows a
# working line and starts the count again.
FAILING = frozenset({TechResult.FAILED, TechResult.CONGESTION, TechResult.INVALID})


@dataclass(frozen=True, slots=True)
class Ending:
    """One ended attempt, as the watch needs it."""

    at: float
    result: TechResult
    cause_code: int | None = None
    sip_status: int | None = None
    answered: bool = False


@dataclass(frozen=True, slots=True)
class FailureAlert:
    """The last `calls` attempts all ended `result` with `cause_code` within `window_s`."""

    result: TechResult
    cause_code: int | None
    # The SIP final response when all of them had the same one, else None.
    sip_status: int | None
    calls: int
    window_s: float

    @property
    def text(self) -> str:
        how = [self.result.value]
        how.append("no cause code" if self.cause_code is None else f"cause {self.cause_code}")
        if self.sip_status is not None:
            how.append(f"SIP {self.sip_status}")
        return (
            f"paused: the last {self.calls} calls all failed the same way ({', '.join(how)}) "
            f"within {_duration(self.window_s)} — check the trunk and dialplan"
        )


class FailureWatch:
    """Per campaign, the current run of endings that failed the same way."""

    def __init__(self, calls: int = ALERT_AFTER, window_s: float = ALERT_WINDOW_S) -> None:
        if calls < 1 or window_s <= 0:
            raise ValueError("the watch needs at least one call and a positive window")
        self.calls = calls
        self.window_s = window_s
        self._runs: dict[int, deque[Ending]] = {}

    def heard(self, campaign_id: int, ending: Ending) -> FailureAlert | None:
        """Take one ended attempt; an alert when it completes a run of failures."""
        if ending.answered or ending.result not in FAILING:
            self._runs.pop(campaign_id, None)
            return None
        run = self._runs.get(campaign_id)
        if run is None or _way(run[-1]) != _way(ending):
            # A different failure breaks the run: only one way of failing counts.
            run = self._runs[campaign_id] = deque(maxlen=self.calls)
        run.append(ending)
        if len(run) < self.calls:
            return None
        times = [one.at for one in run]
        if max(times) - min(times) > self.window_s:
            return None  # the oldest slides out as the next one comes
        del self._runs[campaign_id]  # one alert per run; after it the count starts again
        statuses = {one.sip_status for one in run}
        return FailureAlert(
            result=ending.result,
            cause_code=ending.cause_code,
            sip_status=statuses.pop() if len(statuses) == 1 else None,
            calls=self.calls,
            window_s=self.window_s,
        )


def _way(ending: Ending) -> tuple[TechResult, int | None]:
    return ending.result, ending.cause_code


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"
