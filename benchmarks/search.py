"""Contact search at scale: p50/p99 of `find` on SQLite (and PostgreSQL when given).

    python -m benchmarks.search [--contacts 100000] [--queries 200] [--postgres URL]

Builds N synthetic contacts with bulk inserts, then times `search_contacts` for
four kinds of query a rep types (a name, a company, a typo, an exact email). The
baseline in the same run is a primary-key lookup of one contact on the same
database, so the ratio column says how many point reads one search costs, which
is comparable across machines where absolute times are not.
"""

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import Session, SQLModel

import crm.models  # noqa: F401 - registers the tables
from crm.db import Store, make_engine
from crm.models import Company, Contact, ContactPoint
from crm.search import search_contacts

FIRST = [
    "Jane",
    "John",
    "Maria",
    "Ahmed",
    "Li",
    "Olga",
    "Pierre",
    "Ana",
    "Kofi",
    "Yuki",
    "Sam",
    "Priya",
    "Lars",
    "Chen",
    "Noor",
    "Ivan",
]
LAST = [
    "Doe",
    "Smith",
    "Garcia",
    "Khan",
    "Wang",
    "Novak",
    "Martin",
    "Silva",
    "Mensah",
    "Sato",
    "Stone",
    "Patel",
    "Berg",
    "Li",
    "Aziz",
]
WORDS = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "hooli",
    "vandelay",
]


def build(store: Store, n: int, seed: int = 7) -> list[str]:
    """Inserts n contacts (and their emails) in batches; returns a sample of emails."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    companies = [f"{w.title()} {s}" for w in WORDS for s in ("Inc", "Labs", "Group", "Ltd")]
    with Session(store.engine) as session:
        session.execute(
            insert(Company),
            [
                {"name": c, "name_key": c.lower(), "created_at": now, "updated_at": now}
                for c in companies
            ],
        )
        session.commit()
    emails: list[str] = []
    batch = 5000
    for start in range(0, n, batch):
        contacts, points = [], []
        for i in range(start, min(n, start + batch)):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            company_id = rng.randrange(len(companies)) + 1
            email = f"{name.split()[0].lower()}.{i}@{WORDS[company_id % len(WORDS)]}.com"
            search = f"{name} {companies[company_id - 1]} {email}".lower()
            contacts.append(
                {
                    "id": i + 1,
                    "name": name,
                    "company_id": company_id,
                    "tags": [],
                    "custom_fields": {},
                    "search_text": search,
                    "created_via": "bench",
                    "opted_out": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            points.append(
                {
                    "contact_id": i + 1,
                    "kind": "email",
                    "value": email,
                    "position": 0,
                    "created_at": now,
                }
            )
            if i % 997 == 0:
                emails.append(email)
        with Session(store.engine) as session:
            session.execute(insert(Contact), contacts)
            session.execute(insert(ContactPoint), points)
            session.commit()
    if store.dialect == "postgresql":
        with store.engine.begin() as connection:
            connection.execute(text("SELECT setval('contact_id_seq', :n)"), {"n": n})
            connection.execute(text("ANALYZE"))
    return emails


def swap(word: str, rng: random.Random) -> str:
    """A typo: two neighbouring letters swapped."""
    if len(word) < 3:
        return word
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(url: str, n: int, queries: int) -> list[tuple[str, str, float, float, float]]:
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    store = Store(engine)
    started = time.perf_counter()
    emails = build(store, n)
    print(f"  built {n:,} contacts on {store.dialect} in {time.perf_counter() - started:.1f} s")
    rng = random.Random(11)
    rows = []
    with Session(engine) as session:
        baseline = timed(lambda: session.get(Contact, rng.randrange(n) + 1), queries)
        base_p50 = statistics.median(baseline)
        cases = {
            "name": lambda: f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "company": lambda: rng.choice(WORDS),
            "typo": lambda: f"{swap(rng.choice(FIRST), rng)} {rng.choice(LAST)}",
            "no match": lambda: "".join(rng.choice("qxzjvw") for _ in range(7)),
            "email": lambda: rng.choice(emails),
        }
        rows.append(
            (store.dialect, "pk lookup (baseline)", base_p50, percentile(baseline, 0.99), 1.0)
        )
        for label, make_query in cases.items():
            count = max(5, queries // 10) if label == "no match" else queries
            samples = timed(lambda mq=make_query: search_contacts(session, mq()), count)
            p50 = statistics.median(samples)
            rows.append(
                (store.dialect, f"find: {label}", p50, percentile(samples, 0.99), p50 / base_p50)
            )
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--postgres", help="a PostgreSQL URL; a scratch database is created")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        results += run(f"sqlite:///{Path(folder) / 'bench.db'}", args.contacts, args.queries)
    if args.postgres:
        name = f"rapport_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            base, _, _ = args.postgres.rpartition("/")
            results += run(f"{base}/{name}", args.contacts, args.queries)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"\nContact search, {args.contacts:,} contacts")
    print(f"{'database':<11}{'query':<24}{'p50 ms':>10}{'p99 ms':>10}{'x baseline':>12}")
    for dialect, label, p50, p99, ratio in results:
        print(f"{dialect:<11}{label:<24}{p50:>10.2f}{p99:>10.2f}{ratio:>12.1f}")


if __name__ == "__main__":
    main()
