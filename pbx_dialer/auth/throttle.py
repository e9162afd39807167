"""Log-in throttling: repeated failures lock a username (known or not) and slow down
one client address. Pure: it takes `now` and keeps its counts in memory."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# Failures within WINDOW_S that lock a username, and for how long.
USER_FAILURES = 5
# A whole office may share one address: its limit is higher.
ADDRESS_FAILURES = 30
WINDOW_S = 15 * 60.0
LOCK_S = 15 * 60.0


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(self) -> None:
        self._by_key: dict[str, _Failures] = {}

    @staticmethod
    def _keys(username: str, address: str) -> list[tuple[str, int]]:
        return [
            (f"user:{username.casefold()}", USER_FAILURES),
            (f"addr:{address}", ADDRESS_FAILURES),
        ]

    def locked_for(self, username: str, address: str, now: float) -> float:
        """Seconds until a log-in may be tried again (0: now)."""
        wait = 0.0
        for key, _limit in self._keys(username, address):
            entry = self._by_key.get(key)
            if entry is not None:
                wait = max(wait, entry.locked_until - now)
        return max(wait, 0.0)

    def failed(self, username: str, address: str, now: float) -> None:
        for key, limit in self._keys(username, address):
            entry = self._by_key.setdefault(key, _Failures())
            entry.times.append(now)
            while entry.times and entry.times[0] <= now - WINDOW_S:
                entry.times.popleft()
            if len(entry.times) >= limit:
                entry.locked_until = now + LOCK_S
                entry.times.clear()
        self._forget_old(now)

    def succeeded(self, username: str, now: float) -> None:
        """A right password clears the username's failures (not the address's)."""
        self._by_key.pop(f"user:{username.casefold()}", None)

    def _forget_old(self, now: float) -> None:
        # Keeps memory bounded when someone sprays many usernames.
        if len(self._by_key) < 10_000:
            return
        for key, entry in list(self._by_key.items()):
            if entry.locked_until <= now and (not entry.times or entry.times[-1] <= now - WINDOW_S):
                del self._by_key[key]
