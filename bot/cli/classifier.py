"""`rapport classifier ...`: train, evaluate and try the need classifier.

The model lives at ``<data_dir>/models/needs.skops`` (+ ``needs.json`` metadata); the data
directory comes from ``--data-dir``, else ``$RAPPORT_DATA_DIR``, else ``./.rapport``.
Bad input (a broken CSV, an unusable model file) exits with code 2 and a one-line error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crm.needs.classifier import (
    DatasetError,
    ModelLoadError,
    NeedClassifier,
    load_or_train,
    model_path,
    retrain,
)
from crm.needs.evaluation import EvaluationResult, score
from crm.needs.features import KINDS, EmbeddingsUnavailableError

classifier_app = typer.Typer(
    help="Train, evaluate and try the need classifier.", no_args_is_help=True
)

DataDirOption = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="RAPPORT_DATA_DIR",
        help="Data directory; the model is <data-dir>/models/needs.skops.",
        show_default=True,
    ),
]
LabelColumnOption = Annotated[
    str | None,
    typer.Option(
        "--label-column", help="Label column name (default: need, label, intent or category)."
    ),
]
DEFAULT_DATA_DIR = Path(".rapport")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn expected failures into exit code 2 with a one-line message."""
    try:
        yield
    except (DatasetError, ModelLoadError, EmbeddingsUnavailableError) as exc:
        _fail(" ".join(str(exc).split()))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _model_for(model: Path | None, data_dir: Path) -> tuple[NeedClassifier, Path]:
    if model is not None:
        return NeedClassifier.load(model), model
    return load_or_train(data_dir), model_path(data_dir)


@classifier_app.command()
def train(
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Training CSV (repeatable); default: the shipped data."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Model file (default <data-dir>/models/...).")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help=f"Classifier kind: {', '.join(KINDS)}.")
    ] = "default",
    label_column: LabelColumnOption = None,
    keep_best: Annotated[
        bool,
        typer.Option("--keep-best", help="Keep the old model if the new one scores lower."),
    ] = False,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
) -> None:
    """Train a model, compare it with the current one on a held-out 20%, and save it."""
    if model not in KINDS:
        _fail(f"unknown --model {model!r}; choose one of {', '.join(KINDS)}")
    console = Console()
    with _user_errors():
        report = retrain(
            data_dir,
            data_files=list(data or []),
            kind=model,
            path=out,
            label_column=label_column,
            include_shipped=not data,
            force=not keep_best,
        )
    table = Table(
        title=f"Need classifier ({report.kind}), held-out {report.n_test} of "
        f"{report.n_examples} examples"
    )
    table.add_column("metric")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    before = report.before
    for name, attr in (("accuracy", "accuracy"), ("macro-F1", "macro_f1")):
        table.add_row(
            name,
            _pct(getattr(before, attr)) if before else "-",
            _pct(getattr(report.after, attr)),
        )
    table.add_row(
        "out-of-scope recall",
        _pct(before.oos_recall) if before else "-",
        _pct(report.after.oos_recall),
    )
    console.print(table)
    console.print(
        f"abstain threshold: {report.threshold:.3f}   "
        f"specific acknowledgement from: {report.ack_threshold:.3f}"
    )
    console.print(report.reason)
    if report.kept:
        console.print(f"saved to {report.path}")


@classifier_app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Labelled CSV (text + label column).")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Model file (default <data-dir>/models/...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    label_column: LabelColumnOption = None,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
) -> None:
    """Score a model on a labelled CSV: accuracy, macro-F1, per-need precision/recall,
    and the same per language (the file's `lang` column, else each text's detected one)."""
    from crm.needs.datasets import load_labelled
    from crm.needs.language import detect

    with _user_errors():
        texts, gold, langs = load_labelled(data, label_column=label_column, min_classes=1)
        classifier, path = _model_for(model, data_dir)
    predictions = [p.need for p in classifier.predict_many(texts)]
    result = score(gold, predictions)
    languages = [lang or detect(text) or "unknown" for text, lang in zip(texts, langs, strict=True)]
    by_language = _per_language(gold, predictions, languages)
    unknown = sorted(set(gold) - set(classifier.labels))
    if as_json:
        payload = result.to_dict()
        payload.update(
            model=str(path),
            kind=classifier.kind,
            threshold=classifier.threshold,
            ack_threshold=classifier.ack_threshold,
            unknown_labels=unknown,
            languages={lang: r.summary() for lang, r in by_language.items()},
        )
        typer.echo(json.dumps(payload, sort_keys=True))
        return
    console = Console()
    _print_evaluation(console, result, classifier, path, unknown)
    _print_languages(console, by_language)


