"""Password hashing, token digests and the log-in throttle (pure)."""

from __future__ import annotations

import pytest

from pbx_dialer.auth import passwords
from pbx_dialer.auth.throttle import ADDRESS_FAILURES, LOCK_S, USER_FAILURES, LoginThrottle


def test_a_hash_verifies_its_password_only_and_is_salted() -> None:
    first = passwords.hash_password("correct horse battery")
    second = passwords.hash_password("correct horse battery")
    assert first != second, "each hash has its own salt"
    assert first.startswith(f"scrypt${passwords.N}${passwords.R}${passwords.P}$")
    assert passwords.verify_password("correct horse battery", first)
    assert passwords.verify_password("correct horse battery", second)
    assert not passwords.verify_password("correct horse batterY", first)
    assert "correct horse" not in first


@pytest.mark.parametrize("stored", ["", "plain", "md5$x$y$z$00$00", "scrypt$a$b$c$zz$00"])
def test_a_malformed_stored_hash_never_verifies(stored: str) -> None:
    assert not passwords.verify_password("anything at all", stored)


def test_the_dummy_hash_matches_no_password_we_would_guess() -> None:
    assert not passwords.verify_password("", passwords.DUMMY_HASH)
    assert not passwords.verify_password("password123", passwords.DUMMY_HASH)


def test_strength_rules_name_the_limit() -> None:
    with pytest.raises(passwords.WeakPassword, match="at least 10"):
        passwords.check_strength("short")
    with pytest.raises(passwords.WeakPassword, match="at most"):
        passwords.check_strength("x" * (passwords.MAX_LENGTH + 1))
    passwords.check_strength("long enough pass")


def test_token_digest_is_stable_and_not_the_token() -> None:
    digest = passwords.token_digest("abc")
    assert digest == passwords.token_digest("abc")
    assert digest != passwords.token_digest("abd")
    assert "abc" not in digest and len(digest) == 64


def test_a_username_locks_after_repeated_failures_then_unlocks() -> None:
    throttle = LoginThrottle()
    now = 1000.0
    for i in range(USER_FAILURES - 1):
        throttle.failed("Alice", f"10.0.0.{i}", now + i)
        assert throttle.locked_for("alice", "10.0.0.99", now + i) == 0
    throttle.failed("ALICE", "10.0.0.50", now + USER_FAILURES)
    # Case does not matter, and another address does not help.
    wait = throttle.locked_for("alice", "10.0.0.99", now + USER_FAILURES)
    assert wait == pytest.approx(LOCK_S)
    assert throttle.locked_for("bob", "10.0.0.99", now + USER_FAILURES) == 0
    assert throttle.locked_for("alice", "10.0.0.99", now + USER_FAILURES + LOCK_S) == 0


def test_a_success_clears_the_username_but_not_the_address() -> None:
    throttle = LoginThrottle()
    for i in range(USER_FAILURES - 1):
        throttle.failed("carol", "192.0.2.1", float(i))
    throttle.succeeded("carol", 10.0)
    throttle.failed("carol", "192.0.2.1", 11.0)
    assert throttle.locked_for("carol", "192.0.2.2", 11.0) == 0


def test_one_address_spraying_many_usernames_is_locked() -> None:
    throttle = LoginThrottle()
    for i in range(ADDRESS_FAILURES):
        throttle.failed(f"user{i}", "198.51.100.7", float(i))
    assert throttle.locked_for("someone-new", "198.51.100.7", 40.0) > 0
    assert throttle.locked_for("someone-new", "198.51.100.8", 40.0) == 0


def test_old_failures_fall_out_of_the_window() -> None:
    throttle = LoginThrottle()
    for i in range(USER_FAILURES - 1):
        throttle.failed("dave", "203.0.113.1", float(i))
    throttle.failed("dave", "203.0.113.1", 10_000.0)
    assert throttle.locked_for("dave", "203.0.113.1", 10_000.0) == 0
