"""Any text a rep (or someone pretending to be one) types gets a reply, never an
exception and never the internal-error apology, with a real store behind it: the
parser's and parsers' properties, checked through the handlers too."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import RapportApp
from bot.language.help import USAGE
from crm.clock import ManualClock
from tests.factories import build_rapport

VERBS = sorted(USAGE) + ["search", "call", "meeting", "remind", "deal", "log", "note"]
WORDS = st.sampled_from(
    ["jane", "#1", "#2", "1", "#999999999999999999", '"Jane Doe"', "at", "to", "into", ":",
     "-", "tomorrow", "9am", "in", "3", "days", "$12,000", "12k", "€", "-5", "stage", "won",
     "#vip", "jane@acme.com", "+1", "415", "555", "0100", "next", "friday", "me", "@bob",
     "\n", "<!channel>", "\u202e", "\x00", "'", "%", "_", "*", "999999999999", "0", "nan"]
)  # fmt: skip
COMMANDS = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda verb, words: " ".join([verb, *words]),
        st.sampled_from(VERBS),
        st.lists(WORDS, max_size=10),
    ),  # fmt: skip
)


@pytest.fixture
def rapport(tmp_path: Path) -> Iterator[RapportApp]:
    # SQLite only and one app for all of Hypothesis' examples (a function-scoped fixture)
    app = build_rapport(tmp_path, ManualClock(), f"sqlite:///{tmp_path / 'r.db'}")
    asyncio.run(_seed(app))
    yield app
    app.close()


async def _seed(app: RapportApp) -> None:
    actor = app.rep_actor(channel="shell", external_id="alice", name="Alice")
    for text in ("add Jane Doe jane@acme.com", "add Bob Stone", "deal #1 Bikes $500"):
        await app.dispatcher.handle(actor, text)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts=st.lists(COMMANDS, min_size=1, max_size=4), admin=st.booleans())
@example(texts=["find _ *", "deal ' _ * ' %"], admin=False)  # or_() of no words crashed search
def test_any_rep_text_gets_a_reply_and_never_the_internal_error(
    rapport: RapportApp, texts: list[str], admin: bool
) -> None:
    actor = rapport.rep_actor(channel="shell", external_id="root" if admin else "alice",
                              name="Root" if admin else "Alice", admin=admin)  # fmt: skip

    async def conversation() -> None:
        for text in texts:
            async with asyncio.timeout(10):
                reply = await rapport.dispatcher.handle(actor, text)
            assert reply.text.strip(), text
            assert "went wrong" not in reply.text, (text, reply.text)
            assert "Traceback" not in reply.text

    asyncio.run(conversation())
