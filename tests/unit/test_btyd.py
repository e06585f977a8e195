"""The buy-till-you-die models against the published CDNOW figures and their own maths.

The CDNOW files are read where they lie (RAPPORT_CDNOW_DIR, else ../shared/data/cdnow
beside the clone); without them the paper checks skip and say why.
"""

from datetime import date

import numpy as np
import pytest

from benchmarks import cdnow
from crm.analytics import btyd
from crm.analytics.value import parse_horizon

DATA = cdnow.cdnow_dir()
needs_cdnow = pytest.mark.skipif(
    not (DATA / "CDNOW_sample.txt").is_file(),
    reason=f"CDNOW data not found at {DATA} (set RAPPORT_CDNOW_DIR to the folder)",
)


def sample_summary() -> btyd.Summary:
    days: dict[tuple[str, int], float] = {}
    start, end = date(1997, 1, 1), (date(1997, 9, 30) - date(1997, 1, 1)).days
    for row in cdnow.read("sample", DATA):
        day = (row.day - start).days
        if day <= end:  # purchases on the as-of day are in
            key = (row.customer, day)
            days[key] = days.get(key, 0.0) + row.amount_minor / 100
    keys = sorted(days)
    _, index = np.unique([k[0] for k in keys], return_inverse=True)
    return btyd.summarise(
        index, np.array([k[1] for k in keys]), np.array([days[k] for k in keys]), end
    )


@needs_cdnow
def test_bgnbd_on_the_cdnow_sample_matches_fader_hardie_lee_2005() -> None:
    summary = sample_summary()
    assert len(summary.frequency) == 2357
    fit = btyd.fit_bgnbd(summary)
    assert fit.converged
    paper = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in paper.items():
        assert fit.params[name] == pytest.approx(value, rel=0.01), name


@needs_cdnow
def test_pareto_nbd_and_gamma_gamma_match_their_published_cdnow_fits() -> None:
    summary = sample_summary()
    pareto = btyd.fit_pareto(summary)
    # Fader, Hardie & Lee 2005 table 1 (Pareto/NBD on the same sample)
    for name, value in {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}.items():
        assert pareto.params[name] == pytest.approx(value, rel=0.01), name
    spend = btyd.fit_gamma_gamma(summary)
    # Fader, Hardie & Lee (2005b) "RFM and CLV" note: p=6.25, q=3.74, v=15.44
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert spend.params[name] == pytest.approx(value, rel=0.01), name


def test_p_alive_and_expectations_behave() -> None:
    p = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    x = np.array([0.0, 3.0, 3.0])
    t_x = np.array([0.0, 30.0, 5.0])
    big_t = np.array([38.0, 38.0, 38.0])
    alive = btyd.bgnbd_p_alive(p, x, t_x, big_t)
    assert alive[0] == 1.0  # BG/NBD: nobody dies before a repeat purchase
    assert alive[1] > alive[2]  # the same count, bought more recently: more likely alive
    expected = btyd.bgnbd_expected(p, 39.0, x, t_x, big_t)
    assert expected[1] > expected[2] > 0
    pareto = {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67}
    alive_p = btyd.pareto_p_alive(pareto, x, t_x, big_t)
    assert 0 < alive_p[0] < 1 and alive_p[1] > alive_p[2]
    # the expectation grows with the horizon
    short = btyd.pareto_expected(pareto, 10.0, x, t_x, big_t)
    long = btyd.pareto_expected(pareto, 52.0, x, t_x, big_t)
    assert np.all(long > short)


def test_auc_and_horizons() -> None:
    assert btyd.auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([False, False, True, True])) == 1.0
    assert btyd.auc(np.array([0.5, 0.5]), np.array([False, True])) == 0.5
    assert btyd.auc(np.array([0.5]), np.array([True])) is None
    assert parse_horizon("39w") == 39.0
    assert parse_horizon("12m") == pytest.approx(52.18, abs=0.01)
    assert parse_horizon(None) == parse_horizon("12m")
    with pytest.raises(ValueError, match="39w"):
        parse_horizon("soon")