def _per_language(
    gold: list[str], predicted: list[str], languages: list[str]
) -> dict[str, EvaluationResult]:
    rows: dict[str, tuple[list[str], list[str]]] = {}
    for g, p, lang in zip(gold, predicted, languages, strict=True):
        bucket = rows.setdefault(lang, ([], []))
        bucket[0].append(g)
        bucket[1].append(p)
    return {lang: score(g, p) for lang, (g, p) in sorted(rows.items())}


def _print_languages(console: Console, by_language: dict[str, EvaluationResult]) -> None:
    table = Table(title="Per language")
    for column in ("language", "examples", "accuracy", "macro-F1"):
        table.add_column(column, justify="left" if column == "language" else "right")
    for lang, r in by_language.items():
        table.add_row(lang, str(r.n), _pct(r.accuracy), _pct(r.macro_f1))
    console.print(table)


def _print_evaluation(
    console: Console,
    result: EvaluationResult,
    classifier: NeedClassifier,
    path: Path,
    unknown: list[str],
) -> None:
    console.print(
        f"model {path} ({classifier.kind}, abstain below {classifier.threshold:.3f}, "
        f"specific acknowledgement from {classifier.ack_threshold:.3f}) on {result.n} examples"
    )
    console.print(
        f"accuracy {_pct(result.accuracy)}   macro-F1 {_pct(result.macro_f1)}   "
        f"out-of-scope recall {_pct(result.oos_recall)}   "
        f"in-scope answered 'other' {_pct(result.in_scope_other_rate)}"
    )
    if unknown:
        shown = ", ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        console.print(f"{len(unknown)} labels unknown to the model (count as errors): {shown}")
    table = Table(title="Per need")
    for column in ("need", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "need" else "right")
    for label, s in result.per_label.items():
        table.add_row(label, _pct(s.precision), _pct(s.recall), _pct(s.f1), str(s.support))
    console.print(table)
    if result.confusions:
        confusions = Table(title="Top confusions")
        for column in ("gold", "predicted", "count"):
            confusions.add_column(column, justify="right" if column == "count" else "left")
        for gold, predicted, count in result.confusions:
            confusions.add_row(gold, predicted, str(count))
        console.print(confusions)


@classifier_app.command()
def predict(
    texts: Annotated[list[str], typer.Argument(help="Message(s) to classify.")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Model file (default <data-dir>/models/...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
) -> None:
    """Classify messages: need, confidence and the top 3 alternatives."""
    with _user_errors():
        classifier, _ = _model_for(model, data_dir)
    predictions = [classifier.predict(text) for text in texts]
    if as_json:
        for text, p in zip(texts, predictions, strict=True):
            typer.echo(
                json.dumps(
                    {
                        "text": text,
                        "need": p.need,
                        "confidence": round(p.confidence, 4),
                        "abstained": p.abstained,
                        "alternatives": [[need, round(c, 4)] for need, c in p.alternatives],
                    }
                )
            )
        return
    table = Table(title=f"Needs (abstain below {classifier.threshold:.2f} -> other)")
    for column in ("message", "need", "confidence", "alternatives"):
        table.add_column(column, justify="right" if column == "confidence" else "left")
    for text, p in zip(texts, predictions, strict=True):
        alternatives = ", ".join(f"{need} {c:.2f}" for need, c in p.alternatives)
        need = f"{p.need} (abstained)" if p.abstained else p.need
        table.add_row(text, need, f"{p.confidence:.2f}", alternatives)
    Console().print(table)
