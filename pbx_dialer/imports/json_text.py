"""JSON string encoding without json.dumps' per-call overhead (a million rows add up)."""

from __future__ import annotations

import json.encoder
from collections.abc import Callable

# The C encoder behind json.dumps(..., ensure_ascii=False) for one string.
encode_string: Callable[[str], str] = json.encoder.encode_basestring
