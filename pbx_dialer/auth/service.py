"""Log-in, sessions, API tokens and user management: the logic behind http/auth.py
and http/users.py. No transport here: callers pass what they read from the request."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from pbx_dialer.auth import passwords
from pbx_dialer.auth.model import User
from pbx_dialer.auth.throttle import LoginThrottle
from pbx_dialer.storage import users as user_rows
from pbx_dialer.storage.db import Database

# last_seen is written at most this often per session: not one write per request.
TOUCH_EVERY_S = 60.0
TOKEN_PREFIX = "pbxt_"


class LoginRefused(Exception):
    """The same words for an unknown user, a wrong password and a disabled account."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


WRONG = "wrong username or password"


@dataclass(frozen=True)
class Session:
    token: str  # the cookie's value; only its digest is stored
    user: User
    csrf_token: str


class AuthService:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], float],
        lifetime_s: float,
        idle_s: float,
    ) -> None:
        self.db = db
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.idle_s = idle_s
        self.throttle = LoginThrottle()

    # Log-in and sessions

    async def log_in(
        self, username: str, password: str, address: str, old_token: str | None = None
    ) -> Session:
        now = self.clock()
        wait = self.throttle.locked_for(username, address, now)
        if wait > 0:
            minutes = max(1, round(wait / 60))
            raise LoginRefused(
                f"too many failed log-ins; try again in {minutes} min", retry_after=wait
            )
        found = await user_rows.for_login(self.db, username)
        stored = found[1] if found is not None else passwords.DUMMY_HASH
        # The slow hash runs off the event loop; an unknown user costs the same time.
        ok = await asyncio.to_thread(passwords.verify_password, password, stored)
        if found is None or not ok or found[0].disabled:
            self.throttle.failed(username, address, now)
            raise LoginRefused(WRONG)
        self.throttle.succeeded(username, now)
        # A new session id at each log-in: a session id planted before it is worthless.
        if old_token:
            await user_rows.delete_session(self.db, passwords.token_digest(old_token))
        return await self.open_session(found[0].user)

    async def open_session(self, user: User) -> Session:
        now = self.clock()
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        await user_rows.add_session(
            self.db, passwords.token_digest(token), user.id, csrf, now, now + self.lifetime_s
        )
        return Session(token, user, csrf)

    async def session(self, token: str) -> Session | None:
        """The live session of a cookie value, or None (unknown, expired, idle too long,
        user disabled)."""
        digest = passwords.token_digest(token)
        found = await user_rows.session(self.db, digest)
        if found is None:
            return None
        now = self.clock()
        if now >= found.expires_at or now - found.last_seen >= self.idle_s:
            await user_rows.delete_session(self.db, digest)
            return None
        if now - found.last_seen >= TOUCH_EVERY_S:
            await user_rows.touch_session(self.db, digest, now)
        return Session(token, found.user, found.csrf_token)

    async def log_out(self, token: str) -> None:
        await user_rows.delete_session(self.db, passwords.token_digest(token))

    @staticmethod
    def csrf_ok(session: Session, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(
            session.csrf_token.encode(), presented.encode()
        )

    # API tokens for scripts

    async def new_token(self, user_id: int, name: str) -> tuple[int, str]:
        """A new API token; the token itself is shown once and never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = await user_rows.add_token(
            self.db, passwords.token_digest(token), user_id, name, self.clock()
        )
        return token_id, token

    async def token_user(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        return await user_rows.token_user(self.db, passwords.token_digest(token))

    # Users

    async def create_user(self, user: User, password: str) -> int:
        passwords.check_strength(password)
        hashed = await asyncio.to_thread(passwords.hash_password, password)
        return await user_rows.create(self.db, user, hashed, self.clock())

    async def set_password(self, user_id: int, password: str) -> bool:
        passwords.check_strength(password)
        hashed = await asyncio.to_thread(passwords.hash_password, password)
        return await user_rows.set_password(self.db, user_id, hashed, self.clock())
