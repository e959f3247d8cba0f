"""Export the leaderboard suites' scenario files, pin them, and compute each test scenario's optimum.

Run from the repository root::

    python scripts/build_suite.py            # scenario files + MANIFEST.json + the optimum file
    python scripts/build_suite.py --check    # exit 1 if a scenario file, manifest entry or pin would change
    python scripts/build_suite.py --no-optimum   # only the scenario files
    python scripts/build_suite.py --no-optimum --reserved   # the scenario files and the reserved rows

Every scenario named in :data:`a2gym.leaderboard.suite.SOURCES` is loaded from its source URI (the
bundled default scenario, or a seeded ``generator://synth-v0`` URI) and saved with ``Scenario.save`` as
``a2gym/data/scenarios/<name>.json``; its SHA-256 is pinned in ``MANIFEST.json``. Deterministic:
rerunning gives byte-identical files. Once committed, the files are the test suite; a changed source is
a new suite version, and ``--check`` guards against changing one by accident.

The reserved-rows file ``a2gym/data/scenarios/a2-test-v1.reserved.json`` (``--reserved``) holds the rows the
scorer computes itself by playing policies through the envs (every env's reference and the other rows of
:func:`a2gym.leaderboard.reserved.policy_rows`) on the suite's default seeds, pinned by SHA-256 in the suite
file, so ``a2gym leaderboard build`` and ``score`` read them instead of replaying about a thousand reference
episodes on every call; ``tests/test_leaderboard.py`` recomputes a sample and requires the same costs, so a
change to an env or a reference that moves them fails until this is rerun.

The optimum file ``a2gym/data/scenarios/a2-test-v1.optimum.json`` holds, per ``a2-test-v1`` scenario,
the A2-MILP optimum of one epoch (HiGHS, ``--milp-time-limit`` seconds; on the limit its incumbent and
best bound are stored with status ``time_limit``), which is the Placement and Scheduling "optimum" row,
and, per GeoServe episode seed (the suite's first ``--seeds``) of the small and medium tiers
(``--geoserve-tiers``), the sum over the day's slots of the per-slot bound
(:func:`a2gym.policies.geoserve_lower_bound`); a paper-size or large scenario takes 30-40 s per seed, so
those have no GeoServe value and the table says n/a there; and, per GeoServe-v1 episode seed of the
tiers in ``--hindsight-tiers`` (default: all), the hindsight reference of that day
(:func:`a2gym.envs.geoserve_capacity.hindsight.solve_hindsight`, ``--hindsight-time-limit`` seconds): the
replayed day cost of its plan, the MILP's bound over its candidate restriction, the gap and the status
(the scorer's *hindsight* row; it is a plan the env replays, not a bound). Its SHA-256 is pinned in
the suite file ``a2gym/data/suites/a2-test-v1.json`` (``optimum.sha256``), so the leaderboard refuses an
edited file.
Computing it takes about 30 s per GeoServe seed and scenario, and 5-40 s per GeoServe-v1 day (the MILP is
time-limited, so a rerun on another machine may find other plans: the file, not the run, is pinned);
``--resume FILE`` keeps finished values (the current optimum file is a valid ``FILE``).

To add an env to ``a2-test-v1``, add it to the ``envs`` of ``a2gym/data/suites/a2-test-v1.json`` (and
``a2-val-v1.json``) and rerun; a new suite is a new file there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from a2gym.envs.spec import EnvSpec
    from a2gym.leaderboard.suite import SuiteEntry
    from a2gym.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "a2gym" / "data" / "scenarios"
SUITE_FILE = ROOT / "a2gym" / "data" / "suites" / "a2-test-v1.json"


def export(check: bool) -> list[str]:
    """Write every suite scenario file and its manifest pin; the list of what changed (or would)."""
    from a2gym import load_scenario
    from a2gym.fileio import atomic_write_text
    from a2gym.leaderboard.suite import SOURCES

    manifest_path = SCENARIOS / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    changed: list[str] = []
    for name, source in sorted(SOURCES.items()):
        scn = load_scenario(source)
        path = SCENARIOS / f"{name}.json"
        if manifest.get(name) != scn.sha256 or not path.exists():
            changed.append(f"{name}: {manifest.get(name, 'unpinned')} -> {scn.sha256} (from {source})")
        if not check:
            scn.save(path)
        manifest[name] = scn.sha256
        print(f"{name:28s} {scn.sha256[:16]}  R={scn.n_classes:<4d} <- {source}", flush=True)
    if not check:
        current = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
        current.update({n: manifest[n] for n in SOURCES})
        atomic_write_text(manifest_path, json.dumps(dict(sorted(current.items())), indent=2) + "\n")
    return changed


def compute_optimum(time_limit: float, n_seeds: int, resume: dict | None, geo_tiers: set[str],
                    hindsight_limit: float = 30.0, hindsight_tiers: set[str] | None = None) -> dict:
    """The optimum file's content (see the module docstring); values in ``resume`` are kept."""
    import gymnasium as gym

    import a2gym
    from a2gym.envs.spec import SLOT_BOUNDS
    from a2gym.leaderboard.episode import load_fresh
    from a2gym.leaderboard.suite import A2_TEST_V1, tier_of
    from a2gym.policies import geoserve_lower_bound

    out: dict = {"milp_time_limit_s": time_limit, "scenarios": {}}
    old = (resume or {}).get("scenarios", {})
    geo = _entry_whose_spec(A2_TEST_V1.entries, lambda spec: spec.optimum == SLOT_BOUNDS)
    v1 = _entry_whose_spec(A2_TEST_V1.entries, lambda spec: spec.hindsight)
    for uri in A2_TEST_V1.entries[0].scenarios:
        scn = load_fresh(uri)
        row = dict(old.get(uri, {})) if old.get(uri, {}).get("sha256") == scn.sha256 else {}
        row["sha256"] = scn.sha256
        if "epoch" not in row:
            t0 = time.perf_counter()
            sol = a2gym.solve(scn, "milp", time_limit=time_limit)
            row["epoch"] = {"value": sol.cost.total, "bound": sol.lower_bound, "status": sol.status}
            print(f"{uri}: MILP {sol.status} {sol.cost.total:.6f} (bound {sol.lower_bound}) "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
        seeds = row.setdefault("geoserve_bound", {})
        if resume is not None:
            out["scenarios"][uri] = row
            _save_resume(out)
        for seed in A2_TEST_V1.seeds(n_seeds) if geo is not None and tier_of(uri) in geo_tiers else ():
            if str(seed) in seeds:
                continue
            t0 = time.perf_counter()
            env = gym.make(geo.env_id, scenario=scn, **dict(geo.env_kwargs))
            env.reset(seed=seed)
            seeds[str(seed)] = geoserve_lower_bound(env)
            env.close()
            print(
                f"{uri}: GeoServe seed {seed} bound {seeds[str(seed)]:.4f} {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            if resume is not None:
                out["scenarios"][uri] = row
                _save_resume(out)
        days = row.setdefault("geoserve_v1_hindsight", {})
        tiers = hindsight_tiers if hindsight_tiers is not None else {tier_of(uri)}
        for seed in A2_TEST_V1.seeds(n_seeds) if v1 is not None and tier_of(uri) in tiers else ():
            if str(seed) not in days:
                days[str(seed)] = _hindsight_day(v1, scn, seed, hindsight_limit)
                print(f"{uri}: GeoServe-v1 seed {seed} hindsight {days[str(seed)]}", flush=True)
                if resume is not None:
                    out["scenarios"][uri] = row
                    _save_resume(out)
        out["scenarios"][uri] = row
    return out


def _entry_whose_spec(entries: tuple[SuiteEntry, ...],
                      wanted: Callable[[EnvSpec], bool]) -> SuiteEntry | None:
    """The one entry whose env's spec is ``wanted`` (the optimum file holds one value of each kind per
    scenario: per-slot bounds under ``geoserve_bound``, hindsight days under ``geoserve_v1_hindsight``),
    None if there is none; SystemExit if there are several."""
    from a2gym.envs.registration import spec_of

    found = [e for e in entries if wanted(spec_of(e.env_id))]
    if len(found) > 1:
        raise SystemExit(f"the optimum file holds one env of each kind; {[e.env_id for e in found]} "
                         "are of the same kind")
    return found[0] if found else None


def _hindsight_day(entry: SuiteEntry, scn: Scenario, seed: int, time_limit: float) -> dict:
    """The hindsight reference of one GeoServe-v1 day: replayed cost [$], bound [$], gap, status, seconds."""
    import gymnasium as gym

    from a2gym.envs.geoserve_capacity.hindsight import solve_hindsight

    env = gym.make(entry.env_id, scenario=scn, **dict(entry.env_kwargs))
    try:
        env.reset(seed=seed)
        plan = solve_hindsight(env.unwrapped, time_limit=time_limit)
    finally:
        env.close()
    return {"cost": plan.replay_cost, "bound": plan.bound, "gap": plan.gap, "status": plan.status,
            "source": plan.source, "seconds": round(plan.seconds, 1)}


RESUME: list[Path] = []


def _save_resume(content: dict) -> None:
    if RESUME:
        RESUME[0].write_text(json.dumps(content, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def optimum_text(content: dict) -> str:
    return json.dumps(content, indent=1, sort_keys=True) + "\n"


def _pin_file(name: str, key: str, text: str, check: bool) -> list[str]:
    """Write ``text`` as ``a2gym/data/scenarios/<name>`` and its SHA-256 into the suite file under ``key``
    (``{"file": name, "sha256": ...}``); what changed (or would, with ``check``)."""
    from a2gym.fileio import atomic_write_text

    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path = SCENARIOS / name
    doc = json.loads(SUITE_FILE.read_text(encoding="utf-8"))
    changed = []
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        changed.append(f"{name} would change")
    if doc.get(key) != {"file": name, "sha256": sha}:
        changed.append(f"{key}.sha256 in {SUITE_FILE.name} -> {sha}")
        doc[key] = {"file": name, "sha256": sha}
    if not check:
        atomic_write_text(path, text)
        atomic_write_text(SUITE_FILE, json.dumps(doc, indent=1) + "\n")
    return changed


def pin_optimum(text: str, check: bool) -> list[str]:
    """Write the optimum file and its SHA-256 into the suite file (``optimum.sha256``); what changed."""
    from a2gym.leaderboard.suite import OPTIMUM_FILE

    return _pin_file(OPTIMUM_FILE, "optimum", text, check)


RESERVED_FILE = "a2-test-v1.reserved.json"


def pin_reserved(text: str, check: bool) -> list[str]:
    """Write the reserved-rows file of a2-test-v1 and its pin into the suite file; what changed."""
    return _pin_file(RESERVED_FILE, "reserved", text, check)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything would change")
    ap.add_argument("--no-optimum", action="store_true", help="skip the optimum file")
    ap.add_argument("--milp-time-limit", type=float, default=120.0, help="seconds per MILP (default 120)")
    ap.add_argument("--seeds", type=int, default=5, help="GeoServe seeds with a bound (default 5)")
    ap.add_argument(
        "--geoserve-tiers",
        default="small,medium",
        help="tiers whose GeoServe episodes get a bound (default small,medium: a paper-size or large "
        "scenario takes 30-40 s per seed)",
    )
    ap.add_argument("--hindsight-time-limit", type=float, default=30.0,
                    help="seconds per GeoServe-v1 hindsight MILP (default 30)")
    ap.add_argument("--hindsight-tiers", default="small,medium,paper,large",
                    help="tiers whose GeoServe-v1 days get the hindsight reference (default all)")
    ap.add_argument("--resume", type=Path, default=None, help="keep/extend partial results in this JSON file")
    ap.add_argument("--reserved", action="store_true",
                    help="(re)compute the scorer's reserved rows of a2-test-v1 (every env's reference, "
                    "oracle, reactive, forecast and paper rows; minutes) and pin them in the suite file")
    args = ap.parse_args(argv)

    changed = export(args.check)
    if args.check:
        from a2gym.leaderboard.suite import OPTIMUM_FILE, OPTIMUM_SHA256

        path = SCENARIOS / OPTIMUM_FILE
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != OPTIMUM_SHA256:
            changed.append(f"{OPTIMUM_FILE} does not match the suite file's optimum.sha256")
        from a2gym.errors import RecordError
        from a2gym.leaderboard.reserved import read_pinned_reserved

        try:
            read_pinned_reserved("a2-test-v1")
        except RecordError as e:
            changed.append(str(e))
        for c in changed:
            print(f"would change: {c}", file=sys.stderr)
        return 1 if changed else 0
    if not args.no_optimum:
        resume = None
        if args.resume is not None:
            RESUME.append(args.resume)
            resume = json.loads(args.resume.read_text(encoding="utf-8")) if args.resume.exists() else {}
        content = compute_optimum(
            args.milp_time_limit, args.seeds, resume, set(args.geoserve_tiers.split(",")),
            args.hindsight_time_limit, set(args.hindsight_tiers.split(",")),
        )
        for c in pin_optimum(optimum_text(content), check=False):
            print(c)
    if args.reserved:
        from a2gym.leaderboard.reserved import reserved_rows_content

        t0 = time.perf_counter()
        text = json.dumps(reserved_rows_content("a2-test-v1"), indent=1, sort_keys=True) + "\n"
        for c in pin_reserved(text, check=False):
            print(c)
        print(f"reserved rows of a2-test-v1: {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
