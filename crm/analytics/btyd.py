"""Buy-till-you-die models: how many purchases a customer will make, and what they are worth.

A customer's history is summarised as (x, t_x, T) in weeks, as Fader, Hardie & Lee (2005)
count it: x repeat purchases (purchase *days* after the first, several purchases in one
day counted once), t_x the time from the first to the last purchase, T the time from the
first purchase to the end of calibration; durations are whole days divided by 7.

- **BG/NBD** (Fader, Hardie & Lee 2005): purchases are Poisson(lambda) while alive, after
  each purchase the customer drops out with probability p; lambda ~ Gamma(r, alpha),
  p ~ Beta(a, b). Gives E[purchases in the next t weeks] and P(alive).
- **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987): the same Poisson buying, but the
  lifetime is exponential(mu), mu ~ Gamma(s, beta), so a customer can die without
  buying again. Its P(alive) is below 1 for one-time buyers, which BG/NBD's is not.
- **Gamma-Gamma** (Fader, Hardie & Lee 2005b): spend per purchase, for customers with
  repeat purchases, independent of the buying process: E[spend | x, m_x].

Each is fitted by maximum likelihood in log-parameter space (the parameters are
positive, and their scales differ by orders of magnitude) with L-BFGS-B between bounds;
every term is a log (gammaln, logaddexp), so large counts never overflow. All the maths
is vectorised over customers: the cost is linear in the number of customers.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

Array = NDArray[np.float64]
LOG_BOUND = 9.0  # parameters between e^-9 and e^9: far wider than any fitted on real data


@dataclass(frozen=True)
class Fit:
    """A fitted model: its parameters by name, and whether the optimiser converged."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    converged: bool
    message: str


@dataclass(frozen=True)
class Summary:
    """Per-customer (x, t_x, T) in weeks, and the mean spend of the repeat purchases."""

    frequency: Array
    recency: Array
    age: Array
    monetary: Array  # mean spend of the repeat purchase-days (0 when x = 0)


def summarise(
    customer: NDArray[np.int64], day: NDArray[np.int64], amount: Array, end_day: int
) -> Summary:
    """From one row per customer-day (customer index 0..n-1, day number, that day's
    spend), sorted by customer then day, to the per-customer summary. Days after
    `end_day` must already be left out."""
    n = int(customer.max()) + 1 if customer.size else 0
    counts = np.bincount(customer, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    first = day[starts]
    last = day[starts + counts - 1]
    spend = np.bincount(customer, weights=amount, minlength=n)
    repeat_spend = spend - amount[starts]
    x = (counts - 1).astype(float)
    monetary = np.divide(repeat_spend, x, out=np.zeros(n), where=x > 0)
    return Summary(
        frequency=x,
        recency=(last - first) / 7.0,
        age=(end_day - first) / 7.0,
        monetary=monetary,
    )


def summary_from_totals(
    days: NDArray[np.int64],
    first: NDArray[np.int64],
    last: NDArray[np.int64],
    spend: Array,
    first_spend: Array,
    end_day: int,
) -> Summary:
    """The same summary from one row per customer, as the database aggregates it: the
    number of purchase-days, the first and last day numbers, the total spend and the
    first day's spend (the repeat purchases are the others)."""
    x = (days - 1).astype(float)
    repeat_spend = spend - first_spend
    monetary = np.divide(repeat_spend, x, out=np.zeros(len(x)), where=x > 0)
    return Summary(
        frequency=x,
        recency=(last - first) / 7.0,
        age=(end_day - first) / 7.0,
        monetary=monetary,
    )


def _fit(
    model: str,
    names: tuple[str, ...],
    negative_ll: Callable[[Array], float],
    start: Array,
) -> Fit:
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
    result = minimize(negative_ll, np.log(start), method="L-BFGS-B", bounds=bounds)
    at_bound = bool(np.any(np.abs(result.x) >= LOG_BOUND - 1e-6))
    converged = bool(result.success) and not at_bound and bool(np.isfinite(result.fun))
    message = str(result.message) if not at_bound else "a parameter ran to its bound"
    params = dict(zip(names, (float(v) for v in np.exp(result.x)), strict=True))
    return Fit(model, params, -float(result.fun), converged, message)


def _distinct(*columns: Array) -> tuple[list[Array], Array]:
    """Distinct rows of the columns and how often each occurs: the likelihood is a sum over
    customers, and customers with the same summary (most one-time buyers of a cohort
    share a handful) need evaluating once, weighted. This keeps the special functions,
    the expensive part, to a few thousand evaluations however many customers there are."""
    rows, counts = np.unique(np.column_stack(columns), axis=0, return_counts=True)
    return [rows[:, i] for i in range(rows.shape[1])], counts.astype(float)


# --- BG/NBD ---------------------------------------------------------------------------------


def bgnbd_log_likelihood(params: Array, x: Array, t_x: Array, big_t: Array) -> Array:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(s: Summary) -> Fit:
    (x, t_x, big_t), w = _distinct(s.frequency, s.recency, s.age)
    n = float(w.sum())

    def nll(log_params: Array) -> float:
        return -float(np.sum(w * bgnbd_log_likelihood(np.exp(log_params), x, t_x, big_t))) / n

    fit = _fit("bgnbd", ("r", "alpha", "a", "b"), nll, np.array([1.0, 1.0, 1.0, 1.0]))
    return Fit(fit.model, fit.params, fit.log_likelihood * n, fit.converged, fit.message)


def bgnbd_p_alive(p: dict[str, float], x: Array, t_x: Array, big_t: Array) -> Array:
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = (
            np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        )
    return np.where(x > 0, 1.0 / (1.0 + np.exp(np.where(x > 0, log_ratio, 0.0))), 1.0)


def bgnbd_expected(p: dict[str, float], t: float, x: Array, t_x: Array, big_t: Array) -> Array:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10)."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    z = t / (alpha + big_t + t)
    head = (a + b + x - 1) / (a - 1)
    tail = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        odds = np.where(x > 0, a / (b + x - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x), 0.0)
    return head * tail / (1 + odds)


