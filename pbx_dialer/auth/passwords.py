"""Password hashing: scrypt (stdlib) with a salt per user, compared in constant time.

The stored form names its parameters ("scrypt$n$r$p$salt$hash") so that they can be
raised later without invalidating the passwords already stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

# About 50 ms and 16 MB per hash on a small server: slow for a guesser, fine for a log-in.
N, R, P = 2**14, 8, 1
_DKLEN = 32
_MAXMEM = 64 * 1024 * 1024
MIN_LENGTH = 10
MAX_LENGTH = 1024


class WeakPassword(ValueError):
    """The password is refused; the message says why."""


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"must be at most {MAX_LENGTH} characters")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_DKLEN
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        actual = _derive(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# Checked against when the username is unknown, so that an unknown user costs as much
# time as a wrong password and the answer's timing does not tell which it was.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def token_digest(token: str) -> str:
    """Session and API tokens are long random strings: a plain SHA-256 is enough to
    store them so that a copy of the database does not hold usable tokens."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
