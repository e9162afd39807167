"""Customer search patterns: `?` is exactly one character, `*` one or more.

A pattern matches a whole field (case-insensitive for ASCII letters, as SQLite's LIKE):
`Sm*` finds names starting with Sm, `Smith` only Smith. Every other character matches
itself, `%`, `_` and `\\` included. Pure: no I/O.
"""

from __future__ import annotations

ESCAPE = "\\"
MAX_PATTERN = 100


class BadPattern(ValueError):
    pass


def to_like(pattern: str) -> str:
    """The LIKE pattern (used with ESCAPE '\\') matching what `pattern` means."""
    if not pattern:
        raise BadPattern("must not be empty")
    if len(pattern) > MAX_PATTERN:
        raise BadPattern(f"must be at most {MAX_PATTERN} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in pattern):
        raise BadPattern("must not hold control characters")
    out: list[str] = []
    for char in pattern:
        if char == "?":
            out.append("_")
        elif char == "*":
            out.append("_%")
        elif char in (ESCAPE, "%", "_"):
            out.append(ESCAPE + char)
        else:
            out.append(char)
    return "".join(out)


def like_prefix(like: str) -> str:
    """The literal text every match of a LIKE pattern (from to_like) starts with: lets a
    search on an indexed column read only that range."""
    out: list[str] = []
    chars = iter(like)
    for char in chars:
        if char == ESCAPE:
            out.append(next(chars, ""))
        elif char in ("_", "%"):
            break
        else:
            out.append(char)
    return "".join(out)
