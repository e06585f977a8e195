"""Customer value on real purchases (CDNOW): the paper's fit, ranking quality, speed.

    python -m benchmarks.customer_value [--quick | --speed] [--pg-large] [--postgres URL]
                                        [--pg-contacts N] [--pg-purchases M] [--repeat R]
                                        [--work-mem off,64MB]

1. Fader, Hardie & Lee (2005) set-up on the 1/10 sample: weeks 1-39 calibration
   (1997-01-01..1997-09-30, the as-of day included), 40-78 holdout. The sample goes into a
   temporary SQLite store and `customer_value` (what `rapport report clv --as-of
   1997-09-30` runs) fits BG/NBD; its parameters are printed next to the paper's, and the
   predicted holdout repeat purchases next to the actual ones.
2. The full cohort (23,570) as of the calibration end: customers ranked by expected value
   against the naive baseline (rank by calibration spend), Spearman with the actual
   holdout spend and the top decile's share of holdout revenue; P(alive) AUC for "bought
   again in the holdout" under BG/NBD and Pareto/NBD.
3. Speed (`--speed` runs only this): every purchase report (clv, churn, segments, value)
   over the data's last month, June 1998 (so the value model sees every purchase), on
   SQLite with the full CDNOW data and with it doubled (every customer repeated under a
   new id), best of `--repeat` runs, as seconds and as a ratio to `SELECT count(*) FROM
   purchase` in the same run, then the growth factor from one size to the other (linear:
   the data's factor, 2). `--pg-large` adds PostgreSQL on a synthetic store (see
   `synthetic`; COPY-loaded into a fresh database of its own, dropped after) at half and
   full `--pg-contacts` / `--pg-purchases` (default 100k / 1M), each size loaded once and
   measured once per `--work-mem` value (the report transactions' work_mem, as
   RAPPORT_REPORT_WORK_MEM sets it; `off` is the server's own).
"""

import argparse
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from benchmarks import cdnow
from bot.reports import run_report
from bot.settings import parse_work_mem
from crm.analytics import btyd
from crm.analytics.value import customer_value
from crm.db import Store, make_engine
from crm.deals import Pipeline
from crm.migrate import upgrade

PAPER = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
REPORTS = ("clv", "churn", "segments", "value")
PIPELINE = Pipeline([("lead", 10), ("proposal", 50)])


