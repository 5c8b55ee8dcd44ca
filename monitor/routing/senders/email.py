"""E-mail over SMTP: one plain-text message per hand-off.

``url`` is ``smtp://host:port`` (optionally ``smtps://`` for implicit TLS); options: ``from``,
``to`` (an address or a list), ``starttls`` (bool), ``ca_file`` (a private CA for the relay's
certificate). ``COMPLAINTWATCH_DESTINATION_<NAME>_USERNAME``
and ``…_PASSWORD`` log in when set. The ``Message-ID`` is derived from the idempotency key, so a
message sent twice after a crash carries the same id and mail systems can drop the duplicate.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import urlsplit

from monitor.routing.senders.base import (
    DeliveryError,
    OutgoingMessage,
    PermanentDeliveryError,
    Receipt,
    destination_secret,
    option,
    summary_line,
    summary_text,
)
from monitor.settings import DestinationSettings

TIMEOUT_S = 30.0


def message_id(idempotency_key: str, domain: str = "complaintwatch.invalid") -> str:
    """The RFC 5322 Message-ID of the message with this idempotency key."""
    return f"<{idempotency_key}@{domain}>"


def build(destination: DestinationSettings, message: OutgoingMessage) -> EmailMessage:
    """The e-mail for one hand-off."""
    recipients = option(destination, "to", required=True)
    recipients = [recipients] if isinstance(recipients, str) else list(recipients)
    mail = EmailMessage()
    mail["From"] = str(option(destination, "from", required=True))
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = summary_line(message.payload)
    mail["Message-ID"] = message_id(
        message.idempotency_key, str(option(destination, "domain", "complaintwatch.invalid"))
    )
    mail["X-Complaintwatch-Idempotency-Key"] = message.idempotency_key
    mail.set_content(summary_text(message.payload))
    return mail


def send(destination: DestinationSettings, message: OutgoingMessage) -> Receipt:
    """Deliver the hand-off to the SMTP server of ``destination.url``."""
    if message.purpose != "handoff":
        raise PermanentDeliveryError(f"email destination {destination.name!r} only takes hand-offs")
    mail = build(destination, message)
    host, port, implicit_tls = _server(destination)
    tls = _tls_context(destination)
    username = destination_secret(destination, "username", required=False)
    password = destination_secret(destination, "password", required=False)
    try:
        client = (
            smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_S, context=tls)
            if implicit_tls
            else smtplib.SMTP(host, port, timeout=TIMEOUT_S)
        )
        with client:
            if option(destination, "starttls", False):
                client.starttls(context=tls)
            if username:
                client.login(username, password)
            refused = client.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        error = f"email {destination.name!r}: SMTP {exc.smtp_code} {exc.smtp_error!r}"
        raise (DeliveryError(error) if exc.smtp_code < 500 else PermanentDeliveryError(error)) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"email {destination.name!r}: {type(exc).__name__}: {exc}") from None
    if refused:
        raise PermanentDeliveryError(f"email {destination.name!r}: recipients refused: {sorted(refused)}")
    return Receipt(reference=str(mail["Message-ID"]))


def _tls_context(destination: DestinationSettings) -> ssl.SSLContext:
    ca_file = option(destination, "ca_file")
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise PermanentDeliveryError(
            f"email {destination.name!r}: cannot load ca_file {ca_file!r}: {exc}"
        ) from None


def _server(destination: DestinationSettings) -> tuple[str, int, bool]:
    parts = urlsplit(destination.url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise PermanentDeliveryError(
            f"email {destination.name!r}: url {destination.url!r} must look like smtp://host:port"
        )
    implicit_tls = parts.scheme == "smtps"
    return parts.hostname, parts.port or (465 if implicit_tls else 25), implicit_tls
