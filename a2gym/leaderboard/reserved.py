"""The rows the scorer computes itself, from the pinned suite and the library's code, never from files.

* ``reference``: the reference solver acting through the env (:func:`a2gym.policies.reference_policy`;
  GeoServe-v0: the myopic mode; GeoServeCapacity-v0: the target-tracking autoscaler, its reward
  normaliser). Every score is
  relative to it; it scores exactly 1.
* ``oracle`` (GeoServe only): the reference deploying for the true demand of the slot it decides, which
  no agent sees; a labelled reference row showing the value of knowing the future.
* ``reactive`` (GeoServeCapacity-v0 only): A2-Greedy re-solved on the last slot's observed demand, sized
  without headroom (GeoServe-v1's reference until 0.2.0).
* ``forecast`` (GeoServeCapacity-v0 only): the reference sized on a diurnal forecast of the slots a request
  must cover (it sees only what an agent sees).
* ``hindsight`` (GeoServeCapacity-v0 only): the hindsight reference of each day (a time-expanded MILP over the
  realised day, knowing all its demand; the replayed day cost of its plan), read from the pinned optimum
  file like ``optimum``; privileged, not an agent.
* ``no-adaptation``, ``model-only``, ``data-only``, ``local-greedy``: the paper's restricted baselines
  (A2-Greedy on a restricted instance, :data:`a2gym.heuristics.RESTRICTED`), played through the env;
  a scenario whose restricted instance has no feasible plan has no cost for them. Not on the capacity env,
  whose actions are instance counts, not the deployment set these baselines choose.
* ``optimum``: per scenario, the A2-MILP optimum of the epoch (HiGHS, within a time limit, else its
  best bound), for Placement and Scheduling; for GeoServe, the sum of per-slot bounds on the episode's
  demand (small and medium tiers only; larger ones cost 30-40 s per episode). Read from the optimum file that
  ``scripts/build_suite.py`` computed, checked against the
  SHA-256 pinned in :mod:`a2gym.leaderboard.suite`. The envs cannot split a class between facilities,
  so no policy reaches it exactly: it is a bound, showing the headroom above the reference. The capacity
  env has no optimum row (its per-slot bound would assume every request served, which v1 does not require).

Each row's costs are keyed by (scenario URI, seed); ``None`` marks an episode without a cost.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

from a2gym.errors import A2GymError, RecordError
from a2gym.leaderboard.episode import ScenarioCache, scenario_dir, suite_env
from a2gym.leaderboard.suite import OPTIMUM_FILE, OPTIMUM_SHA256, SuiteEntry

REFERENCE = "reference"
ORACLE = "oracle"
OPTIMUM = "optimum"
FORECAST = "forecast"
HINDSIGHT = "hindsight"
REACTIVE = "reactive"
HINDSIGHT_BOUND = "hindsight-bound"
PAPER_ROWS = ("no-adaptation", "model-only", "data-only", "local-greedy")
ROW_NOTES = {
    REFERENCE: "the reference solver (A2-Greedy) through the env; scores are relative to it "
               "(GeoServeCapacity-v0: the target-tracking autoscaler on the re-solve's placement, u = 0.7 of "
               "rho, 900 s scale-in window, tuned on a2-val-v1; the env's reward normaliser)",
    REACTIVE: "GeoServeCapacity-v0: A2-Greedy re-solved on the last slot's demand, no headroom "
              "(GeoServe-v1's reference until 0.2.0)",
    FORECAST: "GeoServeCapacity-v0: the reference sized on a diurnal forecast of the slots each request "
              "must cover",
    HINDSIGHT: "GeoServeCapacity-v0: the best plan found for the realised day knowing all its demand "
               "(time-expanded MILP, HiGHS, 30 s limit, replayed through the env; privileged, not an agent; "
               "from the pinned optimum file)",
    HINDSIGHT_BOUND: "GeoServeCapacity-v0: the hindsight MILP's best bound on each day (over its candidate "
                     "restriction; a bound, not a plan), so the headroom of hindsight itself is known",
    ORACLE: "the reference given the true demand of the slot it decides (privileged; not an agent)",
    "no-adaptation": "paper baseline: A2-Greedy with one model and the highest-fidelity data",
    "model-only": "paper baseline: A2-Greedy adapting models, data fixed",
    "data-only": "paper baseline: A2-Greedy adapting data, one model",
    "local-greedy": "paper baseline `local`: A2-Greedy with every class served in its origin region",
    OPTIMUM: "A2-MILP optimum (HiGHS, 60 s limit) of each scenario's epoch, a bound for the envs, which "
             "cannot "
    "split a class; GeoServe: the sum of per-slot LP bounds of each episode's demand, computed for the "
    "small and medium tiers only (30-40 s per episode above), so its gap is n/a",
}

Costs = dict[tuple[str, int], float | None]
"""(scenario URI, seed) -> cost [$] of the episode, or None (no feasible plan / no value)."""


@dataclasses.dataclass(frozen=True)
class ReservedRow:
    """A reserved row of one env: its name, what it is, and its costs per episode."""

    name: str
    note: str
    costs: Costs
    violations: dict[tuple[str, int], int]
    wall_time_s: float
    bound: bool = False
    """True for the optimum row where some value is a bound, not an attained cost."""


def _run_env_policy(entry: SuiteEntry, uri: str, seed: int, pool: ScenarioCache,
                    make: Callable[[Any, int], Callable[[Any, dict], Any]]) -> tuple[float, int, float]:
    """(cost [$], violations, policy time [s]) of one episode of a policy made from the env itself."""
    from a2gym.rollout import rollout

    env = suite_env(entry.env_id, uri, entry.env_kwargs, pool)
    try:
        out = rollout(env, seed=seed, make=lambda: make(env, seed))
        return out.cost, out.violations, out.policy_s
    finally:
        env.close()


def _makers(
    env_id: str, paper_rows: bool = True
) -> dict[str, Callable[[Any, int], Callable[[Any, dict], Any]]]:
    """Row name -> ``make(env, seed) -> policy`` of every policy row of ``env_id``, from its spec: the
    reference, one row per ``reserved_modes`` (oracle, reactive, forecast) and the paper's restricted
    baselines where the env has a target-to-action adaptor (they play a deployment set)."""
    from a2gym.envs.registration import spec_of
    from a2gym.heuristics import context_of, restricted_policy
    from a2gym.policies import reference_policy

    spec = spec_of(env_id)
    out: dict[str, Callable[[Any, int], Callable[[Any, dict], Any]]] = {
        REFERENCE: lambda env, seed: reference_policy(env)}
    for mode in spec.reserved_modes:
        out[mode] = (lambda m: lambda env, seed: reference_policy(env, mode=m))(mode)
    for name in PAPER_ROWS if paper_rows and spec.target_adaptor is not None else ():
        out[name] = (lambda n: lambda env, seed: restricted_policy(n)(context_of(env, seed)))(name)
    return out


def seed_free(env_id: str) -> bool:
    """Whether an episode of ``env_id`` does not depend on the reset seed (its spec's ``seed_free``; one
    plan per epoch): its reserved rows are computed once per scenario and hold for every seed."""
    from a2gym.envs.registration import spec_of

    return spec_of(env_id).seed_free


def policy_rows(entry: SuiteEntry, seeds: list[int], progress: Callable[[int], None] | None = None,
                paper_rows: bool = True) -> list[ReservedRow]:
    """The reference, oracle (GeoServe), reactive and forecast (capacity env) and paper rows of one env on
    ``seeds`` of every scenario."""
    pool = ScenarioCache()
    rows = []
    run_seeds = seeds[:1] if seed_free(entry.env_id) else seeds
    for name, make in _makers(entry.env_id, paper_rows).items():
        costs: Costs = {}
        viol: dict[tuple[str, int], int] = {}
        wall = []
        for uri in entry.scenarios:
            for seed in run_seeds:
                try:
                    c, v, w = _run_env_policy(entry, uri, seed, pool, make)
                except A2GymError:  # e.g. the restricted instance has no feasible plan
                    costs[(uri, seed)] = None
                    continue
                costs[(uri, seed)], viol[(uri, seed)] = c, v
                wall.append(w)
                if progress:
                    progress(1)
            for seed in seeds[1:] if run_seeds is not seeds else ():
                costs[(uri, seed)] = costs[(uri, run_seeds[0])]
                if (uri, run_seeds[0]) in viol:
                    viol[(uri, seed)] = viol[(uri, run_seeds[0])]
        rows.append(ReservedRow(name, ROW_NOTES[name], costs, viol, sum(wall) / max(1, len(wall))))
    return rows


def read_pinned_file(name: str, sha256: str, what: str) -> dict[str, Any]:
    """The JSON content of ``a2gym/data/scenarios/<name>``, a file a suite pins by ``sha256``; RecordError
    naming ``what`` it is if the file is missing or its content is not the pinned one."""
    path = scenario_dir() / name
    if not path.is_file():
        raise RecordError(f"{what} file {name} is missing (run scripts/build_suite.py)")
    data = path.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise RecordError(f"{what} file {name} has SHA-256 {got}, but its suite file pins "
                          f"{sha256 or '(nothing)'}: the file was changed")
    return json.loads(data)


def read_optimum() -> dict[str, Any]:
    """The pinned optimum file; RecordError if it is missing or its SHA-256 is not the pinned one."""
    return read_pinned_file(OPTIMUM_FILE, OPTIMUM_SHA256, "optimum")


def _optimum_rows(entry: SuiteEntry, optimum: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Scenario URI -> its row of the optimum file, for every scenario of ``entry``; RecordError if one
    is missing or was computed for another version of the scenario."""
    from a2gym.leaderboard.episode import manifest

    pins = manifest()
    out = {}
    for uri in entry.scenarios:
        row = optimum.get("scenarios", {}).get(uri)
        if row is None or row.get("sha256") != pins.get(uri.removeprefix("scenario://")):
            raise RecordError(f"optimum file has no value for {uri} (or one for another version of it)")
        out[uri] = row
    return out


