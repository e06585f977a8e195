"""How a reference a rep typed picks one thing: the most exact match wins.

The ladder, tried in order, each rung only when the ones above found nothing:
1. `#id` (handled by the callers: an id names one row);
2. an email address or a phone number (exact, normalised);
3. an exact name or title, ignoring case and accents ("jose" is "José");
4. the longest name or title that the typed words start with ("acme add-on renewal"
   finds the deal "Acme add-on"), then the names that start with the typed words
   ("jan" finds "Jane Doe");
5. fuzzy matching, but only above CLEAR_SCORE and clearly ahead of the next one.
Below that it is "no match", and the closest names are offered as suggestions only,
never acted on. Several equally good matches on one rung raise Ambiguous with just
those, so the rep picks among the right few.
"""

from collections.abc import Sequence
from typing import Any, TypeVar

from rapidfuzz import fuzz

from crm import validation
from crm.errors import Ambiguous, NotFound

T = TypeVar("T")
CLEAR_SCORE = 85.0
CLEAR_GAP = 10.0
SUGGEST_SCORE = 60.0


def fold(text: str) -> str:
    """Case- and accent-insensitive, quotes and extra spaces dropped."""
    text = text.strip().strip('"').strip("'").strip("“”‘’")
    return " ".join(validation.fold(text).split())  # the same folding as the search column


def _several(message: str, found: list[Any], ref: str) -> Ambiguous:
    return Ambiguous(message, found, ref=ref)


# How a name with umlauts is written where the keyboard has none: Jürgen is "Jurgen" to
# the folding (as in the search column) and "Juergen" to a German typing on a US keyboard.
_SPELLED = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
     "ø": "oe", "Ø": "Oe", "æ": "ae", "Æ": "Ae", "å": "aa", "Å": "Aa"}
)  # fmt: skip


def name_forms(name: str) -> tuple[str, ...]:
    """The folded name, and its umlauts spelled out when it has any (`jurgen`, `juergen`)."""
    folded = fold(name)
    spelled = fold(name.translate(_SPELLED))
    return (folded,) if spelled == folded else (folded, spelled)


def by_name(
    ref: str,
    items: Sequence[tuple[T, str]],
    *,
    what: str,
    plural: str,
    hint: str = "",
) -> T:
    """Rungs 3 to 5 of the ladder over (item, name) pairs; a name matches in any of its
    forms (`name_forms`)."""
    query = fold(ref)
    shown = ref.strip().strip('"')[:60]
    if not query:
        raise NotFound(f"Which {what}?")
    folded = [(item, name_forms(name), name) for item, name in items]
    exact = [item for item, forms, _ in folded if query in forms]
    if len(exact) == 1:
        return exact[0]
    if exact:
        raise _several(f"Several {plural} are called '{shown}'.", exact, ref)
    heads = [
        (item, max(len(f) for f in forms if query.startswith(f + " ")))
        for item, forms, _ in folded
        if any(f and query.startswith(f + " ") for f in forms)
    ]
    if heads:
        longest = max(size for _, size in heads)
        best = [item for item, size in heads if size == longest]
        if len(best) == 1:
            return best[0]
        raise _several(f"'{shown}' starts with several {plural}' names.", best, ref)
    prefix = [item for item, forms, _ in folded if any(f.startswith(query) for f in forms)]
    if len(prefix) == 1:
        return prefix[0]
    if prefix:
        raise _several(f"'{shown}' matches several {plural}.", prefix, ref)
    scored = sorted(
        (
            (max(fuzz.WRatio(query, f) for f in forms), index)
            for index, (_, forms, _) in enumerate(folded)
        ),
        key=lambda pair: (-pair[0], pair[1]),
    )
    clear = [(score, index) for score, index in scored if score >= CLEAR_SCORE]
    if clear:
        runner_up = scored[1][0] if len(scored) > 1 else 0.0
        if len(clear) == 1 or clear[0][0] - runner_up >= CLEAR_GAP:
            return folded[clear[0][1]][0]
        raise _several(
            f"'{shown}' matches several {plural}.", [folded[i][0] for _, i in clear], ref
        )
    close = [folded[i][2] for score, i in scored[:3] if score >= SUGGEST_SCORE]
    maybe = f" Did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
    raise NotFound(f"No {what} matches '{shown}'.{maybe}{hint}")
