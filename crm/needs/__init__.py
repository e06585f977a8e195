"""Need classification for inbound customer messages (issue 3).

The public API lives in :mod:`crm.needs.classifier`; the common names are re-exported here
lazily, so importing :mod:`crm.needs.labels` (just the names) does not pull in
scikit-learn. This package is domain code: it must not import from ``bot``/``channels``
or chat SDKs.
"""

from typing import Any

from crm.needs.labels import DEFAULT_NEEDS, OTHER

_FROM_CLASSIFIER = {
    "DatasetError",
    "ModelLoadError",
    "NeedClassifier",
    "Prediction",
    "RetrainReport",
    "load_dataset",
    "load_or_train",
    "model_path",
    "retrain",
    "shipped_dataset_path",
}

__all__ = ["DEFAULT_NEEDS", "OTHER", *sorted(_FROM_CLASSIFIER)]


def __getattr__(name: str) -> Any:
    if name in _FROM_CLASSIFIER:
        from crm.needs import classifier

        return getattr(classifier, name)
    raise AttributeError(f"module 'crm.needs' has no attribute {name!r}")
