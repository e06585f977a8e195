"""What Rapport says to customers, in each language it supports.

The catalogs are `bot/customer/locales/<code>.json` (one key per text, `{placeholders}`
kept); a text missing in a language falls back to the business's default language, then
English, so a partial translation never leaves a customer without an answer. A team
overrides any text with the JSON file named by `RAPPORT_ACKS_FILE`: top-level strings
override the default language (`{"pricing": "Thanks {name}! ..."}`, as before languages
existed), and an object under a language code overrides that language
(`{"es": {"pricing": "¡Gracias {name}! ..."}}`). The business's own texts (its name, hours,
privacy link) are placeholders filled from the settings, never translated.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from string import Formatter

from crm.needs.language import SUPPORTED, normalise_code

logger = logging.getLogger(__name__)

LOCALES = Path(__file__).resolve().parent / "locales"
FALLBACK = "en"


def _read(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def shipped_catalogs() -> dict[str, dict[str, str]]:
    return {code: _read(LOCALES / f"{code}.json") for code in SUPPORTED}


def load_overrides(path: Path, default_language: str) -> dict[str, dict[str, str]]:
    """A team's texts by language; a bad file is reported and ignored, never fatal."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        logger.warning("customer texts not loaded path=%s error=%s", path, exc)
        return {}
    if not isinstance(data, dict):
        logger.warning("customer texts must be a JSON object path=%s", path)
        return {}
    overrides: dict[str, dict[str, str]] = {}
    for key, value in data.items():
        language = normalise_code(str(key))
        if isinstance(value, dict) and language is not None:
            overrides.setdefault(language, {}).update({str(k): str(v) for k, v in value.items()})
        elif isinstance(value, dict):
            logger.warning("customer texts: %r is not a supported language; ignored", key)
        else:
            overrides.setdefault(default_language, {})[str(key)] = str(value)
    return overrides


@dataclass
class CustomerTexts:
    """Catalogs by language code, with the business's default language."""

    catalogs: dict[str, dict[str, str]]
    default_language: str = FALLBACK

    @classmethod
    def load(cls, overrides_file: Path | None = None, default_language: str = FALLBACK):
        catalogs = shipped_catalogs()
        default = normalise_code(default_language) or FALLBACK
        if overrides_file is not None:
            for language, texts in load_overrides(Path(overrides_file), default).items():
                catalogs.setdefault(language, {}).update(texts)
        return cls(catalogs, default)

    def language_for(self, *candidates: str | None) -> str:
        """The first candidate that is a supported language, else the default."""
        for candidate in candidates:
            code = normalise_code(candidate)
            if code is not None:
                return code
        return self.default_language

    def has(self, key: str) -> bool:
        return any(key in catalog for catalog in self.catalogs.values())

    def template(self, language: str | None, key: str) -> str:
        for code in (language, self.default_language, FALLBACK):
            if code and key in self.catalogs.get(code, {}):
                return self.catalogs[code][key]
        raise KeyError(key)

    def get(self, language: str | None, key: str, **values: object) -> str:
        """The text `key` in `language`, placeholders filled; an unknown placeholder in a
        team's override is left as written rather than failing the reply."""
        template = self.template(language, key)
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            logger.warning("customer text %r has a placeholder Rapport does not fill", key)
            return _fill_known(template, values)

    def weekday(self, language: str | None, index: int) -> str:
        return self.template(language, "weekdays").split(",")[index]


def _fill_known(template: str, values: dict[str, object]) -> str:
    out = []
    for literal, field, spec, conversion in Formatter().parse(template):
        out.append(literal)
        if field is None:
            continue
        if field in values:
            out.append(format(values[field], spec or ""))
        else:
            out.append("{" + field + (f"!{conversion}" if conversion else "") + "}")
    return "".join(out)
