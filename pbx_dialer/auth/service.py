"""Log-in, sessions, API tokens and user management: the logic behind http/auth.py
and http/users.py. No transport here: callers pass what they read from the request."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pbx_dialer.auth import passwords
from pbx_dialer.auth.model import Role, User
from pbx_dialer.auth.throttle import LoginThrottle
from pbx_dialer.storage import users as user_rows
from pbx_dialer.storage.db import Database
from pbx_dialer.storage.users import UserRecord

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

    async def update_user(
        self, user_id: int, changes: dict[str, Any], actor_id: int | None = None
    ) -> UserRecord:
        """Applies parsed changes (auth/forms.py): role, profile, privilege, agent
        interface, display name, disabled. The last enabled admin stays one, and an
        admin (`actor_id`) cannot disable or demote themselves."""
        current = await user_rows.get(self.db, user_id)
        if current is None:
            raise UserNotFound(f"no user {user_id}")
        user = current.user
        role = changes.get("role", user.role)
        disabled = changes.get("disabled", current.disabled)
        if actor_id == user_id and (disabled or role is not user.role):
            raise LastAdmin("you cannot disable your own account or change your own role")
        interface = changes.get("agent_interface", user.agent_interface)
        if role is Role.AGENT and not interface:
            raise UserRefused({"agent_interface": "is required for the agent role"})
        was_admin = user.role is Role.ADMIN and not current.disabled
        demoted = was_admin and (role is not Role.ADMIN or disabled)
        if demoted and await user_rows.count_active_admins(self.db) <= 1:
            raise LastAdmin("the last enabled admin cannot be disabled or given another role")
        columns: dict[str, Any] = {}
        for name in ("display_name", "agent_interface"):
            if name in changes:
                columns[name] = changes[name]
        if "role" in changes:
            columns["role"] = role.value
        for flag in ("all_campaigns", "may_list_campaigns"):
            if flag in changes:
                columns[flag] = int(changes[flag])
        ids = changes.get("campaign_ids")
        if "campaign_ids" in changes and "all_campaigns" not in changes:
            columns["all_campaigns"] = 0  # listing campaigns means: only these
        if role is Role.ADMIN:
            # An admin may do everything: a profile or privilege would not hold anyway.
            columns["all_campaigns"] = columns["may_list_campaigns"] = 1
        now = self.clock()
        await user_rows.update(self.db, user_id, columns, ids, now)
        if "disabled" in changes and disabled != current.disabled:
            await user_rows.set_disabled(self.db, user_id, disabled, now)
        found = await user_rows.get(self.db, user_id)
        assert found is not None
        return found

    async def add_user(self, fields: dict[str, Any]) -> UserRecord:
        """A new user from parsed fields (auth/forms.py, creating=True)."""
        role: Role = fields["role"]
        interface = fields.get("agent_interface")
        if role is Role.AGENT and not interface:
            raise UserRefused({"agent_interface": "is required for the agent role"})
        ids: frozenset[int] = fields.get("campaign_ids", frozenset())
        user = User(
            id=0,
            username=fields["username"],
            role=role,
            all_campaigns=role is Role.ADMIN
            or fields.get("all_campaigns", "campaign_ids" not in fields),
            campaign_ids=ids,
            may_list_campaigns=role is Role.ADMIN or fields.get("may_list_campaigns", True),
            agent_interface=interface,
            display_name=fields.get("display_name", ""),
        )
        user_id = await self.create_user(user, fields["password"])
        if fields.get("disabled"):
            await user_rows.set_disabled(self.db, user_id, True, self.clock())
        found = await user_rows.get(self.db, user_id)
        assert found is not None
        return found


class UserNotFound(LookupError):
    pass


class LastAdmin(Exception):
    pass


class UserRefused(ValueError):
    """Settings that do not go together; `fields` names them."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid user settings")
        self.fields = fields
