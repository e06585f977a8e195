"""What an import did (or, in a dry run, would do): counts, the mapping, every problem.

Problems are kept per row with the line number; the report shows the first ones and
counts the rest, so a 100,000-row file with a systematic problem stays readable. Names
seen over and over (an owner who is not a rep, a stage the pipeline lacks) are also
summed once each.
"""

from collections import Counter
from dataclasses import dataclass, field

SHOWN_PROBLEMS = 50
_ORDER_NAMES = {"DMY": ("day/month", "month/day"), "MDY": ("month/day", "day/month")}
KEPT_PROBLEMS = 1000


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    skipped: bool  # True: the row was not imported; False: imported with this caveat


@dataclass
class ImportReport:
    record_type: str = ""
    source: str = ""
    dry_run: bool = False
    file_shape: str = ""
    mapping: list[str] = field(default_factory=list)
    custom_columns: list[str] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    unknown_owners: Counter[str] = field(default_factory=Counter)
    unknown_stages: Counter[str] = field(default_factory=Counter)
    committed_through: int = 0  # last line of the last committed batch
    failure: str | None = None
    dateorder: str = "MDY"
    decided_dates: int = 0  # numeric dates both orders can read, read in `dateorder`
    decided_example: str = ""
    contrary_dates: int = 0  # numeric dates only the other order can read
    contrary_example: tuple[int, str] = (0, "")

    def date_order_decided(self, text: str) -> None:
        self.decided_dates += 1
        self.decided_example = self.decided_example or text[:20]

    def date_against_order(self, line: int, text: str) -> None:
        self.contrary_dates += 1
        if not self.contrary_example[0]:
            self.contrary_example = (line, text[:20])

    def date_lines(self) -> list[str]:
        """What the date order decided, and the sign that the file is the other way."""
        first, other = _ORDER_NAMES.get(self.dateorder, _ORDER_NAMES["MDY"])
        other_flag = "MDY" if self.dateorder == "DMY" else "DMY"
        lines = []
        if self.decided_dates:
            lines.append(
                f"{self.decided_dates} date(s) such as '{self.decided_example}' could be "
                f"{first} or {other}; read as {first} (date order {self.dateorder}). If the "
                f"file writes {other}, run again with --dateorder {other_flag}."
            )
        if self.contrary_dates:
            line, text = self.contrary_example
            lines.append(
                f"{self.contrary_dates} date(s) can only be {other} (line {line}: '{text}'), "
                f"so the file probably writes {other}: check with --dry-run --dateorder "
                f"{other_flag}. Running again updates the same records."
            )
        return lines

    def problem(self, line: int, message: str, *, skipped: bool = False) -> None:
        self.problem_count += 1
        if skipped:
            self.skipped += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(Problem(line, message, skipped))

    @property
    def ok(self) -> bool:
        return self.failure is None and self.skipped == 0

    def summary(self) -> str:
        would = self.dry_run
        verb = (
            ("would create", "would update", "would skip")
            if would
            else ("created", "updated", "skipped")
        )
        head = "Dry run, nothing written. " if would else ""
        lines = [
            f"{head}{self.rows} {self.record_type} row(s) from {self.source} ({self.file_shape}):"
            f" {verb[0]} {self.created}, {verb[1]} {self.updated}, {verb[2]} {self.skipped}.",
            "Mapping used:",
            *(f"  {m}" for m in self.mapping),
        ]
        if self.custom_columns:
            lines.append(
                "Kept as custom fields (no Rapport field): " + ", ".join(self.custom_columns)
            )
        for name, count in self.unknown_owners.most_common(20):
            lines.append(f"Owner '{name}' matches no rep: {count} row(s) left unowned.")
        for name, count in self.unknown_stages.most_common(20):
            lines.append(
                f"Stage '{name}' is not in the pipeline: {count} deal(s) put in the first stage "
                f"(the original is kept as custom field 'source stage'; --map \"stage:{name}=...\""
                " to choose)."
            )
        lines.extend(self.date_lines())
        if self.problem_count:
            lines.append(f"{self.problem_count} problem(s):")
            for p in self.problems[:SHOWN_PROBLEMS]:
                tag = "skipped" if p.skipped else "note"
                lines.append(f"  line {p.line} ({tag}): {p.message}")
            if self.problem_count > SHOWN_PROBLEMS:
                lines.append(f"  ... and {self.problem_count - SHOWN_PROBLEMS} more")
        else:
            lines.append("No problems.")
        if self.failure:
            lines.append(f"Stopped: {self.failure}")
            if not self.dry_run:
                lines.append(
                    f"Rows up to line {self.committed_through} are saved. Run the same import "
                    "again to finish: saved rows are matched and updated, not duplicated."
                )
        return "\n".join(lines)