def _sqlite(folder: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{folder / name}")
    upgrade(engine)
    return engine


def paper_check(folder: Path) -> None:
    engine = _sqlite(folder, "sample.db")
    cdnow.load(engine, cdnow.read("sample"))
    with Store(engine).transaction() as session:
        report = customer_value(session, as_of=cdnow.CALIBRATION_END, horizon_weeks=39)
    engine.dispose()
    fitted = report.model["bgnbd"]["params"]
    print("## BG/NBD on the CDNOW sample (2,357 customers, weeks 1-39)")
    print("| param | paper | fitted | diff |")
    print("|---|---|---|---|")
    for name, value in PAPER.items():
        print(
            f"| {name} | {value} | {fitted[name]:.4f} | {100 * (fitted[name] / value - 1):+.2f}% |"
        )
    rows = cdnow.read("sample")
    summary, holdout_days, _ = _split(rows)
    bg = btyd.fit_bgnbd(summary)
    pn = btyd.fit_pareto(summary)
    predicted_bg = btyd.bgnbd_expected(
        bg.params, 39, summary.frequency, summary.recency, summary.age
    )
    predicted_pn = btyd.pareto_expected(
        pn.params, 39, summary.frequency, summary.recency, summary.age
    )
    print(
        "\nHoldout (weeks 40-78) repeat purchases (customer-days): actual "
        f"{int(holdout_days.sum())}, BG/NBD predicted {predicted_bg.sum():.0f}, "
        f"Pareto/NBD predicted {predicted_pn.sum():.0f}\n"
    )


def _split(rows: list[cdnow.Row]) -> tuple[btyd.Summary, np.ndarray, np.ndarray]:
    """Calibration summary, and per customer the holdout purchase-days and spend."""
    start = date(1997, 1, 1)
    end = (cdnow.CALIBRATION_END - start).days
    customers = sorted({r.customer for r in rows})
    position = {c: i for i, c in enumerate(customers)}
    cal: dict[tuple[int, int], float] = {}
    hold_days: set[tuple[int, int]] = set()
    hold_spend = np.zeros(len(customers))
    for r in rows:
        i, day = position[r.customer], (r.day - start).days
        if day <= end:
            cal[(i, day)] = cal.get((i, day), 0.0) + r.amount_minor / 100
        else:
            hold_days.add((i, day))
            hold_spend[i] += r.amount_minor / 100
    keys = sorted(cal)
    summary = btyd.summarise(
        np.array([k[0] for k in keys]), np.array([k[1] for k in keys]),
        np.array([cal[k] for k in keys]), end,
    )  # fmt: skip
    counts = np.bincount([k[0] for k in hold_days], minlength=len(customers))
    return summary, counts, hold_spend


def ranking(rows: list[cdnow.Row], label: str) -> None:
    summary, hold_days, hold_spend = _split(rows)
    x, t_x, big_t = summary.frequency, summary.recency, summary.age
    spend = btyd.fit_gamma_gamma(summary)
    per = btyd.expected_spend(spend.params, x, summary.monetary)
    bg, pn = btyd.fit_bgnbd(summary), btyd.fit_pareto(summary)
    scores = {
        "BG/NBD + Gamma-Gamma": btyd.bgnbd_expected(bg.params, 39, x, t_x, big_t) * per,
        "Pareto/NBD + Gamma-Gamma": btyd.pareto_expected(pn.params, 39, x, t_x, big_t) * per,
        "baseline: calibration spend": _calibration_total(rows, len(x)),
    }
    total = hold_spend.sum()
    decile = max(1, len(x) // 10)
    print(f"## Ranking the {label} ({len(x):,} customers) by expected holdout value")
    print("| ranking | Spearman vs holdout spend | top-decile share of holdout revenue |")
    print("|---|---|---|")
    for name, score in scores.items():
        rho = spearmanr(score, hold_spend).statistic
        top = np.argsort(-score, kind="stable")[:decile]
        print(f"| {name} | {rho:.3f} | {hold_spend[top].sum() / total:.1%} |")
    bought = hold_days > 0
    print("\n| P(alive) model | AUC for 'bought again in the holdout' |")
    print("|---|---|")
    print(f"| BG/NBD | {btyd.auc(btyd.bgnbd_p_alive(bg.params, x, t_x, big_t), bought):.3f} |")
    print(
        f"| Pareto/NBD | {btyd.auc(btyd.pareto_p_alive(pn.params, x, t_x, big_t), bought):.3f} |\n"
    )


def _calibration_total(rows: list[cdnow.Row], n: int) -> np.ndarray:
    customers = sorted({r.customer for r in rows})
    position = {c: i for i, c in enumerate(customers)}
    total = np.zeros(n)
    for r in rows:
        if r.day <= cdnow.CALIBRATION_END:
            total[position[r.customer]] += r.amount_minor
    return total


SPEED_PERIOD = "1998-06-01 to 1998-06-30"  # the data's last month: value as of its last day
DAY0 = date(1997, 1, 1)
SPAN_DAYS = (cdnow.HOLDOUT_END - DAY0).days + 1  # 1997-01-01..1998-06-30, CDNOW's span


@dataclass(frozen=True)
class Timing:
    """Best of `repeat` runs (the least disturbed on a shared machine): wall seconds and
    this process's CPU seconds (on SQLite that includes the database's work)."""

    wall: float
    cpu: float


def _best(fn: Callable[[], object], repeat: int) -> Timing:
    samples = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        samples.append(Timing(time.perf_counter() - wall, time.process_time() - cpu))
    return min(samples, key=lambda t: t.wall)


@dataclass(frozen=True)
class Size:
    label: str
    contacts: int
    purchases: int
    count: Timing  # SELECT count(*) FROM purchase
    reports: dict[str, Timing]


def speed(engine: Engine, label: str, repeat: int, work_mem: str | None = None) -> Size:
    """Every purchase report over SPEED_PERIOD through `run_report` in a report
    transaction (`Store.report`, what a rep waits for), and the same-run baseline
    `SELECT count(*) FROM purchase`."""
    store = Store(engine, report_work_mem=work_mem)
    now = datetime(1998, 7, 1, tzinfo=UTC)

    def count() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM purchase")).scalar()

    with engine.connect() as connection:
        purchases = int(connection.execute(text("SELECT count(*) FROM purchase")).scalar() or 0)
        contacts = int(connection.execute(text("SELECT count(*) FROM contact")).scalar() or 0)
    baseline = _best(count, max(10, 5 * repeat))
    reports = {}
    for name in REPORTS:

        def run(name: str = name) -> None:
            with store.report() as session:
                run_report(
                    session, name=name, period_text=SPEED_PERIOD, tz="UTC", now=now,
                    pipeline=PIPELINE,
                )  # fmt: skip

        reports[name] = _best(run, repeat)
        print(f"  {label} {name}: {reports[name].wall:.2f} s", flush=True)
    return Size(label, contacts, purchases, baseline, reports)


def _ratio(size: Size, report: str) -> float:
    return size.reports[report].wall / size.count.wall


def print_sizes(title: str, sizes: list[Size], *, cpu: bool) -> None:
    """One row per store size (seconds and ratio to count(*)), then how each report grew
    from the first size to the last against how the data grew (linear: the same factor)."""
    print(f"### {title}")
    print("| store | contacts / purchases | count(*) ms | " + " | ".join(REPORTS) + " |")
    print("|---|---|---|" + "---|" * len(REPORTS))
    for z in sizes:
        cells = [
            f"{z.reports[n].wall:.2f} s ({_ratio(z, n):,.0f})"
            + (f", CPU {z.reports[n].cpu:.2f} s" if cpu else "")
            for n in REPORTS
        ]
        print(
            f"| {z.label} | {z.contacts:,} / {z.purchases:,} | {z.count.wall * 1000:.2f} | "
            + " | ".join(cells) + " |"
        )  # fmt: skip
    first, last = sizes[0], sizes[-1]
    data = last.purchases / first.purchases
    growth = [f"{last.reports[n].wall / first.reports[n].wall:.2f}" for n in REPORTS]
    print(f"| time growth (wall), data x{data:.2f} | | "
          f"{last.count.wall / first.count.wall:.2f} | " + " | ".join(growth) + " |")  # fmt: skip
    ratio = [f"{_ratio(last, n) / _ratio(first, n):.2f}" for n in REPORTS]
    print("| growth of the ratio to count(*) | | 1 | " + " | ".join(ratio) + " |")
    if cpu:
        growth = [f"{last.reports[n].cpu / first.reports[n].cpu:.2f}" for n in REPORTS]
        print(f"| time growth (CPU), data x{data:.2f} | | | " + " | ".join(growth) + " |")
    print()


def synthetic(contacts: int, purchases: int, seed: int = 19) -> tuple[np.ndarray, ...]:
    """A reproducible purchase history shaped like CDNOW's but denser: first purchases
    over the first 12 weeks of 1997, Poisson buying while alive and exponential lifetimes,
    both rates Gamma-distributed over customers (Pareto/NBD's story), repeat times
    uniform over each customer's observed life, spend per purchase Gamma around a
    per-customer mean. The buying rate
    is scaled so the total is about `purchases`. Returns (contact index, day number from
    1997-01-01, amount in cents), sorted by contact then day."""
    rng = np.random.default_rng(seed)
    weeks = SPAN_DAYS / 7
    first = rng.integers(0, 84, contacts)
    observed = weeks - first / 7
    death_rate = rng.gamma(1.5, 1 / 80, contacts)  # per week: lifetimes ~ a year on average
    life = np.minimum(rng.exponential(1 / death_rate), observed)
    mean_rate = max(purchases / contacts - 1, 0) / max(float(life.mean()), 1e-9)
    rate = rng.gamma(2.0, mean_rate / 2.0, contacts)
    repeats = rng.poisson(rate * life)
    who = np.concatenate([np.arange(contacts), np.repeat(np.arange(contacts), repeats)])
    offset = np.concatenate([np.zeros(contacts), rng.uniform(0, 1, int(repeats.sum()))])
    day = first[who] + np.floor(offset * life[who] * 7).astype(np.int64)
    day = np.minimum(day, SPAN_DAYS - 1)
    mean_spend = rng.gamma(3.0, 1200.0, contacts)  # cents
    amount = np.maximum(rng.gamma(4.0, mean_spend[who] / 4.0), 100).astype(np.int64)
    order = np.lexsort((day, who))
    return who[order], day[order], amount[order]


def load_synthetic_postgres(engine: Engine, contacts: int, purchases: int) -> int:
    """COPY the synthetic store into PostgreSQL (contacts, then purchases); returns rows."""
    who, day, amount = synthetic(contacts, purchases)
    now = datetime(1998, 7, 1, tzinfo=UTC)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        columns = (
            "id, name, tags, opted_out, custom_fields, created_via, search_text, created_at, "
            "updated_at"
        )
        with cursor.copy(f"COPY contact ({columns}) FROM STDIN") as copy:
            for i in range(contacts):
                copy.write_row(
                    (i + 1, f"Synthetic {i + 1}", "[]", False,
                     json.dumps({"external_id": f"S{i + 1}"}), "import", f"synthetic {i + 1}",
                     now, now)
                )  # fmt: skip
        noon = [
            datetime.combine(
                DAY0 + timedelta(days=d), datetime.min.time().replace(hour=12), tzinfo=UTC
            )
            for d in range(SPAN_DAYS)
        ]
        columns = (
            "contact_id, purchased_at, amount_minor, currency, quantity, source, anonymised, "
            "created_at"
        )
        with cursor.copy(f"COPY purchase ({columns}) FROM STDIN") as copy:
            for w, d, a in zip(who.tolist(), day.tolist(), amount.tolist(), strict=True):
                copy.write_row((w + 1, noon[d], a, "USD", 1, "import", False, now))
        raw.commit()
        driver = raw.driver_connection  # VACUUM refuses to run inside a transaction
        driver.autocommit = True  # type: ignore[union-attr]
        driver.execute("VACUUM ANALYZE")  # type: ignore[union-attr]
    finally:
        raw.close()
    return len(who)


def _pg_database(url: str) -> tuple[str, Engine]:
    name = f"rapport_value_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(url).set(database=name).render_as_string(hide_password=False), admin


def postgres_sizes(
    url: str, contacts: int, purchases: int, repeat: int, work_mems: list[str | None]
) -> dict[str | None, list[Size]]:
    """Half the size and the full size, each in a fresh database of its own (dropped),
    measured once per work_mem value."""
    sizes: dict[str | None, list[Size]] = {value: [] for value in work_mems}
    for share in (2, 1):
        n, m = contacts // share, purchases // share
        database, admin = _pg_database(url)
        try:
            engine = make_engine(database)
            upgrade(engine)
            started = time.perf_counter()
            rows = load_synthetic_postgres(engine, n, m)
            print(f"  loaded {n:,} contacts / {rows:,} purchases in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
            for value in work_mems:
                label = f"PostgreSQL {n // 1000}k, work_mem {value or 'server'}"
                sizes[value].append(speed(engine, label, repeat, value))
            engine.dispose()
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(database).database}"'))
            admin.dispose()
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="sample only, no speed runs")
    parser.add_argument("--speed", action="store_true", help="only the speed runs")
    parser.add_argument("--pg-large", action="store_true", help="PostgreSQL, synthetic store")
    parser.add_argument("--postgres", default=os.environ.get("RAPPORT_TEST_DATABASE_URL"))
    parser.add_argument("--pg-contacts", type=int, default=100_000)
    parser.add_argument("--pg-purchases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--work-mem",
        default="off,64MB",
        help="comma-separated work_mem values for the PostgreSQL report transactions "
        "(off: the server's)",
    )
    args = parser.parse_args()
    if not (cdnow.cdnow_dir() / "CDNOW_master.txt").is_file():
        raise SystemExit(f"CDNOW data not found at {cdnow.cdnow_dir()}; set RAPPORT_CDNOW_DIR")
    try:
        work_mems = [parse_work_mem(v) for v in args.work_mem.split(",")]
    except ValueError as exc:
        raise SystemExit(f"--work-mem: {exc}") from None
    if args.pg_large and not args.postgres:
        raise SystemExit("--pg-large needs --postgres URL or RAPPORT_TEST_DATABASE_URL")
    print(f"# Customer value benchmark, {datetime.now(UTC):%Y-%m-%d}\n")
    with tempfile.TemporaryDirectory() as folder:
        master = cdnow.read("master")
        if not args.speed:
            paper_check(Path(folder))
            ranking(cdnow.read("sample"), "CDNOW sample")
            if args.quick:
                return
            ranking(master, "full CDNOW cohort")
        sizes = []
        for copies in (1, 2):
            engine = _sqlite(Path(folder), f"master{copies}.db")
            cdnow.load(engine, master, copies=copies)
            sizes.append(speed(engine, f"SQLite CDNOW x{copies}", args.repeat))
            engine.dispose()
        print(f"\n## Reports (period {SPEED_PERIOD}, value as of its last day; best of "
              f"{args.repeat}; seconds and, in brackets, the ratio to count(*))\n")  # fmt: skip
        print_sizes("SQLite, CDNOW and CDNOW doubled (customers repeated under new ids)",
                    sizes, cpu=True)  # fmt: skip
        if args.pg_large:
            pg = postgres_sizes(
                args.postgres, args.pg_contacts, args.pg_purchases, args.repeat, work_mems
            )
            for value, sizes in pg.items():
                title = f"PostgreSQL, synthetic purchases (COPY), work_mem {value or 'server'}"
                print_sizes(title, sizes, cpu=False)


if __name__ == "__main__":
    main()
