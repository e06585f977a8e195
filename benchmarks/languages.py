"""Need tags beyond English: per-language scores, the language detector, and latency.

    python -m benchmarks.languages            # also: python -m benchmarks.classifier --languages

1. The shipped default model (English needs.csv plus every language's training file,
   trained exactly as Rapport trains it on first start, thresholds from out-of-fold
   predictions) scored on each language's held-out file (crm/needs/data/languages/
   <code>.test.csv, never trained on): accuracy and macro-F1 as customers get them
   (abstentions count as `other`) and top-1 before abstaining.
2. The language detector Rapport uses (lingua, through crm.needs.language.detect) against
   py3langid restricted to the same seven languages, on the held-out messages of one to
   five words (no hint given): right, wrong, and "cannot tell".
3. Single-message latency of what the desk does per message: detect + classify, p50/p99,
   next to classify alone.
English on Banking77 is `python -m benchmarks.classifier` (the word block's change only
touches Chinese and Japanese characters, so English input is featurised as before).
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

from rich.console import Console
from rich.table import Table

from crm.needs.classifier import NeedClassifier, _gather
from crm.needs.datasets import load_labelled, shipped_language_files
from crm.needs.evaluation import score
from crm.needs.language import SUPPORTED, detect


def _held_out() -> dict[str, tuple[list[str], list[str]]]:
    out: dict[str, tuple[list[str], list[str]]] = {}
    for path in shipped_language_files("test"):
        texts, needs, _ = load_labelled(path)
        out[path.name.split(".")[0]] = (texts, needs)
    return out


def _py3langid():  # type: ignore[no-untyped-def]
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        return None
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(SUPPORTED))
    return identifier


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    console = Console()
    held = _held_out()
    started = time.perf_counter()
    texts, labels = _gather(())
    model = NeedClassifier.train(texts, labels)
    fit = time.perf_counter() - started
    table = Table(
        title=f"Default model on held-out messages (trained on {len(texts)} in {fit:.0f} s; "
        f"abstain below {model.threshold:.3f}, specific acknowledgement from "
        f"{model.ack_threshold:.3f})"
    )
    for column in ("language", "messages", "accuracy", "macro-F1", "top-1 macro-F1", "neutral"):
        table.add_column(column, justify="left" if column == "language" else "right")
    for language, (xs, gold) in held.items():
        predictions = model.predict_many(xs)
        shipped = score(gold, [p.need for p in predictions])
        raw = score(gold, [p.alternatives[0][0] for p in predictions])
        neutral = sum(p.confidence < model.ack_threshold for p in predictions) / len(xs)
        table.add_row(
            language,
            str(len(xs)),
            f"{shipped.accuracy:.1%}",
            f"{shipped.macro_f1:.3f}",
            f"{raw.macro_f1:.3f}",
            f"{neutral:.0%}",
        )
    console.print(table)

    langid = _py3langid()
    short = [
        (text, language)
        for language, (xs, _) in held.items()
        for text in xs
        if 1 <= len(text.split()) <= 5
    ]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for text, language in short:
        got = detect(text)
        counts["lingua (Rapport)"][
            "right" if got == language else "none" if got is None else "wrong"
        ] += 1
        if langid is not None:
            guess, _ = langid.classify(text)
            counts["py3langid"]["right" if guess == language else "wrong"] += 1
    detectors = Table(title=f"Language detection on {len(short)} held-out messages of 1-5 words")
    for column in ("detector", "right", "wrong", "cannot tell"):
        detectors.add_column(column, justify="left" if column == "detector" else "right")
    for name, c in counts.items():
        n = len(short)
        detectors.add_row(
            name, f"{c['right'] / n:.1%}", f"{c['wrong'] / n:.1%}", f"{c['none'] / n:.1%}"
        )
    console.print(detectors)
    if langid is None:
        console.print("py3langid is not installed (pip install py3langid): no second detector")

    sample = [text for _, (xs, _) in held.items() for text in xs[:60]]
    detect(sample[0])  # load the detector's models once, as the desk's first message does
    alone, both = [], []
    for text in sample:
        t0 = time.perf_counter()
        model.predict(text)
        t1 = time.perf_counter()
        detect(text)
        model.predict(text)
        t2 = time.perf_counter()
        alone.append((t1 - t0) * 1000)
        both.append((t2 - t1) * 1000)
    latency = Table(title=f"One message at a time ({len(sample)} messages)")
    for column in ("path", "p50 ms", "p99 ms", "mean ms"):
        latency.add_column(column, justify="left" if column == "path" else "right")
    for name, values in (("classify", alone), ("detect + classify", both)):
        latency.add_row(
            name,
            f"{_percentile(values, 0.5):.2f}",
            f"{_percentile(values, 0.99):.2f}",
            f"{statistics.fmean(values):.2f}",
        )
    console.print(latency)


if __name__ == "__main__":
    main()
