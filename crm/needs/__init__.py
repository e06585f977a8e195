"""Need classification for inbound customer messages (issue 3).

The public API lives in :mod:`crm.needs.classifier`; the common names are re-exported here.
This package is domain code: it must not import from ``bot``/``channels`` or chat SDKs.
"""

from crm.needs.classifier import (
    DEFAULT_NEEDS,
    OTHER,
    DatasetError,
    ModelLoadError,
    NeedClassifier,
    Prediction,
    RetrainReport,
    load_dataset,
    load_or_train,
    model_path,
    retrain,
    shipped_dataset_path,
)

__all__ = [
    "DEFAULT_NEEDS",
    "OTHER",
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
]
