"""The need classifier: tags an inbound customer message with a need and a confidence.

Usage::

    clf = load_or_train(data_dir)            # <data_dir>/models/needs.skops, trained if absent
    p = clf.predict("how much is the pro plan?")
    p.need, p.confidence, p.alternatives     # "pricing", 0.93, (("pricing", 0.93), ...)

Abstaining: when the top probability is below ``threshold`` the need is ``other`` (the
``confidence`` is still the top probability, and ``alternatives`` keep the raw ranking).

The abstain threshold is chosen from out-of-fold predictions when training (see
:mod:`crm.needs.threshold`).  Persistence (a ``.skops`` file + ``.json`` metadata, loaded
without trusting anything outside scikit-learn/numpy/scipy/``crm.needs``) is in
:mod:`crm.needs.persistence`; the pipelines and the fast single-message path are in
:mod:`crm.needs.features`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from crm.needs.datasets import (
    DatasetError,
    dataset_sha256,
    load_dataset,
    normalize_text,
    parse_digests,
    shipped_dataset_path,
    shipped_training_paths,
    stratified_split,
    text_digest,
    text_digests,
)
from crm.needs.evaluation import EvaluationResult, score
from crm.needs.features import (
    EMBEDDINGS_INSTALL_HINT,
    KINDS,
    EmbeddingsUnavailableError,
    FastPath,
    FastPathUnsupported,
    build_pipeline,
    embeddings_available,
)
from crm.needs.labels import DEFAULT_NEEDS, OTHER
from crm.needs.persistence import (
    ModelLoadError,
    dump_model,
    library_versions,
    load_pipeline,
    read_metadata,
)
from crm.needs.threshold import (
    DEFAULT_ACK_THRESHOLD,
    DEFAULT_THRESHOLD,
    abstaining_score,
    choose_ack_threshold,
    choose_threshold,
    out_of_fold,
)

__all__ = [
    "DEFAULT_NEEDS",
    "DEFAULT_THRESHOLD",
    "OTHER",
    "DatasetError",
    "EmbeddingsUnavailableError",
    "ModelLoadError",
    "NeedClassifier",
    "Prediction",
    "RetrainReport",
    "load_dataset",
    "load_or_train",
    "model_path",
    "retrain",
    "shipped_dataset_path",
]

logger = logging.getLogger(__name__)

MODEL_FILE = Path("models") / "needs.skops"
FORMAT_VERSION = 1
_PROBE_TEXTS = ("hello", "How much does the PRO plan cost?? thx", "")


@dataclass(frozen=True)
class Prediction:
    need: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]  # top 3 incl. the winner, before abstaining

    @property
    def abstained(self) -> bool:
        """True when the classifier answered ``other`` only for lack of confidence."""
        return self.need == OTHER and bool(self.alternatives) and self.alternatives[0][0] != OTHER


class NeedClassifier:
    """A fitted pipeline plus its abstain threshold and metadata (see the module doc)."""

    def __init__(self, pipeline: Pipeline, *, kind: str, threshold: float, metadata: dict):
        self.pipeline = pipeline
        self.kind = kind
        self.threshold = float(threshold)
        self.metadata = metadata
        # below it the customer gets the neutral acknowledgement (models saved before it
        # existed fall back to the default)
        self.ack_threshold = float(metadata.get("ack_threshold", DEFAULT_ACK_THRESHOLD))
        self.labels: tuple[str, ...] = tuple(str(c) for c in pipeline.classes_)
        self._fast: FastPath | None = None
        try:
            fast = FastPath(pipeline)
            if fast.agrees_with(pipeline, _PROBE_TEXTS):
                self._fast = fast
            else:  # pragma: no cover - a safety net, not an expected path
                logger.warning("need classifier fast path disagrees with the pipeline; not used")
        except FastPathUnsupported:
            pass

    # ------------------------------------------------------------------ training

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        kind: str = "default",
        threshold: float | None = None,
        ack_threshold: float | None = None,
        random_state: int = 0,
    ) -> NeedClassifier:
        """Fit a classifier; a threshold left None is picked from out-of-fold predictions."""
        texts, labels = _check_examples(texts, labels)
        if kind not in KINDS:
            raise ValueError(f"unknown classifier kind {kind!r}; expected one of {KINDS}")
        pipeline = build_pipeline(kind, random_state=random_state)
        features, clf = pipeline.steps[0][1], pipeline.steps[-1][1]
        X = features.fit_transform(texts)  # noqa: N806
        _drop_pruned_terms(features)
        metrics: dict = {}
        if threshold is None or ack_threshold is None:
            with threadpool_limits(1):  # sparse fits gain nothing from BLAS threads
                oof = out_of_fold(clf, X, labels, random_state)
        else:
            oof = None
        if threshold is None:
            if oof is None:
                threshold = DEFAULT_THRESHOLD
                metrics["threshold_source"] = "default (too few examples per label)"
            else:
                proba, classes, gold = oof
                threshold = choose_threshold(proba, classes, gold)
                metrics["threshold_source"] = "out-of-fold routing utility"
                metrics["cross_validation"] = abstaining_score(proba, classes, gold, threshold)
        else:
            metrics["threshold_source"] = "given"
        if ack_threshold is None:
            if oof is None:
                ack_threshold = DEFAULT_ACK_THRESHOLD
                metrics["ack_threshold_source"] = "default (too few examples per label)"
            else:
                ack_threshold = choose_ack_threshold(*oof)
                metrics["ack_threshold_source"] = "out-of-fold precision"
        else:
            metrics["ack_threshold_source"] = "given"
        with threadpool_limits(1):
            clf.fit(X, labels)
        counts = Counter(labels)
        metadata = {
            "format": FORMAT_VERSION,
            "kind": kind,
            "labels": [str(c) for c in clf.classes_],
            "threshold": float(threshold),
            "ack_threshold": float(ack_threshold),
            "n_examples": len(texts),
            "label_counts": dict(sorted(counts.items())),
            "training_data_sha256": dataset_sha256(texts, labels),
            "training_text_digests": text_digests(texts),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": library_versions(),
            "metrics": metrics,
            "random_state": random_state,
        }
        return cls(pipeline, kind=kind, threshold=float(threshold), metadata=metadata)

    # ------------------------------------------------------------------ prediction

    def predict(self, text: str) -> Prediction:
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        if self._fast is not None:
            proba = self._fast.proba(text)
        else:
            proba = self.pipeline.predict_proba([text])[0]
        return self._prediction(proba)

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        texts = list(texts)
        if not texts:
            return []
        return [self._prediction(row) for row in self.pipeline.predict_proba(texts)]

    def _prediction(self, proba: np.ndarray) -> Prediction:
        order = np.argsort(-proba, kind="stable")[:3]
        alternatives = tuple((self.labels[i], float(proba[i])) for i in order)
        top, confidence = alternatives[0]
        need = top if confidence >= self.threshold else OTHER
        return Prediction(need=need, confidence=confidence, alternatives=alternatives)

    # ------------------------------------------------------------------ persistence

    def save(self, path: Path) -> None:
        """Write ``path`` (skops) and ``path.with_suffix('.json')`` (metadata), atomically."""
        metadata = {
            **self.metadata,
            "kind": self.kind,
            "threshold": self.threshold,
            "ack_threshold": self.ack_threshold,
            "labels": list(self.labels),
        }
        self.metadata = dump_model(self.pipeline, metadata, Path(path))

    @classmethod
    def load(cls, path: Path) -> NeedClassifier:
        """Load a saved model; raises :class:`ModelLoadError` with the reason."""
        path = Path(path)
        metadata = read_metadata(path)
        if metadata["kind"] == "embeddings" and not embeddings_available():
            raise ModelLoadError(f"{path} is an embeddings model: {EMBEDDINGS_INSTALL_HINT}")
        pipeline = load_pipeline(path, metadata)
        return cls(
            pipeline,
            kind=metadata["kind"],
            threshold=float(metadata["threshold"]),
            metadata=metadata,
        )


def _drop_pruned_terms(features) -> None:
    """Forget TF-IDF ``stop_words_`` (every pruned n-gram): only used for introspection,
    it is most of a saved model's size (scikit-learn documents deleting it)."""
    for _, step in getattr(features, "transformer_list", [("features", features)]):
        if hasattr(step, "stop_words_"):
            del step.stop_words_


