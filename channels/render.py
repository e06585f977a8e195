"""Plain-text rendering of a neutral Reply, for channels without rich layouts."""

from channels.base import Reply


def reply_as_text(reply: Reply, *, with_actions: bool = True) -> str:
    parts = [reply.text.rstrip()]
    for card in reply.cards:
        lines = [card.title]
        if card.subtitle:
            lines.append(card.subtitle)
        for name, value in card.fields:
            if "\n" in value:
                lines.append(f"  {name}:")
                lines.extend(f"    {line}" for line in value.splitlines())
            else:
                lines.append(f"  {name}: {value}")
        if card.footer:
            lines.append(card.footer)
        parts.append("\n".join(lines))
    if with_actions and reply.actions:
        labels = " · ".join(f"[{a.label}]" for a in reply.actions)
        parts.append(labels)
    return "\n".join(p for p in parts if p)
