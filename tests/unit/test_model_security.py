"""A model file cannot run code: crafted ``.skops`` files are refused before skops builds them.

The attack from issue 17: a ``ReduceNode`` naming ``numpy.testing._private.utils.runstring``
(which ``exec``s its first argument) passed the old ``numpy.`` prefix check and ran on
``rapport classifier predict --model FILE``.  Each crafted file below carries metadata with the
right SHA-256 and scikit-learn version (an attacker can write those too), so the refusal
comes from the type check, and a marker file proves the payload never ran.
"""

import contextlib
import json
import zipfile
from pathlib import Path

import pytest
import sklearn
from typer.testing import CliRunner

from bot.cli.classifier import classifier_app
from crm.needs.classifier import NeedClassifier
from crm.needs.persistence import ModelLoadError, file_sha256, library_versions
from crm.needs.trusted_types import ALLOWED_NODES, schema_nodes

TEXTS = ["my card is lost", "card blocked again", "refund my money", "where is my refund"] * 4
LABELS = ["card", "card", "refund", "refund"] * 4


def _function(module: str, name: str) -> dict:
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "FunctionNode",
        "content": {},
        "__id__": 1,
    }


# One-argument helpers that execute the string they are given; as a TF-IDF preprocessor
# each runs every message it classifies.
PAYLOADS = {
    "numpy_myeval": ("numpy.f2py.crackfortran", "myeval"),
    "numpy_measure": ("numpy.testing._private.utils", "measure"),
    "builtin_eval": ("builtins", "eval"),
}


def _attack_text(marker: Path) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).write_text('pwned')"


def _write_crafted(path: Path, schema: dict, source: Path) -> Path:
    """The source archive's arrays with a rewritten schema, plus matching metadata."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as archive:
        for name in original.namelist():
            if name != "schema.json":
                archive.writestr(name, original.read(name))
        archive.writestr("schema.json", json.dumps(schema))
    meta = {
        "kind": "default",
        "threshold": 0.5,
        "labels": ["card", "refund"],
        "versions": library_versions(),
        "model_sha256": file_sha256(path),
    }
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def _crafted_pipeline(tmp_path: Path, node: dict) -> Path:
    """A genuine Rapport pipeline with the payload swapped in as a TF-IDF preprocessor."""
    real = tmp_path / "real.skops"
    NeedClassifier.train(TEXTS, LABELS, threshold=0.3).save(real)
    schema = json.loads(zipfile.ZipFile(real).read("schema.json"))

    def swap(n: object) -> int:
        if isinstance(n, dict):
            if n.get("__class__") in ("fold_text", "fold_words"):  # the two blocks' folders
                n.clear()
                n.update(node)
                return 1
            return sum(swap(v) for v in list(n.values()))
        if isinstance(n, list):
            return sum(swap(v) for v in n)
        return 0

    assert swap(schema) == 2  # both TF-IDF blocks
    return _write_crafted(tmp_path / "evil.skops", schema, real)


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_crafted_model_is_refused_and_nothing_runs(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "marker"
    crafted = _crafted_pipeline(tmp_path, _function(*PAYLOADS[payload]))
    with pytest.raises(ModelLoadError, match="refused"):
        NeedClassifier.load(crafted)
    result = CliRunner().invoke(
        classifier_app,
        ["predict", _attack_text(marker), "--model", str(crafted), "--data-dir", str(tmp_path)],
    )
    assert result.exit_code != 0 and "refused" in result.output
    assert PAYLOADS[payload][1] in result.output  # the message names what was refused
    assert not marker.exists()


@pytest.mark.parametrize("payload", ["numpy_myeval", "numpy_measure"])
def test_the_old_prefix_rule_would_have_run_the_payload(tmp_path: Path, payload: str) -> None:
    """Proves the crafted file is a real attack: skops, told to trust what the old
    ``numpy.`` prefix rule let through, loads it and classifying a message executes it."""
    from crm.needs.persistence import sio

    marker = tmp_path / "marker"
    crafted = _crafted_pipeline(tmp_path, _function(*PAYLOADS[payload]))
    untrusted = sio.get_untrusted_types(file=crafted)
    assert untrusted and all(t.startswith("numpy.") for t in untrusted)
    with contextlib.suppress(Exception):  # the helpers return junk for TF-IDF afterwards
        sio.load(crafted, trusted=untrusted).predict_proba([_attack_text(marker)])
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize("kind", ["default", "nb"])
def test_rapport_pipelines_use_only_allowed_nodes_and_record_them(tmp_path: Path, kind: str):
    path = tmp_path / f"{kind}.skops"
    NeedClassifier.train(TEXTS, LABELS, kind=kind, threshold=0.3).save(path)
    assert schema_nodes(path) <= ALLOWED_NODES
    meta = json.loads(path.with_suffix(".json").read_text())
    assert "crm.needs.features.fold_words" in meta["types"]  # every pipeline's word block
    assert meta["versions"]["sklearn"] == sklearn.__version__
    assert NeedClassifier.load(path).predict("my card is lost").need == "card"
    assert path.stat().st_mode & 0o077 == 0


def test_a_file_that_is_not_a_skops_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.skops"  # e.g. a pickle renamed
    path.write_bytes(b"\x80\x04not a zip")
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "kind": "default",
                "threshold": 0.5,
                "labels": [],
                "versions": library_versions(),
                "model_sha256": file_sha256(path),
            }
        )
    )
    with pytest.raises(ModelLoadError, match="not a readable skops file"):
        NeedClassifier.load(path)
