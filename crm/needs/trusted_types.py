"""The exact types a Rapport need model may contain, and how a ``.skops`` file is checked.

A ``.skops`` file is a zip whose ``schema.json`` names, for every object, a module, a class
and the skops loader that rebuilds it.  skops itself trusts a broad default set and whatever
the caller passes as ``trusted``; Rapport used to pass every type under ``numpy.``,
``scipy.``, ``sklearn.`` or ``crm.needs.``, and ``numpy.testing`` has a helper that
executes a string, so a crafted file ran code on load.  Now every node of the schema, the
ones skops would trust by default included, must be one of :data:`ALLOWED_NODES`: the
(module, name, loader) triples Rapport's own pipelines (default, nb, embeddings) are made
of.  The list is fixed here, in code, so a model file can never widen it; saving checks a
new pipeline against it too (:func:`crm.needs.persistence.dump_model`), so a change to the
pipelines that needs a new type fails loudly at training time, not silently at load time.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

# (module, class or function name, skops loader).  Derived from saving each pipeline kind
# (tests/unit/test_model_security.py re-derives it and fails if the pipelines drift).
ALLOWED_NODES: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("builtins", "dict", "DictNode"),
        ("builtins", "list", "ListNode"),
        ("builtins", "tuple", "TupleNode"),
        ("builtins", "str", "JsonNode"),
        ("builtins", "int", "JsonNode"),
        ("builtins", "float", "JsonNode"),
        ("builtins", "bool", "JsonNode"),
        ("builtins", "NoneType", "JsonNode"),
        ("builtins", "str", "TypeNode"),
        ("numpy", "float64", "TypeNode"),
        ("numpy", "float32", "TypeNode"),
        ("numpy", "ndarray", "NdArrayNode"),
        ("crm.needs.features", "fold_text", "FunctionNode"),
        ("crm.needs.features", "fold_words", "FunctionNode"),
        ("crm.needs.features", "SentenceEmbedder", "ObjectNode"),
        ("sklearn.feature_extraction.text", "TfidfTransformer", "ObjectNode"),
        ("sklearn.feature_extraction.text", "TfidfVectorizer", "ObjectNode"),
        ("sklearn.linear_model._logistic", "LogisticRegression", "ObjectNode"),
        ("sklearn.naive_bayes", "MultinomialNB", "ObjectNode"),
        ("sklearn.pipeline", "FeatureUnion", "ObjectNode"),
        ("sklearn.pipeline", "Pipeline", "ObjectNode"),
    }
)


class UntrustedModelError(ValueError):
    """The file names a type, function or loader outside :data:`ALLOWED_NODES`."""


def _nodes(node: object) -> Iterator[tuple[str, str, str]]:
    """Every (module, name, loader) in a schema tree; a half-described node is reported too."""
    if isinstance(node, dict):
        if "__class__" in node or "__module__" in node or "__loader__" in node:
            yield (
                str(node.get("__module__", "?")),
                str(node.get("__class__", "?")),
                str(node.get("__loader__", "?")),
            )
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def schema_nodes(path: Path) -> set[tuple[str, str, str]]:
    """The node triples of the ``.skops`` file at ``path`` (reads JSON only, runs nothing)."""
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
    return set(_nodes(schema))


def check_nodes(path: Path) -> list[str]:
    """Refuse a file naming anything outside the allow-list; return the skops type names to
    pass as ``trusted`` (only allow-listed ones, so skops' own audit agrees)."""
    nodes = schema_nodes(path)
    refused = sorted(f"{m}.{c} ({loader})" for m, c, loader in nodes - ALLOWED_NODES)
    if refused:
        raise UntrustedModelError(", ".join(refused))
    return sorted({f"{m}.{c}" for m, c, _ in nodes})
