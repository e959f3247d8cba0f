"""Leaderboard scores: cost relative to the reference, with a bootstrap interval over seeds.

For one env, with the reference's records and a policy's records on the same scenarios and seeds:

* per scenario s, the mean cost over seeds: c̄_s(policy), c̄_s(reference) [$];
* **score** = geometric mean over scenarios of c̄_s(reference) / c̄_s(policy); > 1 beats the reference,
  and the reference scored against itself is exactly 1.0;
* **95% interval**: percentile bootstrap over seeds. Each of ``BOOTSTRAP_RESAMPLES`` (2000) resamples
  draws, per scenario, n seeds with replacement (the same draws for the policy and the reference:
  paired) and recomputes the score; the interval is the 2.5th and 97.5th percentiles. The generator is
  ``numpy.random.default_rng(BOOTSTRAP_SEED)``, created afresh for every entry, so a table is a pure
  function of the records;
* **gap to the lower bound** = geometric mean over scenarios of c̄_s(policy) / LB̄_s − 1, where LB̄_s is
  the mean over the same seeds of the episode's lower bound [$] (``a2gym.lower_bound``);
* **violation rate** = share of episodes with at least one SLO violation;
* **wall time** = mean over episodes of the recorded policy time [s] (measured at eval time, read from
  the records, never re-measured).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping

import numpy as np

from a2gym.errors import RecordError
from a2gym.leaderboard.record import EpisodeRecord

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
REFERENCE = "reference"

BoundKey = tuple[str, str, int]
"""(env id, scenario URI, seed) of an episode's lower bound."""


@dataclasses.dataclass(frozen=True)
class EntryScore:
    """One policy's standing on one env (see the module docstring for each number)."""

    policy: str
    env_id: str
    score: float
    ci_low: float
    ci_high: float
    lb_gap: float | None
    violation_rate: float
    wall_time_s: float
    episodes: int
    seeds: int
    trained_on_test: str
    mean_cost: dict[str, float]


def _costs(records: Iterable[EpisodeRecord]) -> dict[str, dict[int, EpisodeRecord]]:
    out: dict[str, dict[int, EpisodeRecord]] = defaultdict(dict)
    for r in records:
        out[r.scenario_uri][r.seed] = r
    return dict(out)


def _declared(records: list[EpisodeRecord]) -> str:
    vals = {r.trained_on_test for r in records}
    if len(vals) > 1:
        return "mixed"
    return {True: "yes", False: "no", None: "undeclared"}[vals.pop()]


def geomean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Geometric mean of positive numbers along ``axis``."""
    return np.exp(np.mean(np.log(x), axis=axis))


def score_entry(policy_records: list[EpisodeRecord], reference_records: list[EpisodeRecord],
                lower_bounds: Mapping[BoundKey, float] | None = None) -> EntryScore:
    """Score one policy's records on one env against the reference's records on that env."""
    if not policy_records:
        raise RecordError("no records to score")
    policy, env_id = policy_records[0].policy, policy_records[0].env_id
    if any((r.policy, r.env_id) != (policy, env_id) for r in policy_records):
        raise RecordError("score_entry needs the records of one policy on one env")
    if len({r.policy for r in reference_records}) > 1:
        raise RecordError("score_entry needs the records of one reference policy")
    pol, ref = _costs(policy_records), _costs(r for r in reference_records if r.env_id == env_id)
    if not ref:
        raise RecordError(f"no reference records for {env_id}")
    missing = sorted(set(ref) - set(pol))
    extra = sorted(set(pol) - set(ref))
    if missing or extra:
        raise RecordError(
            f"{policy} on {env_id}: scenarios missing {missing} / not run by the reference {extra}"
        )
    ref_c, pol_c, seeds_of = [], [], {}
    for uri in sorted(ref):
        seeds = sorted(pol[uri])
        lost = [s for s in seeds if s not in ref[uri]]
        if lost:
            raise RecordError(f"{policy} on {uri}: seeds {lost} have no reference record")
        seeds_of[uri] = seeds
        ref_c.append(np.array([ref[uri][s].cost for s in seeds]))
        pol_c.append(np.array([pol[uri][s].cost for s in seeds]))
    if any(np.any(c <= 0) for c in pol_c + ref_c):
        raise RecordError(f"{policy} on {env_id}: a cost is not positive; the score needs positive costs")
    score = float(geomean(np.array([r.mean() / p.mean() for r, p in zip(ref_c, pol_c, strict=True)])))
    lo, hi = _bootstrap(ref_c, pol_c)
    gap = None
    if lower_bounds is not None:
        keys = [[(env_id, uri, s) for s in seeds_of[uri]] for uri in sorted(ref)]
        if all(k in lower_bounds for ks in keys for k in ks):
            ratios = [
                p.mean() / np.mean([lower_bounds[k] for k in ks]) for p, ks in zip(pol_c, keys, strict=True)
            ]
            gap = float(geomean(np.array(ratios))) - 1.0
    recs = policy_records
    return EntryScore(
        policy=policy, env_id=env_id, score=score, ci_low=lo, ci_high=hi, lb_gap=gap,
        violation_rate=float(np.mean([r.violations > 0 for r in recs])),
        wall_time_s=float(np.mean([r.wall_time_s for r in recs])), episodes=len(recs),
        seeds=min(len(s) for s in seeds_of.values()), trained_on_test=_declared(recs),
        mean_cost={uri: float(p.mean()) for uri, p in zip(sorted(ref), pol_c, strict=True)})


def _bootstrap(ref_c: list[np.ndarray], pol_c: list[np.ndarray]) -> tuple[float, float]:
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    logs = np.zeros(BOOTSTRAP_RESAMPLES)
    for r, p in zip(ref_c, pol_c, strict=True):
        idx = rng.integers(0, len(r), size=(BOOTSTRAP_RESAMPLES, len(r)))
        logs += np.log(r[idx].mean(axis=1) / p[idx].mean(axis=1))
    scores = np.exp(logs / len(ref_c))
    tail = 100 * (1 - CONFIDENCE) / 2
    lo, hi = np.percentile(scores, [tail, 100 - tail])
    return float(lo), float(hi)


def score_all(records: Iterable[EpisodeRecord], lower_bounds: Mapping[BoundKey, float] | None = None,
              reference: str = REFERENCE) -> dict[str, list[EntryScore]]:
    """env id -> every policy's score on it, best first (ties by name). Needs the reference's records."""
    by: dict[tuple[str, str], list[EpisodeRecord]] = defaultdict(list)
    for r in records:
        by[(r.env_id, r.policy)].append(r)
    out: dict[str, list[EntryScore]] = {}
    for env_id in sorted({e for e, _ in by}):
        ref = by.get((env_id, reference))
        if not ref:
            raise RecordError(f"no records of the reference ({reference!r}) for {env_id}")
        scores = [score_entry(recs, ref, lower_bounds) for (e, _), recs in sorted(by.items()) if e == env_id]
        out[env_id] = sorted(scores, key=lambda s: (-s.score, s.policy))
    return out
