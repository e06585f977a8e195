"""Help and usage text, generated from the verb table (bot.language.verbs).

Nothing here is written per verb: the overview lists VERBS by group, `help <verb>`
shows a verb's usage, details and example, and USAGE is the line an error reply adds.
"""

from rapidfuzz import fuzz, process

from bot.language.verbs import GROUPS, VERBS, by_word

__all__ = ["HELP_TOPICS", "USAGE", "help_text", "usage_for"]

USAGE: dict[str, str] = {verb.name: verb.usage_line for verb in VERBS}
HELP_TOPICS: dict[str, str] = {
    verb.name: f"{verb.usage}\n{verb.details}\nExample: {verb.example}" for verb in VERBS
}
_HELP_ONLY_WORDS = {"follow": "followup", "follow-up": "followup"}  # not verbs, but asked


def usage_for(name: str | None) -> str:
    """The usage line of a verb (by name or alias), or "" for none."""
    verb = by_word(name) if name else None
    return verb.usage_line if verb else ""


def help_text(topic: str | None = None) -> str:
    """The overview (every verb, grouped) or the detailed help for one verb/alias."""
    if not topic or not topic.strip():
        lines = ["Here is what I understand:"]
        for group in GROUPS:
            lines.append(f"\n{group}")
            lines.extend(f"  {verb.usage}" for verb in VERBS if verb.group == group)
        lines.append("\nType help <command> for details and an example, e.g. help log.")
        return "\n".join(lines)
    wanted = topic.strip().lower().lstrip("/")
    verb = by_word(_HELP_ONLY_WORDS.get(wanted, wanted))
    if verb is not None:
        return HELP_TOPICS[verb.name]
    close = process.extract(wanted, list(USAGE), scorer=fuzz.ratio, limit=3, score_cutoff=60)
    names = [name for name, _, _ in close]
    maybe = f" Did you mean {', '.join(names)}?" if names else ""
    return f"I have no help on '{wanted[:30]}'.{maybe} Type help for the list."