def _check_examples(texts: Sequence[str], labels: Sequence[str]) -> tuple[list[str], list[str]]:
    texts, labels = [str(t) for t in texts], [str(y).strip() for y in labels]
    if len(texts) != len(labels):
        raise DatasetError(f"{len(texts)} texts but {len(labels)} labels")
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        if not text.strip():
            raise DatasetError(f"example {i + 1}: empty text")
        if not label:
            raise DatasetError(f"example {i + 1}: empty label")
    if len(set(labels)) < 2:
        raise DatasetError("training needs at least two distinct labels")
    return texts, labels


# ---------------------------------------------------------------------- lifecycle


def model_path(data_dir: Path) -> Path:
    """Where the need model lives under a data directory."""
    return Path(data_dir) / MODEL_FILE


def _gather(
    extra_examples: Sequence[tuple[str, str]],
    data_files: Sequence[Path] = (),
    *,
    include_shipped: bool = True,
    label_column: str | None = None,
) -> tuple[list[str], list[str]]:
    """Shipped data, then CSVs, then extra examples; a later source wins for the same text."""
    merged: dict[str, tuple[str, str]] = {}
    shipped = shipped_training_paths() if include_shipped else []
    sources = [*shipped, *(Path(p) for p in data_files)]
    for source in sources:
        column = None if source in shipped else label_column
        for text, label in zip(*load_dataset(source, label_column=column), strict=True):
            merged[normalize_text(text)] = (text, label)
    for i, example in enumerate(extra_examples):
        try:
            text, label = example
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"extra example {i + 1}: expected (text, need)") from exc
        if not str(text).strip() or not str(label).strip():
            continue
        merged[normalize_text(str(text))] = (str(text).strip(), str(label).strip())
    if not merged:
        raise DatasetError("no training data")
    texts, labels = zip(*merged.values(), strict=True)
    return list(texts), list(labels)