def optimum_row(entry: SuiteEntry, seeds: list[int], optimum: dict[str, Any]) -> ReservedRow | None:
    """The optimum row of one env from the optimum file (see the module docstring); None for
    an env whose spec has none (the capacity env)."""
    from a2gym.envs.registration import spec_of
    from a2gym.envs.spec import SLOT_BOUNDS

    kind = spec_of(entry.env_id).optimum
    if kind is None:
        return None
    costs: Costs = {}
    bound = False
    for uri, row in _optimum_rows(entry, optimum).items():
        for seed in seeds:
            if kind == SLOT_BOUNDS:
                costs[(uri, seed)] = row["geoserve_bound"].get(str(seed))
                bound = True
            else:
                e = row["epoch"]
                optimal = e["status"] == "optimal"
                costs[(uri, seed)] = e["value"] if optimal else e["bound"]
                bound = bound or not optimal
    return ReservedRow(OPTIMUM, ROW_NOTES[OPTIMUM], costs, {}, 0.0, bound=bound)


def hindsight_rows(entry: SuiteEntry, seeds: list[int], optimum: dict[str, Any]) -> list[ReservedRow]:
    """The capacity env's hindsight row (replayed day costs, which do not depend on the normaliser) and its
    MILP's bound row, from the optimum file (None for a day it lacks); [] for an env whose spec has no
    ``hindsight``."""
    from a2gym.envs.registration import spec_of

    if not spec_of(entry.env_id).hindsight:
        return []
    costs: Costs = {}
    bounds: Costs = {}
    for uri, row in _optimum_rows(entry, optimum).items():
        days = row.get("geoserve_v1_hindsight", {})
        for seed in seeds:
            day = days.get(str(seed))
            costs[(uri, seed)] = None if day is None else float(day["cost"])
            bounds[(uri, seed)] = None if day is None or day.get("bound") is None else float(day["bound"])
    return [ReservedRow(HINDSIGHT, ROW_NOTES[HINDSIGHT], costs, {}, 0.0),
            ReservedRow(HINDSIGHT_BOUND, ROW_NOTES[HINDSIGHT_BOUND], bounds, {}, 0.0, bound=True)]


