"""Metrics for the need classifier: accuracy, macro-F1, per-need precision/recall, confusions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from crm.needs.labels import OTHER


@dataclass(frozen=True)
class LabelScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvaluationResult:
    """Scores of predictions against gold labels.

    ``macro_f1`` averages F1 over the labels present in the *gold* data, so predicting a
    label the data does not use (e.g. a model trained on other labels) only costs recall.
    ``per_label`` covers gold and predicted labels.  ``oos_recall`` is the share of gold
    ``other`` rows predicted ``other`` (abstentions included); ``None`` without such rows.
    ``in_scope_other_rate`` is the share of rows predicted ``other`` (typically abstentions)
    whose gold label is something else.
    """

    n: int
    accuracy: float
    macro_f1: float
    per_label: dict[str, LabelScore]
    confusions: list[tuple[str, str, int]] = field(default_factory=list)
    oos_recall: float | None = None
    in_scope_other_rate: float = 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        out["confusions"] = [
            {"gold": gold, "predicted": pred, "count": n} for gold, pred, n in self.confusions
        ]
        return out

    def summary(self) -> dict[str, float | int | None]:
        """The headline numbers (for metadata and reports)."""
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "oos_recall": None if self.oos_recall is None else round(self.oos_recall, 4),
        }


def score(gold: Sequence[str], predicted: Sequence[str], *, top_confusions: int = 10):
    """Compare ``predicted`` with ``gold`` (same length) and return an EvaluationResult."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted must have the same length")
    n = len(gold)
    if n == 0:
        return EvaluationResult(n=0, accuracy=0.0, macro_f1=0.0, per_label={})
    pairs = Counter(zip(gold, predicted, strict=True))
    gold_counts = Counter(gold)
    pred_counts = Counter(predicted)
    per_label: dict[str, LabelScore] = {}
    for label in sorted(set(gold_counts) | set(pred_counts)):
        tp = pairs.get((label, label), 0)
        precision = tp / pred_counts[label] if pred_counts[label] else 0.0
        recall = tp / gold_counts[label] if gold_counts[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = LabelScore(precision, recall, f1, gold_counts[label])
    correct = sum(c for (g, p), c in pairs.items() if g == p)
    macro_f1 = sum(per_label[label].f1 for label in gold_counts) / len(gold_counts)
    confusions = sorted(
        ((g, p, c) for (g, p), c in pairs.items() if g != p), key=lambda t: (-t[2], t[0], t[1])
    )[:top_confusions]
    oos = gold_counts.get(OTHER, 0)
    oos_recall = pairs.get((OTHER, OTHER), 0) / oos if oos else None
    abstained = sum(c for (g, p), c in pairs.items() if p == OTHER and g != OTHER)
    return EvaluationResult(
        n=n,
        accuracy=correct / n,
        macro_f1=macro_f1,
        per_label=per_label,
        confusions=confusions,
        oos_recall=oos_recall,
        in_scope_other_rate=abstained / n,
    )
