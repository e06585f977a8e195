"""Whatever a customer types, what the reps see in Slack is inert and within Slack's
limits, and whatever is sent on Telegram fits its 4096-unit messages."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.base import Card, Reply
from channels.slack.blocks import escape, fallback_text, reply_blocks
from channels.slack.inbox import QUOTE_LIMIT, inbox_blocks, quote
from channels.telegram.render import TEXT_LIMIT, split_text, utf16_len
from tests.standins.slack_harness import block_texts

UNSAFE = re.compile(r"[<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
NASTY = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(["<", ">", "&", "|", "!", "@", "\u202e", "\u2066", "\x00", "\n", "😀"]),
    ),
    max_size=600,
)


@given(NASTY)
def test_escaped_text_has_no_slack_control_sequence_bidi_override_or_control_character(
    text: str,
) -> None:
    assert not UNSAFE.search(escape(text))


@settings(max_examples=60)
@given(name=NASTY, words=NASTY)
def test_an_inbox_post_built_from_customer_text_is_inert_and_within_limits(
    name: str, words: str
) -> None:
    reply = Reply(f"Customer message from {name}", cards=(Card(title=name, fields=(
        ("Recent", f"{words}\n{words}"), ("Name", name)), footer=name),))  # fmt: skip
    blocks = inbox_blocks(reply, {"quote": words})
    for text in [*block_texts(blocks), fallback_text(reply)]:
        unquoted = re.sub(r"^>", "", text, flags=re.MULTILINE)  # a quote's own markup
        assert not UNSAFE.search(unquoted)
        assert len(text) <= 3000
    assert len(blocks) <= 50


def test_an_oversized_quote_is_cut_with_a_note() -> None:
    cut = quote("x" * 50_000)
    assert len(cut) <= 3000 and "50,000 characters" in cut and "timeline" in cut
    assert len(quote("y" * QUOTE_LIMIT)) == QUOTE_LIMIT + 1  # at the limit: untouched


def test_a_long_reply_to_a_rep_is_split_into_sections_not_cut() -> None:
    long = "\n".join(f"line {n} " + "z" * 80 for n in range(400))  # ~36k characters
    blocks = reply_blocks(Reply(long))
    sections = block_texts(blocks)
    assert len(sections) > 10 and all(len(s) <= 3000 for s in sections)
    assert "".join(sections).replace("\n", "") == long.replace("\n", "")


@settings(max_examples=80)
@given(st.text(alphabet=st.sampled_from(["a", " ", "\n", "😀", "é"]), max_size=20_000))
def test_telegram_parts_fit_4096_utf16_units_and_keep_every_character(text: str) -> None:
    parts = split_text(text)
    assert all(0 < utf16_len(p) <= TEXT_LIMIT for p in parts)

    def solid(value: str) -> str:
        return re.sub(r"\s", "", value)

    assert solid("".join(parts)) == solid(text)
