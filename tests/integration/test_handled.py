"""`Dispatcher.handle_text` says which command ran and whether it may have changed the CRM,
so a channel (Slack's App Home, its inbox posts) need not parse the text a second time;
after a "which one?" pick the command is the one that ran, not the digit typed."""

from bot.app import RapportApp
from bot.context import Handled
from bot.language.commands import AddContact, FindContacts, LogActivity
from channels.base import Reply


async def test_the_command_that_ran_and_whether_it_changed_anything(rapport: RapportApp) -> None:
    actor = rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    say = rapport.dispatcher.handle_text
    added = await say(actor, "add Jane Doe jane@acme.com")
    assert isinstance(added.command, AddContact) and added.reply.ok and added.changed
    found = await say(actor, "find jane")
    assert isinstance(found.command, FindContacts) and found.reply.ok and not found.changed
    unread = await say(actor, "add")  # a parse error: nothing ran
    assert unread.command is None and not unread.reply.ok and not unread.changed
    refused = await say(actor, "delete #99")
    assert refused.command is not None and not refused.reply.ok and not refused.changed


async def test_after_a_pick_the_command_is_the_one_that_ran(rapport: RapportApp) -> None:
    actor = rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    say = rapport.dispatcher.handle_text
    await say(actor, "add Jane Doe jane@acme.com")
    await say(actor, "add Jane Roe roe@x.com")
    asked = await say(actor, "note jane: prefers email")
    assert "Which one?" in asked.reply.text and not asked.changed
    picked = await say(actor, "2")
    assert picked.command == LogActivity("note", "#2", "prefers email")
    assert picked.changed and "Jane Roe (#2)" in picked.reply.text


def test_handled_without_a_command_changed_nothing() -> None:
    assert not Handled(Reply("ok")).changed