def load_or_train(
    data_dir: Path, *, extra_examples: Sequence[tuple[str, str]] = ()
) -> NeedClassifier:
    """Load ``<data_dir>/models/needs.skops``; if that fails, retrain from the shipped data.

    ``extra_examples`` (e.g. reps' corrections) are only used when (re)training here; use
    :func:`retrain` to fold new corrections into an existing model.
    """
    path = model_path(data_dir)
    try:
        return NeedClassifier.load(path)
    except ModelLoadError as exc:
        if path.exists():
            logger.warning("need classifier: %s; training a new one from the shipped data", exc)
        else:  # the first start: expected, not a problem
            logger.info("need classifier: no model yet; training one from the shipped data")
    texts, labels = _gather(extra_examples)
    classifier = NeedClassifier.train(texts, labels)
    classifier.metadata["sources"] = ["shipped"] + (["extra_examples"] if extra_examples else [])
    try:
        classifier.save(path)
    except OSError as exc:
        logger.warning("need classifier: could not save to %s: %s", path, exc)
    return classifier


@dataclass(frozen=True)
class RetrainReport:
    """Outcome of :func:`retrain`; ``before`` is None when there was no usable old model."""

    kept: bool
    before: EvaluationResult | None
    after: EvaluationResult
    path: Path
    kind: str
    n_examples: int
    n_train: int
    n_test: int
    n_compared: int
    threshold: float
    reason: str
    ack_threshold: float = 0.0


