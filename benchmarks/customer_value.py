"""Customer value on real purchases (CDNOW): the paper's fit, ranking quality, speed.

    python -m benchmarks.customer_value [--quick] [--pg-large] [--postgres URL]

1. Fader, Hardie & Lee (2005) set-up on the 1/10 sample: weeks 1-39 calibration
   (1997-01-01..1997-09-30, the as-of day included), 40-78 holdout. The sample goes into a
   temporary SQLite store and `customer_value` (what `rapport report clv --as-of
   1997-09-30` runs) fits BG/NBD; its parameters are printed next to the paper's, and the
   predicted holdout repeat purchases next to the actual ones.
2. The full cohort (23,570) as of the calibration end: customers ranked by expected value
   against the naive baseline (rank by calibration spend), Spearman with the actual
   holdout spend and the top decile's share of holdout revenue; P(alive) AUC for "bought
   again in the holdout" under BG/NBD and Pareto/NBD.
3. Speed: every report on the full data on SQLite, at one and at two copies of the cohort
   (to show it grows linearly), as a ratio to `SELECT count(*) FROM purchase` in the same
   run. `--pg-large` adds PostgreSQL at ~100k contacts / ~1M purchases (CDNOW repeated
   with fresh contacts: 4 copies ~ 94k contacts / 279k purchases; 15 copies ~ 354k
   contacts / 1.04M purchases; the default is enough copies for 1M purchases).
"""

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from benchmarks import cdnow
from bot.reports import run_report
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


def _median(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def speed(engine: Engine, label: str, repeat: int) -> None:
    store = Store(engine)
    now = datetime(1998, 7, 1, tzinfo=UTC)

    def count() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM purchase")).scalar()

    with engine.connect() as connection:
        purchases = connection.execute(text("SELECT count(*) FROM purchase")).scalar()
        contacts = connection.execute(text("SELECT count(*) FROM contact")).scalar()
    base = _median(count, repeat)
    print(
        f"### {label}: {contacts:,} contacts, {purchases:,} purchases; "
        f"count(*) {base * 1000:.1f} ms"
    )
    print("| report | seconds | ratio to count(*) |")
    print("|---|---|---|")
    for name in REPORTS:

        def run(name: str = name) -> None:
            with store.transaction() as session:
                run_report(
                    session, name=name, period_text="1997-09-01 to 1997-09-30", tz="UTC",
                    now=now, pipeline=PIPELINE,
                )  # fmt: skip

        seconds = _median(run, repeat)
        print(f"| {name} | {seconds:.2f} | {seconds / base:,.0f} |")
    print()


def _pg_database(url: str) -> tuple[str, Engine]:
    name = f"rapport_value_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(url).set(database=name).render_as_string(hide_password=False), admin


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="sample only, no speed runs")
    parser.add_argument("--pg-large", action="store_true", help="PostgreSQL at ~1M purchases")
    parser.add_argument("--postgres", default=os.environ.get("RAPPORT_TEST_DATABASE_URL"))
    parser.add_argument("--copies", type=int, default=15, help="cohort copies for --pg-large")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (cdnow.cdnow_dir() / "CDNOW_master.txt").is_file():
        raise SystemExit(f"CDNOW data not found at {cdnow.cdnow_dir()}; set RAPPORT_CDNOW_DIR")
    print(f"# Customer value benchmark, {datetime.now(UTC):%Y-%m-%d}\n")
    with tempfile.TemporaryDirectory() as folder:
        paper_check(Path(folder))
        ranking(cdnow.read("sample"), "CDNOW sample")
        if args.quick:
            return
        master = cdnow.read("master")
        ranking(master, "full CDNOW cohort")
        print("## Reports on SQLite (period 1997-09-01..30, value as of 1997-09-30)")
        for copies in (1, 2):
            engine = _sqlite(Path(folder), f"master{copies}.db")
            cdnow.load(engine, master, copies=copies)
            speed(engine, f"SQLite x{copies}", args.repeat)
            engine.dispose()
        if args.pg_large:
            if not args.postgres:
                raise SystemExit("--pg-large needs --postgres URL or RAPPORT_TEST_DATABASE_URL")
            url, admin = _pg_database(args.postgres)
            try:
                engine = make_engine(url)
                upgrade(engine)
                cdnow.load(engine, master, copies=args.copies)
                with engine.connect() as connection:
                    connection.execute(text("ANALYZE"))
                speed(engine, f"PostgreSQL x{args.copies}", max(1, args.repeat - 2))
                engine.dispose()
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}"'))
                admin.dispose()


if __name__ == "__main__":
    main()
