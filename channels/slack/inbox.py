"""The customer inbox in Slack: one post per conversation, later messages in its thread.

The bridge describes a post as a neutral Reply (a card and the Assign / Change
need / Close actions); an OutgoingMessage of kind `inbox` adds, in `meta`:
- `quote`: the customer's words, shown as a quote (escaped: customers type `<`),
- `selected`: {action id: value} preselected in a select (the current need),
- `confirm`: {action id: question} asked before a destructive button (Close),
- `update_ts`: edit that post in place (chat.update) instead of posting a new one.
"""

import re
from collections.abc import Mapping
from typing import Any

from channels.base import Reply
from channels.slack.blocks import Block, actions_blocks, card_blocks, escape, section, text_blocks

QUOTE_LIMIT = 2800


_EMPHASIS = re.compile(r"([*_~`])")


def inert(text: str) -> str:
    """Customer text cannot imitate Rapport's own UI: mrkdwn emphasis (``*bold*``,
    ``_italic_``, ``~strike~``, code) is broken with a zero-width space after each marker,
    so it shows as typed; ``&<>`` are escaped as everywhere (links and mentions)."""
    return _EMPHASIS.sub("\\1\u200b", escape(text))


def quote(text: str) -> str:
    body = inert(text.strip() or "(no text)")
    if len(body) > QUOTE_LIMIT:
        body = body[:QUOTE_LIMIT]
        body += f"… [{len(text):,} characters, cut here; the whole text is on the timeline]"
    return "\n".join(f">{line}" for line in body.splitlines() or [""])


def inbox_blocks(reply: Reply, meta: Mapping[str, Any]) -> list[Block]:
    """Headline, the customer's words, the conversation card, then the actions."""
    blocks = text_blocks(reply.text)
    if meta.get("quote") is not None:
        blocks.append(section(quote(str(meta["quote"]))))
    for card in reply.cards:
        blocks.extend(card_blocks(card))
    blocks.extend(
        actions_blocks(
            reply.actions,
            selected=meta.get("selected") or {},
            confirm=meta.get("confirm") or {},
        )
    )
    return blocks[:50]
