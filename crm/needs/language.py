"""Which language a customer message is written in.

Rapport answers customers in their own language and tags needs in seven of them, so each
inbound message gets a language code (ISO 639-1: ``en es pt fr de ru zh``) or ``None``
when it cannot tell ("ok", "?", an emoji). Detection uses lingua, restricted to the
supported languages: it was the more accurate of the two libraries built for short texts
that ``python -m benchmarks.classifier --languages`` compares (py3langid is the other),
and with seven languages its models are small and a message takes well under a
millisecond.

Telegram tells us the language of the customer's app (``language_code``); that is a hint,
not the answer (many people run their phone in English and write in Spanish). The hint
decides only when the text itself is too short or too ambiguous to say.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lingua is imported when the first message is detected
    from lingua import LanguageDetector

SUPPORTED: tuple[str, ...] = ("en", "es", "pt", "fr", "de", "ru", "zh")
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "pt": "Portuguese",
    "fr": "French",
    "de": "German",
    "ru": "Russian",
    "zh": "Chinese",
}
# Below this confidence (lingua's, 0-1, relative among the supported languages) the text
# alone does not decide; a hint does, or the answer is "unknown".
MIN_CONFIDENCE = 0.35
# A single word says little ("hello" scores Spanish 0.44, "order" German 0.57), so one word
# must be decisive on its own, unless it is one of the greetings and thanks below, which
# customers send alone all the time and which belong to one language.
ONE_WORD_CONFIDENCE = 0.6
ONE_WORD_LANGUAGE: dict[str, str] = {
    **dict.fromkeys(("hello", "hi", "hey", "thanks", "thx", "ty", "bye"), "en"),
    **dict.fromkeys(("hola", "gracias", "buenas", "adiós", "adios"), "es"),
    **dict.fromkeys(("oi", "olá", "obrigado", "obrigada", "valeu", "tchau"), "pt"),
    **dict.fromkeys(("bonjour", "salut", "merci", "bonsoir", "coucou"), "fr"),
    **dict.fromkeys(("hallo", "danke", "moin", "servus", "tschüss"), "de"),
    **dict.fromkeys(("привет", "спасибо", "здравствуйте"), "ru"),
}
_LOCK = threading.Lock()


def normalise_code(code: str | None) -> str | None:
    """`es-419`, `pt_BR`, `ZH-hans` -> `es`, `pt`, `zh`; anything unsupported -> None."""
    if not code:
        return None
    base = code.strip().replace("_", "-").split("-")[0].lower()
    return base if base in SUPPORTED else None


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    with _LOCK:
        codes = [getattr(IsoCode639_1, code.upper()) for code in SUPPORTED]
        return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def _has_letters(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def detect(text: str, *, hint: str | None = None) -> str | None:
    """The language of `text` (a code in SUPPORTED) or None when it cannot tell.

    A text with no letters has no language. Chinese characters are decisive on their own
    (no other supported language writes with them). Otherwise lingua's most confident
    language wins when it is confident enough (more so for a single word); below that the
    `hint` (the customer's app language) decides, else None.
    """
    if not text or not _has_letters(text):
        return normalise_code(hint) if hint and len(text.strip()) > 3 else None
    if any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text):
        return "zh"
    words = text.split()
    if len(words) == 1:
        known = ONE_WORD_LANGUAGE.get(words[0].strip("!?.,:;)( ").casefold())
        if known is not None:
            return known
    needed = ONE_WORD_CONFIDENCE if len(words) == 1 else MIN_CONFIDENCE
    from lingua import IsoCode639_1

    confidences = _detector().compute_language_confidence_values(text)
    if not confidences:
        return normalise_code(hint)
    ranked = {
        item.language.iso_code_639_1.name.lower(): item.value
        for item in confidences
        if isinstance(item.language.iso_code_639_1, IsoCode639_1)
    }
    best = max(ranked, key=lambda code: ranked[code])
    if ranked[best] >= needed:
        return best
    return normalise_code(hint)


def warm_up() -> None:
    """Load the detector's models now (the first detection would otherwise pay for it)."""
    detect("hello there, how are you")
