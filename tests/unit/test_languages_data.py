"""The shipped multilingual data, the texts in every language, and language detection."""

import csv
import json
import string
from pathlib import Path

import pytest

from bot.customer.texts import LOCALES, CustomerTexts
from crm.needs.datasets import load_labelled, shipped_language_files
from crm.needs.labels import DEFAULT_NEEDS
from crm.needs.language import SUPPORTED, detect, normalise_code


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def test_every_language_has_every_text_with_the_same_placeholders() -> None:
    english = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
    for code in SUPPORTED:
        texts = json.loads((LOCALES / f"{code}.json").read_text(encoding="utf-8"))
        assert set(texts) == set(english), code
        for key, text in texts.items():
            assert _placeholders(text) == _placeholders(english[key]), (code, key)
        assert len(texts["weekdays"].split(",")) == 7, code


def test_each_language_ships_a_training_and_a_held_out_file_covering_every_need() -> None:
    for split in ("train", "test"):
        files = {Path(p).name.split(".")[0] for p in shipped_language_files(split)}
        assert files == set(SUPPORTED) - {"en"}, split
    for train in shipped_language_files("train"):
        test = train.with_name(train.name.replace(".train.", ".test."))
        texts, needs, langs = load_labelled(train)
        held_texts, held_needs, _ = load_labelled(test)
        assert set(needs) == set(held_needs) == set(DEFAULT_NEEDS), train.name
        assert set(langs) == {train.name[:2]}
        folded = {" ".join(t.casefold().split()) for t in texts}
        assert not folded & {" ".join(t.casefold().split()) for t in held_texts}, train.name


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("¿dónde está mi pedido? ya pasó una semana", None, "es"),
        ("cadê meu pedido? já faz uma semana", None, "pt"),
        ("où en est ma commande svp", None, "fr"),
        ("wo bleibt meine bestellung", None, "de"),
        ("где мой заказ", None, "ru"),
        ("我的订单到哪了", None, "zh"),
        ("where is my order", None, "en"),
        ("hola", None, "es"),
        ("hello", None, "en"),
        ("merci", None, "fr"),
        ("ok", None, None),
        ("👍", "es", None),
        ("?", None, None),
        ("order", None, None),  # one ambiguous word: not a guess
        ("ok", "es", "es"),  # the app's language decides when the text cannot
    ],
)
def test_language_detection_on_short_messages(text: str, hint: str | None, expected) -> None:  # type: ignore[no-untyped-def]
    assert detect(text, hint=hint) == expected


def test_language_codes_are_normalised() -> None:
    assert [normalise_code(c) for c in ("pt-BR", "es_419", "ZH-hans", "it", None)] == [
        "pt",
        "es",
        "zh",
        None,
        None,
    ]


def test_a_missing_text_falls_back_to_the_default_language_then_english(tmp_path) -> None:  # type: ignore[no-untyped-def]
    texts = CustomerTexts.load(None, "fr")
    del texts.catalogs["de"]["neutral"]
    assert texts.get("de", "neutral", name="Ana").startswith("Merci Ana")
    assert texts.language_for(None, "it", "pt-PT") == "pt"
    assert texts.language_for(None) == "fr"


def test_the_held_out_files_are_plain_csv_with_a_lang_column() -> None:
    for path in shipped_language_files("test"):
        with path.open(encoding="utf-8", newline="") as fh:
            assert next(csv.reader(fh)) == ["text", "need", "lang"]
