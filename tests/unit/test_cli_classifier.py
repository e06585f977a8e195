"""`rapport classifier train|evaluate|predict`, driven through typer's CliRunner."""

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

import crm.needs.classifier as classifier_module
import crm.needs.features as features_module
from bot.cli.classifier import classifier_app
from crm.needs.classifier import NeedClassifier, load_dataset, model_path, shipped_dataset_path

runner = CliRunner()


def write_sample(path: Path, per_label: int, skip: int = 0, column: str = "need") -> Path:
    texts, labels = load_dataset(shipped_dataset_path())
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in zip(texts, labels, strict=True):
        by_label[label].append(text)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", column])
        for label in sorted(by_label):
            writer.writerows((t, label) for t in by_label[label][skip : skip + per_label])
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with a model trained by `classifier train --data`."""
    root = tmp_path_factory.mktemp("cli")
    data = write_sample(root / "train.csv", 25, column="label")
    data_dir = root / "data"
    result = runner.invoke(
        classifier_app, ["train", "--data", str(data), "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "saved to" in result.stdout and "macro-F1" in result.stdout
    return data_dir


def test_train_writes_the_model_and_metadata(trained: Path) -> None:
    path = model_path(trained)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert path.is_file() and meta["kind"] == "default" and meta["n_examples"] == 13 * 25
    assert NeedClassifier.load(path).labels == tuple(sorted(meta["label_counts"]))


def test_predict_shows_need_confidence_and_alternatives(trained: Path) -> None:
    result = runner.invoke(
        classifier_app,
        ["predict", "how much is the gold plan?", "where is my parcel", "--data-dir", str(trained)],
    )
    assert result.exit_code == 0, result.output
    assert "pricing" in result.stdout and "order_status" in result.stdout
    as_json = runner.invoke(
        classifier_app, ["predict", "how much is it?", "--json", "--data-dir", str(trained)]
    )
    line = json.loads(as_json.stdout)
    assert line["need"] == "pricing" and 0 < line["confidence"] <= 1
    assert len(line["alternatives"]) == 3 and line["alternatives"][0][0] == "pricing"


def test_the_data_dir_comes_from_the_environment(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(trained))
    result = runner.invoke(classifier_app, ["predict", "cancel my membership", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["need"] == "cancellation"


def test_evaluate_json(trained: Path, tmp_path: Path) -> None:
    data = write_sample(tmp_path / "test.csv", 10, skip=25)
    result = runner.invoke(
        classifier_app, ["evaluate", "--data", str(data), "--json", "--data-dir", str(trained)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 130
    assert 0.5 <= report["accuracy"] <= 1 and 0.5 <= report["macro_f1"] <= 1
    assert set(report["per_label"]["pricing"]) == {"precision", "recall", "f1", "support"}
    assert report["oos_recall"] is not None and report["unknown_labels"] == []


def test_evaluate_table_and_foreign_labels(trained: Path, tmp_path: Path) -> None:
    data = tmp_path / "foreign.csv"
    data.write_text(
        "text,category\nmy card has not arrived,card_arrival\nhow much?,pricing\n"
        "how do I top up,top_up\n",
        encoding="utf-8",
    )
    model = str(model_path(trained))
    result = runner.invoke(classifier_app, ["evaluate", "--data", str(data), "--model", model])
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.stdout and "Per need" in result.stdout
    assert "2 labels unknown to the model" in result.stdout
    as_json = runner.invoke(
        classifier_app, ["evaluate", "--data", str(data), "--model", model, "--json"]
    )
    report = json.loads(as_json.stdout)
    assert report["oos_recall"] is None
    assert report["unknown_labels"] == ["card_arrival", "top_up"]
    assert report["accuracy"] <= 1 / 3


def test_bad_csv_exits_2_with_one_line(trained: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,need\nhello,greeting\n,pricing\n", encoding="utf-8")
    for args in (
        ["evaluate", "--data", str(bad), "--data-dir", str(trained)],
        ["train", "--data", str(bad), "--data-dir", str(tmp_path / "d")],
    ):
        result = runner.invoke(classifier_app, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == f"error: {bad}: row 3: empty 'text'"
        assert "Traceback" not in result.output
    no_column = tmp_path / "cols.csv"
    no_column.write_text("message,need\nhi,greeting\n", encoding="utf-8")
    result = runner.invoke(classifier_app, ["evaluate", "--data", str(no_column)])
    assert result.exit_code == 2 and "missing column 'text'" in result.stderr


def test_unusable_model_exits_2(tmp_path: Path) -> None:
    data = write_sample(tmp_path / "d.csv", 2)
    missing = tmp_path / "missing.skops"
    result = runner.invoke(
        classifier_app, ["evaluate", "--data", str(data), "--model", str(missing)]
    )
    assert result.exit_code == 2 and "no model file" in result.stderr
    result = runner.invoke(classifier_app, ["predict", "hi", "--model", str(missing)])
    assert result.exit_code == 2


def test_train_rejects_unknown_or_unavailable_kinds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(classifier_app, ["train", "--model", "bert"])
    assert result.exit_code == 2 and "unknown --model" in result.stderr
    monkeypatch.setattr(features_module, "embeddings_available", lambda: False)
    data = write_sample(tmp_path / "d.csv", 5)
    result = runner.invoke(
        classifier_app,
        ["train", "--model", "embeddings", "--data", str(data), "--data-dir", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert "pip install 'rapport-crm[embeddings]'" in result.stderr


def test_train_without_data_uses_the_shipped_data_and_shows_before_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = write_sample(tmp_path / "shipped.csv", 15, skip=40)
    monkeypatch.setattr(classifier_module, "shipped_training_paths", lambda: [small])
    out = tmp_path / "m" / "needs.skops"
    first = runner.invoke(classifier_app, ["train", "--out", str(out), "--model", "nb"])
    assert first.exit_code == 0, first.output
    assert NeedClassifier.load(out).metadata["sources"] == ["shipped"]
    extra = write_sample(tmp_path / "more.csv", 15, skip=60)
    second = runner.invoke(
        classifier_app, ["train", "--out", str(out), "--data", str(extra), "--data", str(small)]
    )
    assert second.exit_code == 0, second.output
    assert "before" in second.stdout and "after" in second.stdout
    assert NeedClassifier.load(out).metadata["n_examples"] == 13 * 30
