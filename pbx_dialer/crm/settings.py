"""The settings of a campaign's live feed, as the API gives them. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pbx_dialer.campaigns.model import ValidationError

MIN_POLL_S = 0.1
MAX_POLL_S = 86_400.0
MIN_TIMEOUT_S = 0.1
MAX_TIMEOUT_S = 60.0
MAX_URL = 2000
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_FIELDS = {"url", "poll_s", "timeout_s", "cursor"}


@dataclass(frozen=True, slots=True)
class FeedSettings:
    url: str
    poll_s: float = 30.0
    timeout_s: float = 10.0
    cursor: str | None = None  # None: keep the stored cursor (empty for a new feed)

    @classmethod
    def from_json(cls, data: Any) -> FeedSettings:
        """Raises ValidationError naming each bad field."""
        if not isinstance(data, dict):
            raise ValidationError({"body": "expected a JSON object"})
        errors: dict[str, str] = {k: "unknown field" for k in data if k not in _FIELDS}
        url = data.get("url")
        if url is None:
            errors["url"] = "is required"
        elif not isinstance(url, str):
            errors["url"] = "must be a string"
        elif problem := url_problem(url):
            errors["url"] = problem
        poll_s = _seconds(data, "poll_s", 30.0, MIN_POLL_S, MAX_POLL_S, errors)
        timeout_s = _seconds(data, "timeout_s", 10.0, MIN_TIMEOUT_S, MAX_TIMEOUT_S, errors)
        cursor = data.get("cursor")
        if cursor is not None and (
            not isinstance(cursor, str) or len(cursor) > 1000 or re.search(r"[\x00-\x1f]", cursor)
        ):
            errors["cursor"] = "must be a string of at most 1000 printable characters"
        if errors:
            raise ValidationError(errors)
        assert isinstance(url, str)
        return cls(url=url, poll_s=poll_s, timeout_s=timeout_s, cursor=cursor)


def url_problem(url: str) -> str:
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    if _CONTROL.search(url):
        return "must not hold spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
    if port == 0:
        return "must not use port 0"
    if parts.fragment:
        return "must not hold a #fragment"
    return ""


def _seconds(
    data: dict[str, Any],
    key: str,
    default: float,
    low: float,
    high: float,
    errors: dict[str, str],
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors[key] = "must be a number of seconds"
        return default
    if not low <= value <= high:
        errors[key] = f"must be between {low:g} and {high:g} seconds"
        return default
    return float(value)
