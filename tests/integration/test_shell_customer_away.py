"""A follow-up for a terminal customer who is away (issue 16): the shell channel keeps it,
so the outbox puts it on their conversation for their return instead of failing it and
telling the rep it was lost. Real outbox, real ConsoleChannel, SQLite and PostgreSQL."""

import io
from datetime import UTC, datetime

from sqlmodel import select

from channels.console import NOT_CONNECTED, ConsoleChannel
from crm import views
from crm.enums import Delivery, Direction
from crm.identities import resolve_customer
from crm.models import FollowUp, Message
from tests.standins.outbox_world import World

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def _nothing(_line: str) -> None:
    return None


def _away_shell(world: World, connected: bool) -> io.StringIO:
    """The rep's terminal: prints only what is for `alice`; the customer's shell is elsewhere."""
    screen = io.StringIO()
    world.add_channel(
        ConsoleChannel(
            _nothing,  # type: ignore[arg-type]
            stdin=io.StringIO(),
            stdout=screen,
            interactive=False,
            chat_ids=frozenset({"alice"}),
            is_connected=lambda _chat: connected,
        )
    )
    return screen


async def test_a_follow_up_for_an_away_shell_customer_is_kept_for_their_return(store, clock):  # type: ignore[no-untyped-def]
    world = World.build(store, clock, channels=("slack",))
    screen = _away_shell(world, connected=False)
    alice = world.rep("Alice")
    with world.store.transaction() as session:
        maria = resolve_customer(
            session, channel="shell", external_id="maria", display_name="Maria", now=clock.now()
        ).contact
    row = world.follow_up(alice, maria, MONDAY_10, "Did the new card arrive?")

    clock.set(MONDAY_10)
    assert await world.outbox().tick() == 1

    done = world.row(row.id)
    assert done.status == "sent"
    assert done.last_error == NOT_CONNECTED
    with world.store.transaction() as session:
        [kept] = session.exec(select(Message).where(Message.contact_id == maria.id)).all()
        assert (kept.direction, kept.delivery) == (Direction.OUTBOUND, Delivery.PENDING)
        assert kept.text == "Did the new card arrive?" and kept.author_rep_id == alice.id
        # what the customer's shell reads when Maria opens it again
        back = views.messages_after(session, 0, direction="outbound", contact_id=maria.id)
        assert [m.text for m, _name in back] == ["Did the new card arrive?"]
        # no failure notice to the rep: nothing was lost
        notices = session.exec(select(FollowUp).where(FollowUp.kind == "notice")).all()
        assert notices == []
    assert "Did the new card arrive?" not in screen.getvalue()  # not on the rep's terminal
    assert await world.outbox().tick() == 0  # once


async def test_a_follow_up_for_a_connected_shell_customer_goes_on_their_conversation(  # type: ignore[no-untyped-def]
    store, clock
):
    """Their open shell shows what is in the store: a follow-up that is only "delivered"
    to a terminal that reads the store would never appear there."""
    world = World.build(store, clock, channels=("slack",))
    _away_shell(world, connected=True)
    alice = world.rep("Alice")
    with world.store.transaction() as session:
        maria = resolve_customer(
            session, channel="shell", external_id="maria", display_name="Maria", now=clock.now()
        ).contact
    row = world.follow_up(alice, maria, MONDAY_10, "Did the new card arrive?")
    clock.set(MONDAY_10)
    assert await world.outbox().tick() == 1
    done = world.row(row.id)
    assert (done.status, done.last_error) == ("sent", None)
    with world.store.transaction() as session:
        [shown] = session.exec(select(Message).where(Message.contact_id == maria.id)).all()
        assert (shown.text, shown.delivery) == ("Did the new card arrive?", Delivery.DELIVERED)
