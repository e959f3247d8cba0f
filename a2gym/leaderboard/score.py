"""Leaderboard scores: cost relative to the reference, with intervals from ``scipy.stats.bootstrap``.

For one env, a row (an entry or a reserved row) and the reference on the same scenarios and seeds:

* a run's **normalised score** x[s, j] = reference cost / row cost on scenario s, seed j (> 1 beats the
  reference; the reference scores exactly 1);
* **score** = geometric mean over scenarios of the mean over seeds of x[s, j];
* **IQM** = interquartile mean of all runs' x (``scipy.stats.trim_mean(·, 0.25)``), robust to outliers;
* **P(> ref)** = probability of improvement over the reference: mean over scenarios and seeds of
  [x > 1] + ½·[x = 1] (a run beats the reference on its own seed);
* **95% intervals**: stratified percentile bootstrap over seeds (``scipy.stats.bootstrap`` with one
  sample per scenario, so each resample redraws seeds within every scenario; 2000 resamples, generator
  ``numpy.random.default_rng(0)`` for every statistic, so a table is a pure function of the costs);
* **gap to optimum** = geometric mean over scenarios of (mean row cost / mean optimum) − 1 (the
  optimum row of :mod:`a2gym.leaderboard.reserved`; a bound where the MILP hit its limit);
* **violation rate** = share of episodes with at least one SLO violation; **wall time** = mean recorded
  policy time per episode [s] (declared by the entrant's machine, not re-measured).

rliable (IQM, probability of improvement, performance profiles) was the first choice; its ``arch``
dependency does not import with this project's pandas/numpy, so the same statistics are computed here
with scipy.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping

import numpy as np
from scipy import stats

from a2gym.errors import RecordError

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
TIE_RTOL = 1e-9

Costs = Mapping[tuple[str, int], float | None]
"""(scenario URI, seed) -> episode cost [$] (None: no cost)."""


@dataclasses.dataclass(frozen=True)
class RowScore:
    """One row's standing on one env (see the module docstring for each number; None = not defined)."""

    name: str
    kind: str
    score: float | None
    ci: tuple[float, float] | None
    iqm: float | None
    iqm_ci: tuple[float, float] | None
    p_improve: float | None
    p_improve_ci: tuple[float, float] | None
    gap: float | None
    violation_rate: float | None
    wall_time_s: float | None
    seeds: int
    trained_on_test: str
    mean_cost: dict[str, float | None]
    runs: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)
    """The normalised scores x[s, j] (for the performance profile), None if some run has no cost."""


def normalised(costs: Costs, reference: Costs, uris: list[str], seeds: list[int]) -> np.ndarray | None:
    """x[s, j] = reference / row cost per scenario and seed; None if a cost is missing; RecordError if a
    cost is not positive."""
    x = np.empty((len(uris), len(seeds)))
    for s, uri in enumerate(uris):
        for j, seed in enumerate(seeds):
            c, r = costs.get((uri, seed)), reference.get((uri, seed))
            if c is None or r is None:
                return None
            if c <= 0 or r <= 0:
                raise RecordError(f"{uri} seed {seed}: a cost is not positive; the score needs positive costs")
            x[s, j] = r / c
    return x


def _geo_of_means(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.exp(np.mean([np.log(np.mean(s, axis=axis)) for s in samples], axis=0))


def _iqm(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    return stats.trim_mean(np.concatenate(samples, axis=axis), 0.25, axis=axis)


def _p_improve(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    def win(s: np.ndarray) -> np.ndarray:
        tie = np.isclose(s, 1.0, rtol=TIE_RTOL, atol=0.0)
        return np.mean(np.where(tie, 0.5, (s > 1.0).astype(float)), axis=axis)

    return np.mean([win(s) for s in samples], axis=0)


STATISTICS: dict[str, Callable[..., np.ndarray]] = {"score": _geo_of_means, "iqm": _iqm, "p_improve": _p_improve}


def interval(x: np.ndarray, statistic: Callable[..., np.ndarray]) -> tuple[float, float]:
    """Stratified percentile bootstrap interval of ``statistic`` over seeds (one stratum per scenario)."""
    if x.shape[1] < 2 or np.all(x == x[:, :1]):
        v = float(statistic(*x))
        return v, v  # every resample is the data itself
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap(tuple(x), statistic, n_resamples=BOOTSTRAP_RESAMPLES, confidence_level=CONFIDENCE,
                              method="percentile", vectorized=True, random_state=np.random.default_rng(BOOTSTRAP_SEED))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def gap_to(costs: Costs, optimum: Costs | None, uris: list[str], seeds: list[int]) -> float | None:
    """Geometric mean over scenarios of mean cost / mean optimum, minus 1 (None if a value is missing)."""
    if optimum is None:
        return None
    ratios = []
    for uri in uris:
        c = [costs.get((uri, s)) for s in seeds]
        o = [optimum.get((uri, s)) for s in seeds]
        if any(v is None for v in c + o) or min(o) <= 0:  # type: ignore[type-var]
            return None
        ratios.append(np.mean(c) / np.mean(o))  # type: ignore[arg-type]
    return float(np.exp(np.mean(np.log(ratios)))) - 1.0


def score_row(name: str, kind: str, costs: Costs, reference: Costs, uris: list[str], seeds: list[int],
              optimum: Costs | None = None, violations: Mapping[tuple[str, int], int] | None = None,
              wall_time_s: float | None = None, trained_on_test: str = "") -> RowScore:
    """Score one row on one env against the reference (both keyed by (scenario, seed))."""
    x = normalised(costs, reference, uris, seeds)
    est: dict[str, float | None] = {k: None for k in STATISTICS}
    cis: dict[str, tuple[float, float] | None] = {k: None for k in STATISTICS}
    if x is not None:
        for k, f in STATISTICS.items():
            est[k] = float(f(*x))
            cis[k] = interval(x, f)
    viol = None
    if violations:
        viol = float(np.mean([violations.get((u, s), 0) > 0 for u in uris for s in seeds]))
    mean_cost: dict[str, float | None] = {}
    for uri in uris:
        c = [costs.get((uri, s)) for s in seeds]
        mean_cost[uri] = None if any(v is None for v in c) else float(np.mean(c))  # type: ignore[arg-type]
    return RowScore(name=name, kind=kind, score=est["score"], ci=cis["score"], iqm=est["iqm"], iqm_ci=cis["iqm"],
                    p_improve=est["p_improve"], p_improve_ci=cis["p_improve"],
                    gap=gap_to(costs, optimum, uris, seeds), violation_rate=viol, wall_time_s=wall_time_s,
                    seeds=len(seeds), trained_on_test=trained_on_test, mean_cost=mean_cost, runs=x)


def rank(rows: list[RowScore]) -> list[RowScore]:
    """Best score first; rows without a score last; ties by name."""
    return sorted(rows, key=lambda r: (r.score is None, -(r.score or 0.0), r.name))


def performance_profile(x: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Share of runs with normalised score > tau, for each tau (Agarwal et al. 2021's profile)."""
    flat = x.reshape(-1)
    return np.array([np.mean(flat > t) for t in taus])
