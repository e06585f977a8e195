"""Saving and loading need models safely: a ``.skops`` file plus ``.json`` metadata.

The scikit-learn pipeline goes to ``path`` with ``skops.io`` (deflate-compressed: the TF-IDF
vocabularies dominate the size) and the metadata to ``path.with_suffix('.json')``, each
written to a temporary file and renamed into place.  Loading refuses, with
:class:`ModelLoadError`: a missing model or metadata file, unreadable metadata, a model
saved with another scikit-learn version, a file whose SHA-256 differs from the one recorded
(corrupt or swapped), and any object whose (module, name, loader) is not one of the exact
triples Rapport's pipelines are made of (:mod:`crm.needs.trusted_types`, checked by reading
``schema.json`` before skops constructs anything, so a model file cannot run code).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import platform
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import scipy
import sklearn
import skops
from sklearn.pipeline import Pipeline

from crm.needs.trusted_types import UntrustedModelError, check_nodes

# sklearn's vendored array-api adapter for torch: importing it imports all of torch.
_TORCH_ADAPTER = "sklearn.externals.array_api_compat.torch"


def _import_skops_io() -> ModuleType:
    """``import skops.io`` without importing torch as a side effect.

    skops lists its trusted types with ``sklearn.utils.all_estimators()``, which walks
    every scikit-learn package, the vendored torch adapter included; with torch installed
    (the ``embeddings`` extra) that import alone cost ~0.8 s and ~180 MiB of memory in every
    Rapport process, even one that only ever uses the default TF-IDF model.  The adapter
    is hidden while skops builds its list (the walk skips a package that fails to import,
    and skips ``externals`` anyway: the list is the same, 208 types on scikit-learn 1.9),
    then unhidden, so anything that needs it later imports it normally.  An embeddings
    model still loads torch, lazily, when it first encodes a message.
    """
    if "skops.io" in sys.modules or _TORCH_ADAPTER in sys.modules:
        return importlib.import_module("skops.io")
    sys.modules[_TORCH_ADAPTER] = None  # type: ignore[assignment]  # None makes its import fail
    try:
        return importlib.import_module("skops.io")
    finally:
        if sys.modules.get(_TORCH_ADAPTER, 0) is None:
            del sys.modules[_TORCH_ADAPTER]


sio = _import_skops_io()

REQUIRED_KEYS = ("kind", "threshold", "labels", "versions", "model_sha256")


class ModelLoadError(Exception):
    """A saved model cannot be used: missing, corrupt, untrusted or from another version."""


def library_versions() -> dict[str, str]:
    return {
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "skops": skops.__version__,
        "python": platform.python_version(),
    }


def restrict_file(path: Path) -> None:
    """Owner-only permissions: a model is derived from customers' messages."""
    with contextlib.suppress(OSError):  # a filesystem without modes: nothing to tighten
        os.chmod(path, 0o600)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def metadata_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def dump_model(pipeline: Pipeline, metadata: dict, path: Path) -> dict:
    """Write the pipeline and its metadata; returns the metadata as written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    sio.dump(pipeline, tmp, compression=zipfile.ZIP_DEFLATED)
    try:
        types = check_nodes(tmp)
    except UntrustedModelError as exc:
        tmp.unlink(missing_ok=True)
        raise ModelLoadError(
            f"this pipeline holds types outside crm.needs.trusted_types.ALLOWED_NODES: {exc}"
        ) from exc
    os.replace(tmp, path)
    restrict_file(path)
    written = {
        **metadata,
        "versions": library_versions(),
        "model_sha256": file_sha256(path),
        "types": types,
    }
    meta_path = metadata_path(path)
    tmp_meta = meta_path.with_name(meta_path.name + ".tmp")
    tmp_meta.write_text(json.dumps(written, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp_meta, meta_path)
    restrict_file(meta_path)
    return written


def read_metadata(path: Path) -> dict:
    """The checked metadata of the model at ``path`` (before touching the model file)."""
    path = Path(path)
    meta_path = metadata_path(path)
    if not path.is_file():
        raise ModelLoadError(f"no model file at {path}")
    if not meta_path.is_file():
        raise ModelLoadError(f"model metadata {meta_path} is missing")
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        missing = [k for k in REQUIRED_KEYS if k not in metadata]
        if missing:
            raise KeyError(", ".join(missing))
        metadata["threshold"] = float(metadata["threshold"])
        saved_sklearn = metadata["versions"]["sklearn"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"model metadata {meta_path} is unreadable: {exc}") from exc
    if saved_sklearn != sklearn.__version__:
        raise ModelLoadError(
            f"{path} was trained with scikit-learn {saved_sklearn}, this is "
            f"{sklearn.__version__}; retrain it (rapport classifier train)"
        )
    if file_sha256(path) != metadata["model_sha256"]:
        raise ModelLoadError(f"{path} does not match its metadata (corrupt or replaced)")
    return metadata


def load_pipeline(path: Path, metadata: dict) -> Pipeline:
    """Load the pipeline if every object in it is on Rapport's fixed allow-list."""
    try:
        trusted = check_nodes(path)
    except UntrustedModelError as exc:
        raise ModelLoadError(
            f"{path} was refused: it contains untrusted types, ones a Rapport model never "
            f"holds ({exc}); "
            "only load models trained by Rapport (rapport classifier train)"
        ) from exc
    except Exception as exc:  # not a zip, no schema.json, not JSON
        raise ModelLoadError(f"{path} is not a readable skops file: {exc}") from exc
    try:
        pipeline = sio.load(path, trusted=trusted)
    except Exception as exc:
        raise ModelLoadError(f"{path} could not be loaded: {exc}") from exc
    if not isinstance(pipeline, Pipeline) or not hasattr(pipeline, "classes_"):
        raise ModelLoadError(f"{path} does not hold a fitted need classifier pipeline")
    if [str(c) for c in pipeline.classes_] != list(metadata.get("labels", [])):
        raise ModelLoadError(f"{path}: labels differ from its metadata")
    return pipeline
