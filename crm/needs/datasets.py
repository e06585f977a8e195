"""Loading and checking labelled CSV datasets for the need classifier."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

LABEL_COLUMNS: tuple[str, ...] = ("need", "label", "intent", "category")


class DatasetError(ValueError):
    """A CSV dataset is unusable; the message names the file and the row or column."""


DATA_DIR = Path(__file__).resolve().parent / "data"


def shipped_dataset_path() -> Path:
    """Path of the English training data that ships with the package (``data/needs.csv``)."""
    return DATA_DIR / "needs.csv"


def shipped_language_files(split: str = "train") -> list[Path]:
    """The other languages' shipped data: ``data/languages/<code>.<split>.csv``.

    Each language has a training file and a held-out test file written apart from it (the
    held-out one is never trained on; `python -m benchmarks.classifier` scores it)."""
    return sorted((DATA_DIR / "languages").glob(f"*.{split}.csv"))


def shipped_training_paths() -> list[Path]:
    """Every shipped training file: English first, then one per other language."""
    return [shipped_dataset_path(), *shipped_language_files("train")]


def load_dataset(
    path: Path, *, label_column: str | None = None, min_classes: int = 2
) -> tuple[list[str], list[str]]:
    """Read a ``text,<label>`` CSV and return ``(texts, labels)``.

    The label column is ``label_column`` when given, else the first of ``need``, ``label``,
    ``intent``, ``category`` present (header names are matched case-insensitively).  Row
    numbers in errors are 1-based file lines, the header being line 1.

    Raises :class:`DatasetError` for: an unreadable/empty file, a missing ``text`` or label
    column, a row with an empty text or label, or fewer than ``min_classes`` distinct labels
    (training needs two, the default; scoring a file of one class, all ``other`` say, passes
    ``min_classes=1``).
    """
    texts, labels, _ = load_labelled(path, label_column=label_column, min_classes=min_classes)
    return texts, labels


def load_labelled(
    path: Path, *, label_column: str | None = None, min_classes: int = 2
) -> tuple[list[str], list[str], list[str | None]]:
    """Like :func:`load_dataset`, plus each row's language from an optional ``lang`` column
    (empty or absent: ``None``), so a team's own CSV can add a language and be scored per
    language."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError as exc:
        raise DatasetError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot read CSV ({exc})") from exc
    if not rows:
        raise DatasetError(f"{path}: file is empty (expected a header row with 'text')")
    header = [h.strip().lower() for h in rows[0]]
    if "text" not in header:
        raise DatasetError(f"{path}: missing column 'text' (columns: {', '.join(rows[0])})")
    if label_column is not None:
        wanted = label_column.strip().lower()
        if wanted not in header:
            raise DatasetError(
                f"{path}: missing label column {label_column!r} (columns: {', '.join(rows[0])})"
            )
    else:
        found = next((c for c in LABEL_COLUMNS if c in header), None)
        if found is None:
            raise DatasetError(
                f"{path}: missing label column (expected one of {', '.join(LABEL_COLUMNS)}; "
                f"columns: {', '.join(rows[0])})"
            )
        wanted = found
    text_i, label_i = header.index("text"), header.index(wanted)
    lang_i = header.index("lang") if "lang" in header else None
    texts: list[str] = []
    labels: list[str] = []
    langs: list[str | None] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line
        text = row[text_i].strip() if text_i < len(row) else ""
        label = row[label_i].strip() if label_i < len(row) else ""
        if not text:
            raise DatasetError(f"{path}: row {line_no}: empty 'text'")
        if not label:
            raise DatasetError(f"{path}: row {line_no}: empty {wanted!r}")
        texts.append(text)
        labels.append(label)
        lang = row[lang_i].strip().lower() if lang_i is not None and lang_i < len(row) else ""
        langs.append(lang or None)
    distinct = set(labels)
    if not distinct:
        raise DatasetError(f"{path}: no rows")
    if len(distinct) < min_classes:
        found = f"only {next(iter(distinct))!r}"
        raise DatasetError(f"{path}: column {wanted!r} needs at least two classes ({found})")
    return texts, labels, langs


def dataset_sha256(texts: Iterable[str], labels: Iterable[str]) -> str:
    """Order-sensitive fingerprint of a training set (stored in model metadata)."""
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(text.encode("utf-8"))
        digest.update(b"\x1f")
        digest.update(label.encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


DIGEST_CHARS = 12  # 48-bit digests: collisions are negligible for any realistic dataset


def normalize_text(text: str) -> str:
    """Case- and whitespace-insensitive key used to merge and fingerprint examples."""
    return " ".join(text.casefold().split())


def text_digest(text: str) -> str:
    return hashlib.blake2b(normalize_text(text).encode("utf-8"), digest_size=6).hexdigest()


def text_digests(texts: Iterable[str]) -> str:
    """Compact fingerprint of which texts a model was trained on (stored in metadata)."""
    return "".join(sorted({text_digest(t) for t in texts}))


def parse_digests(packed: str) -> set[str]:
    return {packed[i : i + DIGEST_CHARS] for i in range(0, len(packed), DIGEST_CHARS)}


def stratified_split(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    test_size: float = 0.2,
    random_state: int = 0,
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Seeded split keeping label proportions; labels with a single example go to training.

    Returns ``(train_texts, train_labels, test_texts, test_labels)``.
    """
    from sklearn.model_selection import train_test_split

    counts = Counter(labels)
    solo = [i for i, y in enumerate(labels) if counts[y] < 2]
    rest = [i for i, y in enumerate(labels) if counts[y] >= 2]
    rest_labels = [labels[i] for i in rest]
    n_test = max(int(round(len(rest) * test_size)), len(set(rest_labels)))
    if len(set(rest_labels)) < 2 or len(rest) - n_test < len(set(rest_labels)):
        raise DatasetError(
            "not enough examples for a held-out split (need two or more labels with at "
            "least two examples each)"
        )
    train_idx, test_idx = train_test_split(
        rest, test_size=n_test, stratify=rest_labels, random_state=random_state
    )
    train_idx = list(train_idx) + solo
    return (
        [texts[i] for i in train_idx],
        [labels[i] for i in train_idx],
        [texts[i] for i in test_idx],
        [labels[i] for i in test_idx],
    )
