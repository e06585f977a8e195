"""The email channel against a real SMTP server (aiosmtpd on 127.0.0.1), end to end.

aiosmtplib speaks real SMTP to aiosmtpd's Controller; the outbox, the store
(a SQLite file) and the rep's notice are the real ones.
"""

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import SQLModel

from bot.app import RapportApp
from bot.runtime.email import attach_email
from channels.base import Address, OutgoingMessage, Reply
from channels.email import EmailChannel
from crm.clock import ManualClock
from crm.db import Store, make_engine
from tests.standins.outbox_world import World, make_settings

REFUSED_DOMAIN = "refused.example"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Mailbox:
    """An aiosmtpd handler: refuses one domain with 550 5.1.1, keeps everything else."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address.endswith("@" + REFUSED_DOMAIN):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{tmp_path / 'mail.db'}")
    SQLModel.metadata.create_all(engine)
    yield Store(engine)
    engine.dispose()


def mail_world(store: Store, port: int) -> World:
    world = World.build(store, ManualClock(NOW), channels=("shell",))
    channel = EmailChannel(
        "127.0.0.1", port, None, None, "desk@rapport.example", starttls=False, timeout=5
    )
    world.services.hub.register(channel)
    return world


async def test_a_follow_up_reaches_a_real_smtp_server_as_plain_text(smtp, store) -> None:  # type: ignore[no-untyped-def]
    mailbox, port = smtp
    world = mail_world(store, port)
    alice = world.rep("Alice")
    jane = world.customer("Jane", email="jane@acme.example", owner=alice)
    row = world.follow_up(alice, jane, NOW, "Hi Jane,\nthe quote is attached to your account.")
    assert await world.outbox().tick() == 1
    [(sender, recipients, raw)] = mailbox.messages
    assert sender == "desk@rapport.example" and recipients == ["jane@acme.example"]
    email = message_from_bytes(raw)
    assert email["Subject"] == "Hi Jane,"
    assert email["X-Rapport-Followup"] == str(row.id)
    assert email.get_content_type() == "text/plain"
    assert "the quote is attached" in email.get_payload(decode=True).decode()
    assert world.row(row.id).status == "sent"


async def test_a_refused_recipient_fails_for_good_and_the_rep_is_told(smtp, store) -> None:  # type: ignore[no-untyped-def]
    mailbox, port = smtp
    world = mail_world(store, port)
    alice = world.rep("Alice")
    ghost = world.customer("Ghost", email=f"ghost@{REFUSED_DOMAIN}", owner=alice)
    row = world.follow_up(alice, ghost, NOW, "Still interested?")
    outbox = world.outbox()
    await outbox.tick()
    await outbox.tick()
    failed = world.row(row.id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "recipient refused (550 5.1.1)"  # no address in the reason
    assert mailbox.messages == []
    [notice] = world.channels["shell"].sent
    assert "Ghost" in notice.text and "recipient refused" in notice.text


async def test_an_unreachable_server_is_retried_not_failed(store) -> None:  # type: ignore[no-untyped-def]
    world = mail_world(store, free_port())  # nothing listens there
    alice = world.rep("Alice")
    jane = world.customer("Jane", email="jane@acme.example", owner=alice)
    row = world.follow_up(alice, jane, NOW)
    await world.outbox().tick()
    retry = world.row(row.id)
    assert retry.status == "pending" and retry.attempts == 1
    assert retry.last_error.startswith("SMTP unavailable")


async def test_attach_email_puts_the_configured_channel_on_the_hub(smtp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mailbox, port = smtp
    settings = make_settings(
        f"sqlite:///{tmp_path / 'app.db'}",
        data_dir=tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="desk@rapport.example",
        smtp_starttls=False,
    )
    rapport = RapportApp.build(settings, clock=ManualClock(NOW))
    component = attach_email(rapport)
    try:
        await component.start()
        hub = rapport.services.hub
        assert hub.has("email")
        result = await hub.send(
            OutgoingMessage(
                Address("email", "bob@acme.example"), Reply("renewal call at 10"), kind="reminder"
            )
        )
        assert result.delivered and result.external_id
        subject = message_from_bytes(mailbox.messages[0][2])["Subject"]
        assert subject == "Reminder: renewal call at 10"
        await component.stop()
        assert not hub.has("email")
    finally:
        rapport.close()