def retrain(
    data_dir: Path,
    *,
    extra_examples: Sequence[tuple[str, str]] = (),
    data_files: Sequence[Path] = (),
    kind: str = "default",
    path: Path | None = None,
    label_column: str | None = None,
    include_shipped: bool = True,
    force: bool = False,
    random_state: int = 0,
) -> RetrainReport:
    """Train on shipped data + ``data_files`` + ``extra_examples``; keep it if not worse.

    A stratified, seeded 20% of the merged data is held out and a candidate is trained on the
    other 80%.  The old model (if it loads) and the candidate are both scored on the
    held-out rows the old model was *not* trained on (models record digests of their
    training texts), so neither is judged on rows it memorised; the candidate wins when its
    macro-F1 there is not lower, or with ``force``, or when there is no old model or no
    such row.  ``after`` is the candidate's score on those rows (on the whole held-out split
    without an old model).  A winning candidate is refit on all the data with the threshold
    chosen for it, then saved to ``path`` (default ``<data_dir>/models/needs.skops``).
    Examples are merged by case/space-insensitive text; a later source wins (shipped data,
    then ``data_files`` in order, then ``extra_examples``), so a correction overrides.
    """
    target = Path(path) if path is not None else model_path(data_dir)
    texts, labels = _gather(
        extra_examples, data_files, include_shipped=include_shipped, label_column=label_column
    )
    train_x, train_y, test_x, test_y = stratified_split(
        texts, labels, test_size=0.2, random_state=random_state
    )
    candidate = NeedClassifier.train(train_x, train_y, kind=kind, random_state=random_state)
    before: EvaluationResult | None = None
    after = score(test_y, [p.need for p in candidate.predict_many(test_x)])
    n_compared = len(test_x)
    try:
        old = NeedClassifier.load(target)
    except ModelLoadError as exc:
        old, reason = None, f"no usable previous model ({exc}); new model saved"
    if old is not None:
        seen = parse_digests(old.metadata.get("training_text_digests", ""))
        rows = [i for i, t in enumerate(test_x) if text_digest(t) not in seen]
        n_compared = len(rows)
        if rows:
            gold = [test_y[i] for i in rows]
            unseen = [test_x[i] for i in rows]
            before = score(gold, [p.need for p in old.predict_many(unseen)])
            after = score(gold, [p.need for p in candidate.predict_many(unseen)])
            change = f"macro-F1 {before.macro_f1:.3f} -> {after.macro_f1:.3f} on {len(rows)} rows"
            if after.macro_f1 >= before.macro_f1 - 1e-9:
                reason = f"{change}: not worse, saved"
            else:
                reason = f"{change}: worse, " + ("saved anyway" if force else "old model kept")
        else:
            reason = "the old model was trained on every held-out row: nothing to compare on; saved"
    kept = before is None or force or after.macro_f1 >= before.macro_f1 - 1e-9
    if kept:
        final = NeedClassifier.train(
            texts,
            labels,
            kind=kind,
            threshold=candidate.threshold,
            ack_threshold=candidate.ack_threshold,
            random_state=random_state,
        )
        final.metadata["metrics"] = {
            **candidate.metadata["metrics"],
            "threshold_source": candidate.metadata["metrics"].get("threshold_source"),
            "holdout": after.summary(),
            "holdout_before": before.summary() if before else None,
        }
        final.metadata["sources"] = (
            (["shipped"] if include_shipped else [])
            + [str(p) for p in data_files]
            + (["extra_examples"] if extra_examples else [])
        )
        final.save(target)
    return RetrainReport(
        kept=kept,
        before=before,
        after=after,
        path=target,
        kind=kind,
        n_examples=len(texts),
        n_train=len(train_x),
        n_test=len(test_x),
        n_compared=n_compared,
        threshold=candidate.threshold,
        reason=reason,
        ack_threshold=candidate.ack_threshold,
    )
