"""The email channel: aiosmtplib, one SMTP connection per message.

Only sends (customers' replies by email are not read here). A Reply is rendered
as text/plain with `reply_as_text`. Errors are sorted by whether retrying can
help: a 5xx refusal of the recipient or of the message is permanent; anything
that affects every message (cannot connect, timed out, authentication or
sender refused: a configuration problem someone will fix) is transient, so a
wrong password delays follow-ups instead of failing them all for good.
"""

import logging
import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from channels.base import ChannelTraits, DeliveryError, OutgoingMessage, SendResult
from channels.render import reply_as_text

logger = logging.getLogger(__name__)

ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ENHANCED = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")
SUBJECT_PREFIX = {"reminder": "Reminder: ", "notice": "Rapport: "}


def _status(code: int, message: str) -> str:
    """`550 5.1.1` without the server's free text (which often repeats the address)."""
    enhanced = ENHANCED.search(message or "")
    return f"{code} {enhanced.group(0)}" if enhanced else str(code)


class EmailChannel:
    name = "email"
    # SMTP accepting a message is not the reader getting it, hence no delivery confirmation.
    traits = ChannelTraits(rep_rank=2, customer_rank=1, by_email=True, sends_files=True)

    def __init__(
        self,
        host: str,
        port: int,
        user: str | None,
        password: str | None,
        sender: str,
        starttls: bool = True,
        *,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user or None
        self._password = password or None
        self.sender = sender
        self.starttls = starttls
        self.timeout = timeout

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def build(self, message: OutgoingMessage) -> EmailMessage:
        body = reply_as_text(message.reply)
        first_line = next((line for line in body.splitlines() if line.strip()), "Message")
        subject = message.meta.get("subject") or (
            SUBJECT_PREFIX.get(message.kind, "") + first_line.strip()[:70]
        )
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.address.chat_id
        email["Subject"] = subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        if message.meta.get("followup_id") is not None:
            email["X-Rapport-Followup"] = str(message.meta["followup_id"])
        email.set_content(body)
        return email

    async def send(self, message: OutgoingMessage) -> SendResult:
        recipient = message.address.chat_id.strip()
        if not ADDRESS.match(recipient):
            raise DeliveryError("not an email address", permanent=True)
        email = self.build(message)
        implicit_tls = self.port == 465
        try:
            await aiosmtplib.send(
                email,
                sender=self.sender,
                recipients=[recipient],
                hostname=self.host,
                port=self.port,
                username=self.user,
                password=self._password,
                use_tls=implicit_tls,
                start_tls=False if implicit_tls else self.starttls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients] or [550]
            detail = _status(codes[0], exc.recipients[0].message if exc.recipients else "")
            raise DeliveryError(
                f"recipient refused ({detail})", permanent=all(c >= 500 for c in codes)
            ) from None
        except aiosmtplib.SMTPDataError as exc:
            raise DeliveryError(
                f"message refused ({_status(exc.code, exc.message)})", permanent=exc.code >= 500
            ) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            logger.error("smtp authentication failed host=%s code=%s", self.host, exc.code)
            raise DeliveryError(f"SMTP authentication failed ({exc.code})") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP error ({_status(exc.code, exc.message)})") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP unavailable ({type(exc).__name__})") from None
        logger.debug("email sent host=%s followup=%s", self.host, message.meta.get("followup_id"))
        return SendResult(delivered=True, external_id=email["Message-ID"])
