"""Choosing the abstain threshold from out-of-fold predictions.

Out-of-fold probabilities are computed on the training data (stratified 3-fold, or one
stratified 20% hold-out above 4,000 examples; the caller fits the TF-IDF features once on
all the data, for speed).  Each candidate threshold in ``THRESHOLD_BAND`` (0.20-0.60, step
0.025) gets a routing utility: +1 per right answer, -1 per wrong answer that would be
acted on, 0 per in-scope message left as ``other`` (a rep tags it by hand); the best wins
(the lowest on ties).  For a calibrated model that lands where a wrong answer becomes
likelier than a right one.

Measured: on the shipped data (~1,300 rows, 13 needs) logistic regression is
under-confident (right answers have a median confidence ~0.7) and the utility is flat
between 0.20 and 0.30, so the chosen threshold is 0.25-0.30 (about 10% of in-scope
messages abstain; out-of-scope recall ~0.9).  On Banking77 (77 intents, 10k rows) it picks
0.325 for ``default``, 0.375 for ``nb`` and 0.50 for ``embeddings``.  The band stops a
small or odd training set from producing a threshold that never, or nearly always,
abstains; when fewer than two labels have two or more examples ``DEFAULT_THRESHOLD``
(0.30) is used.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split

from crm.needs.evaluation import OTHER, score

DEFAULT_THRESHOLD = 0.30
THRESHOLD_BAND = (0.20, 0.60)
HOLDOUT_ABOVE = 4000


def out_of_fold(clf, X, labels: list[str], random_state: int):  # noqa: N803
    """Out-of-fold probabilities ``(proba, classes, gold)``, or None with too little data.

    Labels with a single example (say a brand-new need from one correction) are left out
    of this estimate rather than disabling it.
    """
    counts = Counter(labels)
    keep = np.array([counts[y] >= 2 for y in labels])
    y = np.asarray(labels)[keep]
    if len(set(y)) < 2:
        return None
    X = X[np.flatnonzero(keep)] if not keep.all() else X  # noqa: N806
    min_count = min(counts[label] for label in set(y))
    if len(y) > HOLDOUT_ABOVE:
        idx = np.arange(len(y))
        train_idx, test_idx = train_test_split(
            idx, test_size=0.2, stratify=y, random_state=random_state
        )
        model = clone(clf).fit(X[train_idx], y[train_idx])
        return model.predict_proba(X[test_idx]), model.classes_, y[test_idx]
    cv = StratifiedKFold(n_splits=min(3, min_count), shuffle=True, random_state=random_state)
    proba = cross_val_predict(clone(clf), X, y, cv=cv, method="predict_proba")
    return proba, np.unique(y), y


def choose_threshold(proba: np.ndarray, classes, gold) -> float:
    """Best threshold in THRESHOLD_BAND by routing utility (see the module docstring)."""
    classes = np.asarray(classes)
    gold = np.asarray(gold)
    top = proba.max(axis=1)
    raw = classes[proba.argmax(axis=1)]
    best_t, best_u = THRESHOLD_BAND[0], -np.inf
    for t in np.arange(THRESHOLD_BAND[0], THRESHOLD_BAND[1] + 1e-9, 0.025):
        pred = np.where(top >= t, raw, OTHER)
        right = pred == gold
        wrong_acted = (~right) & (pred != OTHER)
        utility = right.sum() - wrong_acted.sum()
        if utility > best_u:
            best_t, best_u = float(round(t, 3)), utility
    return best_t


def abstaining_score(proba, classes, gold, threshold: float) -> dict:
    """Headline metrics of out-of-fold predictions once abstentions become ``other``."""
    classes = np.asarray(classes)
    top = proba.max(axis=1)
    pred = np.where(top >= threshold, classes[proba.argmax(axis=1)], OTHER)
    result = score(list(gold), list(pred)).summary()
    result["abstained"] = int((top < threshold).sum())
    return result


# A need-specific acknowledgement ("we'll get that started") promises an action; a wrong one
# is worse than the neutral "thanks, a person will answer shortly". It is sent only when
# the out-of-fold predictions at that confidence or above were right this often.
ACK_PRECISION = 0.90
ACK_BAND = (0.30, 0.95)
DEFAULT_ACK_THRESHOLD = 0.60


def choose_ack_threshold(proba: np.ndarray, classes, gold, *, precision: float = ACK_PRECISION):
    """The lowest confidence in ACK_BAND above which out-of-fold answers (other than
    ``other``) were right at least ``precision`` of the time; the band's top when none is.

    Chosen like the abstain threshold, from out-of-fold predictions, but for a different
    cost: the abstain threshold decides what a rep sees, this one what a customer is told.
    """
    classes = np.asarray(classes)
    gold = np.asarray(gold)
    top = proba.max(axis=1)
    raw = classes[proba.argmax(axis=1)]
    acted = raw != OTHER
    for t in np.arange(ACK_BAND[0], ACK_BAND[1] + 1e-9, 0.025):
        chosen = acted & (top >= t)
        if chosen.sum() >= 5 and (raw[chosen] == gold[chosen]).mean() >= precision:
            return float(round(t, 3))
    return float(ACK_BAND[1])
