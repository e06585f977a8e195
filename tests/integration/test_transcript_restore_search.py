"""A contact brought back from the trash is a whole contact again: found by name, offered
in "which one?", and never silently passed over for a namesake (the restored row once came
back without its search text, so `followup jane` picked the other Jane without asking)."""

import pytest

from bot.app import RapportApp
from tests.factories import RepChat, rep_chat


@pytest.fixture
def alice(rapport: RapportApp) -> RepChat:
    return rep_chat(rapport, "Alice", admin=True)


@pytest.mark.parametrize("bring_back", ["undo", "restore #2"])
async def test_a_restored_contact_is_found_and_asked_about(alice: RepChat, bring_back: str) -> None:
    await alice.run(
        [
            ("add Jane Smith jane@smith.example", "Added #1 Jane Smith"),
            ("add Jane Doe jane@doe.example +44 20 7946 0018", "Added #2 Jane Doe"),
            ("delete #2", "With them go 2 emails/phones."),
            ("yes", "Deleted #2 Jane Doe"),
            ("find jane", "#1 Jane Smith"),
            (bring_back, "2 emails/phones"),
            ("find jane", "#2 Jane Doe"),
            ("find doe", "#2 Jane Doe"),
            ("find jane@doe.example", "Jane Doe"),
        ]
    )
    assert "#1 Jane Smith" in await alice.say("find jane")
    which = await alice.say("followup jane tomorrow 9am: how was the demo?")
    assert "Which" in which and "#1" in which and "#2" in which, which
    assert "Jane Doe" in await alice.say("2")  # the pick is the one scheduled


async def test_merge_and_restore_replies_name_rows_in_words(alice: RepChat) -> None:
    await alice.run(
        [
            ("add Ann Lee ann@lee.example", "Added #1"),
            ("add Ann Lee ann.lee@work.example", "Added #2"),
            ("merge #2 into #1", "1 emails/phones"),
        ]
    )
    merged = await alice.say("yes")
    assert "Merged" in merged and "contactpoint" not in merged, merged
    assert "1 emails/phones" in merged


async def test_the_same_email_typed_again_changes_nothing_and_says_so(alice: RepChat) -> None:
    await alice.run(
        [
            ("add Bo Chen bo@chen.example", "Added #1"),
            ("edit #1 email bo@chen.example", "already Bo Chen's primary email; nothing changed"),
            ("edit #1 email BO@Chen.example", "nothing changed"),  # the same, normalised
            ("edit #1 email bo.chen@work.example", "(was bo@chen.example)"),
            ("show #1", "#1 Bo Chen bo.chen@work.example"),
        ]
    )
