"""Sending one mail over SMTP (stdlib smtplib; blocking, so callers use a thread).

Failures are sorted into permanent (the server answered 5xx: the same mail will be refused
again) and transient (4xx, timeouts, connection errors: worth retrying later).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from ..settings import NotifySettings

__all__ = ["MailDeliveryError", "OutgoingMessage", "SmtpMailer", "build_message", "message_id_for"]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    email_id: str
    to_address: str
    to_name: str | None
    subject: str
    body: str


class MailDeliveryError(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def message_id_for(email_id: str, mail_from: str) -> str:
    """``<email id@sender domain>``: the same row always yields the same Message-ID, so a mail
    re-sent after a crash between sending and marking is recognisable as a duplicate."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "ruralfund.local"
    return f"<{email_id}@{domain}>"


def build_message(m: OutgoingMessage, *, mail_from: str, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = formataddr((m.to_name, m.to_address)) if m.to_name else m.to_address
    msg["Subject"] = m.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id_for(m.email_id, mail_from)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer
    msg.set_content(m.body, charset="utf-8")
    return msg


class SmtpMailer:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage, to_address: str) -> None:
        """Deliver one message (blocking). Raises MailDeliveryError."""
        s = self.settings
        try:
            with self._connect() as smtp:
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_user is not None and s.smtp_password is not None:
                    smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
                smtp.send_message(message, from_addr=s.mail_from_address, to_addrs=[to_address])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise MailDeliveryError(
                f"recipient refused: {exc.recipients}", permanent=all(c >= 500 for c in codes)
            ) from exc
        except smtplib.SMTPDataError as exc:  # the server refused this message's content
            raise MailDeliveryError(
                f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # Refused login or sender is our configuration, not this mail: retry, an operator
            # can fix it before the attempts run out.
            raise MailDeliveryError(
                f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}", permanent=False
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailDeliveryError(f"SMTP unavailable: {exc!r}", permanent=False) from exc

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_ssl:
            return smtplib.SMTP_SSL(
                s.smtp_host,
                s.smtp_port,
                timeout=s.smtp_timeout_seconds,
                context=ssl.create_default_context(),
            )
        return smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)


def _text(smtp_error: bytes | str) -> str:
    return smtp_error.decode(errors="replace") if isinstance(smtp_error, bytes) else str(smtp_error)