# ----------------------------------------------------------------------------- pinned reserved rows
RESERVED_FORMAT = "a2gym-reserved-rows"


def _key(uri: str, seed: int) -> str:
    return f"{uri}|{seed}"


def reserved_rows_content(suite_name: str, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Every env's :func:`policy_rows` (with the paper rows) on the suite's default seeds, as JSON content:
    what ``scripts/build_suite.py`` pins (the scorer's reserved rows, computed once per suite)."""
    from a2gym.leaderboard.suite import get_suite

    suite = get_suite(suite_name)
    seeds = suite.seeds()
    envs: dict[str, Any] = {}
    for entry in suite.entries:
        envs[entry.env_id] = {
            r.name: {"costs": {_key(u, s): c for (u, s), c in sorted(r.costs.items())},
                     "violations": {_key(u, s): v for (u, s), v in sorted(r.violations.items())}}
            for r in policy_rows(entry, seeds, progress)}
    return {"format": RESERVED_FORMAT, "format_version": 1, "suite": suite_name, "seeds": seeds, "envs": envs}


def read_pinned_reserved(suite_name: str) -> dict[str, Any] | None:
    """The suite's pinned reserved-rows file (None when the suite pins none); RecordError if it is missing
    or does not match the SHA-256 its suite file pins."""
    from a2gym.leaderboard.suite import reserved_pin

    pin = reserved_pin(suite_name)
    return None if pin is None else read_pinned_file(*pin, "reserved-rows")


def pinned_policy_rows(suite_name: str, entry: SuiteEntry, seeds: list[int], paper_rows: bool = True,
                       progress: Callable[[int], None] | None = None) -> list[ReservedRow]:
    """:func:`policy_rows` of ``entry``, read from the suite's pinned file when it holds every (scenario,
    seed) asked for, else computed (an entry with more seeds than the pinned ones)."""
    from a2gym.leaderboard.suite import get_suite

    doc = read_pinned_reserved(suite_name)
    rows = None if doc is None or not set(seeds) <= set(doc["seeds"]) else doc["envs"].get(entry.env_id)
    if rows is not None:  # they hold only for the suite's own kwargs and scenarios
        known = get_suite(suite_name)
        same = entry.env_id in known.env_ids and dict(known.entry(entry.env_id).env_kwargs) == dict(
            entry.env_kwargs) and set(entry.scenarios) <= set(known.entry(entry.env_id).scenarios)
        rows = rows if same else None
    if rows is None:
        return policy_rows(entry, seeds, progress, paper_rows=paper_rows)
    out = []
    for name in _makers(entry.env_id, paper_rows):
        if name not in rows:
            raise RecordError(f"the pinned reserved rows of {suite_name} have no {name!r} row for "
                              f"{entry.env_id}: rerun scripts/build_suite.py")
        got = rows[name]
        costs = {(u, s): got["costs"][_key(u, s)] for u in entry.scenarios for s in seeds}
        viol = {(u, s): got["violations"][_key(u, s)] for u in entry.scenarios for s in seeds
                if _key(u, s) in got["violations"]}
        out.append(ReservedRow(name, ROW_NOTES[name], costs, viol, 0.0))
    return out
