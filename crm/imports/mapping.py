"""From a header row to a mapping: record type, each column's field, the file's source.

The mapping is decided once, from the headers and the person's `--map` overrides, and
is shown in the report as it was used, so a surprise is visible before anything is
written (the dry run).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from crm.errors import CRMError
from crm.externalids import clean_source
from crm.imports.aliases import (
    ALIAS_INDEX,
    ANCHORS,
    CUSTOM_PREFIX,
    MULTI_FIELDS,
    RECORD_TYPES,
    VENDOR_SIGNATURES,
    field_for,
    header_key,
    known_fields,
)

IGNORE = "ignore"


class MappingError(CRMError):
    """The headers or the `--map` options do not make a usable mapping."""


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    field: str | None  # a Rapport field, or None: a custom field / ignored
    custom: str | None = None  # custom field name when field is None
    how: str = "alias"  # "alias", "--map", "custom", "ignored"


@dataclass
class Mapping:
    record_type: str
    source: str
    columns: list[Column]
    stage_map: dict[str, str] = field(default_factory=dict)

    def fields(self) -> set[str]:
        return {c.field for c in self.columns if c.field}

    def describe(self) -> list[str]:
        lines = []
        for c in self.columns:
            if c.field:
                target = c.field + (" (--map)" if c.how == "--map" else "")
            elif c.custom is not None:
                target = f"custom field '{c.custom}'"
            else:
                target = "ignored (--map)"
            lines.append(f"{c.header or '(blank header)'} -> {target}")
        return lines

    @property
    def custom_columns(self) -> list[str]:
        return [c.header for c in self.columns if c.field is None and c.custom is not None]


def parse_overrides(items: list[str]) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """`--map` items: "Column=field" (or "=custom", "=ignore") and "stage:Theirs=ours".
    Columns come back as header key -> (the column as written, the field)."""
    columns: dict[str, tuple[str, str]] = {}
    stages: dict[str, str] = {}
    for item in items:
        left, sep, right = item.rpartition("=")
        if not sep or not left.strip() or not right.strip():
            raise MappingError(
                f"--map '{item[:60]}' should look like \"Column name=field\", "
                '"Column=custom", "Column=ignore" or "stage:Their stage=our stage".'
            )
        if left.strip().lower().startswith("stage:"):
            stages[header_key(left.strip()[6:])] = right.strip().lower()
        else:
            columns[header_key(left)] = (left.strip(), right.strip())
    return columns, stages


def detect_type(headers: list[str]) -> str:
    """The record type whose aliases the headers match best (distinctive headers count
    fully, headers that several types share count a little), among the types whose
    defining columns (aliases.ANCHORS) the file has."""
    keys = [header_key(h) for h in headers]
    scores: defaultdict[str, float] = defaultdict(float)
    anchored: set[str] = set()
    for key in keys:
        matching = [t for t in RECORD_TYPES if key in ALIAS_INDEX[t]]
        for record_type in matching:
            scores[record_type] += 1.0 if len(matching) == 1 else 1.0 / (len(matching) * 4)
            if ALIAS_INDEX[record_type][key] in ANCHORS[record_type]:
                anchored.add(record_type)
    if anchored:  # a type none of whose defining columns is there is not what the file is
        scores = defaultdict(float, {t: n for t, n in scores.items() if t in anchored})
    if not scores:
        raise MappingError(
            "I can't tell what these rows are: no header matches a field I know. Say it with "
            "--type contacts|companies|deals|activities|purchases, and --map 'Column=field'."
        )
    best = max(RECORD_TYPES, key=lambda t: scores[t])  # ties: the earlier type
    return best


def detect_source(headers: list[str]) -> str:
    keys = {header_key(h) for h in headers}
    if any(
        h.strip().lower().startswith(("person - ", "organization - ", "deal - ", "activity - "))
        for h in headers
    ):
        return "pipedrive"
    scores = {
        vendor: sum(header_key(s) in keys for s in signature)
        for vendor, signature in VENDOR_SIGNATURES.items()
    }
    vendor = max(scores, key=lambda v: scores[v])
    return vendor if scores[vendor] else "file"


def build_mapping(
    headers: list[str],
    *,
    record_type: str | None = None,
    overrides: list[str] | None = None,
    source: str | None = None,
) -> Mapping:
    if record_type is not None and record_type not in RECORD_TYPES:
        raise MappingError(f"--type must be one of {', '.join(RECORD_TYPES)}.")
    by_column, stages = parse_overrides(overrides or [])
    have = {header_key(h) for h in headers}
    absent = [written for key, (written, _) in by_column.items() if key not in have]
    if absent:
        raise MappingError(f"--map names columns the file does not have: {', '.join(absent)}.")
    if {"title", "jobtitle"} <= have and "title" not in by_column and record_type != "deals":
        # Outlook (and others) put the salutation (Mr., Dr.) in "Title" beside "Job Title":
        # the job title is the title, and the salutation is kept under its own name
        by_column["title"] = ("Title", "custom:salutation")
    # a column the person mapped counts as the field it was mapped to
    seen_as = [by_column.get(header_key(h), (h, h))[1] for h in headers]
    kind = record_type or detect_type(seen_as)
    valid = set(known_fields(kind))
    columns: list[Column] = []
    taken: dict[str, str] = {}
    seen_custom: set[str] = set()
    for index, header in enumerate(headers):
        header = header.strip()
        override = by_column.pop(header_key(header), (header, None))[1]
        column = _column(kind, index, header, override, valid)
        if (field_name := column.field) and field_name not in MULTI_FIELDS:
            if field_name in taken:
                # a second "Phone" style column for a one-value field keeps its value
                column = Column(
                    index, header, None, custom=header or f"column {index + 1}", how="custom"
                )
            else:
                taken[field_name] = header
        if column.custom is not None:
            name = column.custom
            while name in seen_custom:
                name += "'"
            seen_custom.add(name)
            column = Column(index, header, None, custom=name, how=column.how)
        columns.append(column)
    return Mapping(kind, clean_source(source or detect_source(headers)), columns, stages)


def _column(kind: str, index: int, header: str, override: str | None, valid: set[str]) -> Column:
    if override is not None:
        choice = override.strip()
        if choice.lower() == IGNORE:
            return Column(index, header, None, how="ignored")
        if choice.lower() == "custom":
            return Column(index, header, None, custom=header, how="--map")
        if choice.lower().startswith("custom:"):
            return Column(index, header, None, custom=choice[7:].strip() or header, how="--map")
        if choice not in valid:
            raise MappingError(
                f"--map {header}={choice}: '{choice}' is not a {kind} field. Fields: "
                f"{', '.join(sorted(valid))}, custom, custom:<name>, ignore."
            )
        return Column(index, header, choice, how="--map")
    if header.lower().startswith(CUSTOM_PREFIX):
        return Column(index, header, None, custom=header[len(CUSTOM_PREFIX) :], how="custom")
    found = field_for(kind, header) if header else None
    if found is not None:
        return Column(index, header, found)
    return Column(index, header, None, custom=header or f"column {index + 1}", how="custom")
