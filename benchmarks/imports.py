"""Import benchmark: rows/s and peak memory of `rapport import` vs a bare csv.DictReader pass.

    python -m benchmarks.imports            # 10,000 and 100,000 rows
    python -m benchmarks.imports --quick    # 2,000 and 10,000 rows
    python -m benchmarks.imports --sizes 5000,50000

The file is a made-up HubSpot contacts export (Record ID, First/Last Name, Email, two
phone columns, Company Name, Contact owner, Lifecycle Stage, Create Date and a custom
column), written once per size to a temporary folder. Each measurement runs in a fresh
child process so its peak resident memory (ru_maxrss) is its own; both children import
the same modules first, so the memory columns differ only by what the pass itself holds.
The import goes into a fresh SQLite file and is the real thing (batches, audit rows,
external ids). "flat memory" shows up as the import's peak barely moving from 10k to
100k rows. "CPU s" is the child's own CPU time: on a machine shared with other work the
wall-clock seconds grow with the load, the CPU seconds much less.
"""

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

HEADER = ["Record ID", "First Name", "Last Name", "Email", "Phone Number",
          "Mobile Phone Number", "Company Name", "Contact owner", "Lifecycle Stage",
          "Create Date", "Favourite Colour"]  # fmt: skip
STAGES = ["lead", "customer", "subscriber", "opportunity"]


def write_file(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow([
                10_000 + i, f"First{i}", f"Last{i}", f"person{i}@example{i % 97}.com",
                f"+1 415 {200 + i // 10_000:03d} {i % 10_000:04d}", "",
                f"Company {i % 500}", "", STAGES[i % 4],
                f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} 10:{i % 60:02d}", "blue",
            ])  # fmt: skip


def _child(kind: str, path: Path, db: Path) -> None:
    from crm.actors import SYSTEM
    from crm.db import Store, make_engine
    from crm.imports import ImportOptions, run_import

    start, cpu = time.perf_counter(), time.process_time()
    if kind == "dictreader":
        with path.open(newline="", encoding="utf-8") as stream:
            rows = sum(1 for _ in csv.DictReader(stream))
    else:
        from sqlmodel import SQLModel

        import crm.models  # noqa: F401

        engine = make_engine(f"sqlite:///{db}")
        SQLModel.metadata.create_all(engine)
        start, cpu = time.perf_counter(), time.process_time()
        with path.open("rb") as raw:
            report = run_import(
                Store(engine), raw, actor=SYSTEM, now=datetime.now(UTC), options=ImportOptions()
            )
        rows = report.created + report.updated
        engine.dispose()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "cpu": cpu_seconds, "peak_mb": peak_mb}))


def _measure(kind: str, path: Path, db: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.imports", "--child", kind, str(path), str(db)],
        check=True, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "FILE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s] or (
        [2_000, 10_000] if args.quick else [10_000, 100_000]
    )
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    table = Table(title=f"rapport import, HubSpot contacts CSV, SQLite ({today})")
    for column in ("rows", "pass", "seconds", "CPU s", "rows/s", "peak MB", "x DictReader"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / f"contacts_{size}.csv"
            write_file(path, size)
            base = _measure("dictreader", path, Path(folder) / "unused.db")
            run = _measure("import", path, Path(folder) / f"import_{size}.db")
            for name, m in (("csv.DictReader", base), ("rapport import", run)):
                table.add_row(
                    f"{size:,}", name, f"{m['seconds']:.2f}", f"{m['cpu']:.2f}",
                    f"{m['rows'] / m['seconds']:,.0f}",
                    f"{m['peak_mb']:.0f}", f"{m['seconds'] / base['seconds']:.0f}",
                )  # fmt: skip
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
