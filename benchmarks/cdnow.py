"""The CDNOW purchase history (../shared/data/cdnow/), read and bulk-loaded into a store.

Used by the customer-value benchmark and the tests that pin the paper's figures. The data
is read where it lies (never copied into the project): `RAPPORT_CDNOW_DIR`, else
`../shared/data/cdnow` beside the repository (where CI has shared/).

Loading goes straight to the tables through executemany inserts: a contact per CDNOW
customer (its id kept as `custom_fields.external_id`) and a purchase per row, dated at
noon UTC on its day, in USD cents, with `source="import"`. It is a benchmark helper, not
the general CSV import.
"""

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, insert

from crm.models import Contact
from crm.purchases import Purchase

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)


def cdnow_dir() -> Path:
    """RAPPORT_CDNOW_DIR, else shared/data/cdnow beside the clone (CI), else one level up
    (a git worktree kept in a folder beside the main clone)."""
    if os.environ.get("RAPPORT_CDNOW_DIR"):
        return Path(os.environ["RAPPORT_CDNOW_DIR"])
    candidates = [base / "shared" / "data" / "cdnow" for base in (ROOT.parent, ROOT.parent.parent)]
    return next((c for c in candidates if c.is_dir()), candidates[0])


@dataclass(frozen=True)
class Row:
    customer: str  # the master file's customer id, zero-padded as given
    day: date
    quantity: int
    amount_minor: int


def _day(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def read(which: str = "sample", directory: Path | None = None) -> list[Row]:
    """`sample` (2,357 customers, the paper's) or `master` (23,570)."""
    folder = directory or cdnow_dir()
    if which == "sample":
        lines = (folder / "CDNOW_sample.txt").read_text().split("\n")
        fields = [line.split() for line in lines if line.strip()]
        return [Row(f[0].zfill(5), _day(f[2]), int(f[3]), _cents(f[4])) for f in fields]
    lines = (folder / "CDNOW_master.txt").read_text().split("\n")[1:]
    fields = [line.split() for line in lines if line.strip()]
    return [Row(f[0], _day(f[1]), int(f[2]), _cents(f[3])) for f in fields]


def _cents(text: str) -> int:
    return int((Decimal(text) * 100).to_integral_value())


def load(engine: Engine, rows: list[Row], *, copies: int = 1, batch: int = 20_000) -> int:
    """Inserts the customers and purchases (`copies` > 1 repeats the cohort under new
    contacts, to measure a bigger store with the same shape). Returns purchases added."""
    customers = sorted({r.customer for r in rows})
    now = datetime(1998, 7, 1, tzinfo=UTC)
    added = 0
    with engine.begin() as connection:
        for copy in range(copies):
            base = copy * len(customers)
            ids = {c: base + i + 1 for i, c in enumerate(customers)}
            contacts = [
                {
                    "id": ids[c],
                    "name": f"CDNOW {c}" + (f"/{copy}" if copy else ""),
                    "tags": [],
                    "custom_fields": {"external_id": c if not copy else f"{c}/{copy}"},
                    "created_via": "import",
                    "search_text": f"cdnow {c}",
                    "opted_out": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for c in customers
            ]
            for start in range(0, len(contacts), batch):
                connection.execute(insert(Contact), contacts[start : start + batch])
            purchases = [
                {
                    "contact_id": ids[r.customer],
                    "purchased_at": datetime.combine(r.day, time(12), tzinfo=UTC),
                    "amount_minor": r.amount_minor,
                    "currency": "USD",
                    "quantity": max(r.quantity, 1),
                    "source": "import",
                    "anonymised": False,
                    "created_at": now,
                }
                for r in rows
            ]
            for start in range(0, len(purchases), batch):
                connection.execute(insert(Purchase), purchases[start : start + batch])
            added += len(purchases)
    return added
