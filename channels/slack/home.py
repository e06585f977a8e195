"""The App Home tab: sections of rows, each row a neutral Reply with its buttons.

The bridge decides what a rep should see (due follow-ups, deals, conversations);
this module only lays it out, within Slack's 100-block limit for a view.
"""

from collections.abc import Sequence
from typing import Any

from channels.base import Reply
from channels.slack.blocks import actions_blocks, escape, plain, section

HOME_MENU = "home_menu"  # the home tab's "New…" button opens the chooser modal
MAX_BLOCKS = 100
Section = tuple[str, Sequence[Reply]]


def home_view(sections: Sequence[Section], *, title: str = "Rapport") -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(title, 150)},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": HOME_MENU,
                    "text": plain("New…"),
                    "style": "primary",
                    "value": "menu",
                }
            ],
        },
    ]
    for heading, rows in sections:
        blocks.append({"type": "divider"})
        blocks.append({"type": "header", "text": plain(heading, 150)})
        for row in rows:
            row_blocks = [section(escape(row.text)[:3000])]
            row_blocks += actions_blocks(row.actions)
            if len(blocks) + len(row_blocks) > MAX_BLOCKS - 1:
                blocks.append(section("_More in `/crm followups`, `/crm pipeline`, `/crm inbox`._"))
                return {"type": "home", "blocks": blocks}
            blocks.extend(row_blocks)
    return {"type": "home", "blocks": blocks}
