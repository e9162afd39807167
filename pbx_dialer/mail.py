"""Email through the configured SMTP server (reminders about suspended campaigns)."""

from __future__ import annotations

import asyncio
import re
import smtplib
from email.message import EmailMessage

from pbx_dialer.config import SmtpSettings

# One address, no display name, nothing that could add a header.
_ADDRESS_RE = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}\.?[A-Za-z0-9-]*\Z")


class MailError(Exception):
    pass


def valid_address(address: str) -> bool:
    return bool(_ADDRESS_RE.match(address)) and "\n" not in address and "\r" not in address


def _send(settings: SmtpSettings, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"SMTP {settings.host}:{settings.port}: {exc}") from None


async def send_mail(settings: SmtpSettings, to: str, subject: str, body: str) -> None:
    if not settings.host:
        raise MailError("no SMTP server configured ([smtp] host)")
    if not valid_address(to):
        raise MailError(f"not an email address: {to!r}")
    message = EmailMessage()
    message["From"] = settings.from_addr
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    # smtplib blocks; a slow mail server must not stall the dialer.
    await asyncio.to_thread(_send, settings, message)