def bgnbd_expected_new(p: dict[str, float], t: float) -> float:
    """E[X(t)] for a customer just acquired (the population curve, FHL eq. 7)."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    z = t / (alpha + t)
    return float(
        (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))
    )


# --- Pareto/NBD -------------------------------------------------------------------------------


def _pareto_log_a0(params: Array, x: Array, t_x: Array, big_t: Array) -> Array:
    r, alpha, s, beta = params
    if alpha >= beta:
        low, high, shape = beta, alpha, s + 1
    else:
        low, high, shape = alpha, beta, r + x
    rsx = r + s + x
    gap = high - low
    p1 = hyp2f1(rsx, shape, rsx + 1, gap / (high + t_x))
    p2 = hyp2f1(rsx, shape, rsx + 1, gap / (high + big_t))
    q1, q2 = high + t_x, high + big_t
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.log(p1) + rsx * np.log(q2)
        second = np.log(p2) + rsx * np.log(q1)
        # log(e^first - e^second), first >= second since t_x <= T
        diff = first + np.log1p(-np.exp(np.minimum(second - first, 0.0)))
    return diff - rsx * np.log(q1 * q2)


def pareto_log_likelihood(params: Array, x: Array, t_x: Array, big_t: Array) -> Array:
    r, alpha, s, beta = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_a0 = _pareto_log_a0(params, x, t_x, big_t)
    a2 = np.logaddexp(
        -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t),
        np.log(s) + log_a0 - np.log(r + s + x),
    )
    return a1 + a2


def fit_pareto(s: Summary) -> Fit:
    (x, t_x, big_t), w = _distinct(s.frequency, s.recency, s.age)
    n = float(w.sum())

    def nll(log_params: Array) -> float:
        value = -float(np.sum(w * pareto_log_likelihood(np.exp(log_params), x, t_x, big_t))) / n
        return value if np.isfinite(value) else 1e12

    fit = _fit("pareto_nbd", ("r", "alpha", "s", "beta"), nll, np.array([1.0, 1.0, 1.0, 1.0]))
    return Fit(fit.model, fit.params, fit.log_likelihood * n, fit.converged, fit.message)


def pareto_p_alive(p: dict[str, float], x: Array, t_x: Array, big_t: Array) -> Array:
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    params = np.array([r, alpha, s, beta])
    log_a0 = _pareto_log_a0(params, x, t_x, big_t)
    exponent = (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + big_t)
        + s * np.log(beta + big_t)
        + log_a0
    )
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(exponent))


def pareto_expected(p: dict[str, float], t: float, x: Array, t_x: Array, big_t: Array) -> Array:
    """E[purchases in (T, T + t] | x, t_x, T]: P(alive) × (r+x)/(alpha+T) × E[remaining
    lifetime within t] (Schmittlein et al. 1987, eq. 22)."""
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    alive = pareto_p_alive(p, x, t_x, big_t)
    if abs(s - 1) < 1e-9:
        life = (beta + big_t) * np.log((beta + big_t + t) / (beta + big_t))
    else:
        life = (beta + big_t) / (s - 1) * (1 - ((beta + big_t) / (beta + big_t + t)) ** (s - 1))
    return alive * (r + x) / (alpha + big_t) * life


# --- Gamma-Gamma ------------------------------------------------------------------------------


def gamma_gamma_log_likelihood(params: Array, x: Array, m: Array) -> Array:
    p, q, v = params
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + v)
    )


def fit_gamma_gamma(s: Summary) -> Fit:
    """On customers with repeat purchases worth more than nothing (log m needs m > 0)."""
    keep = (s.frequency > 0) & (s.monetary > 0)
    (x, m), w = _distinct(s.frequency[keep], s.monetary[keep])
    n = max(float(w.sum()), 1.0)

    def nll(log_params: Array) -> float:
        return -float(np.sum(w * gamma_gamma_log_likelihood(np.exp(log_params), x, m))) / n

    start = np.array([1.0, 1.0, max(float(np.mean(m)) if len(m) else 1.0, 1e-3)])
    fit = _fit("gamma_gamma", ("p", "q", "v"), nll, start)
    converged = fit.converged and fit.params["q"] > 1  # the mean spend is finite only for q > 1
    message = fit.message if fit.params["q"] > 1 else "q <= 1: the mean spend is not finite"
    return Fit(fit.model, fit.params, fit.log_likelihood * n, converged, message)


def expected_spend(p: dict[str, float], x: Array, m: Array) -> Array:
    """E[spend per purchase | x, m_x]: a weighted mean of the population mean and the
    customer's own repeat mean, more of their own the more they bought."""
    pp, q, v = p["p"], p["q"], p["v"]
    population = v * pp / (q - 1)
    weight = pp * x / (pp * x + q - 1)
    return np.where(x > 0, (1 - weight) * population + weight * m, population)


# --- ranking quality --------------------------------------------------------------------------


def auc(scores: Array, positive: NDArray[np.bool_]) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties count half); None without both classes."""
    from scipy.stats import rankdata

    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
