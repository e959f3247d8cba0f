"""Regenerate the initial committed leaderboard records and the table.

Run from the repository root::

    python experiments/leaderboard_runs.py            # every initial entry, then `a2gym leaderboard build`
    python experiments/leaderboard_runs.py local random  # only these entries (then build)

Each entry is evaluated with ``a2gym eval`` on the full ``a2-test-v0`` suite with the suite's default
seeds and written to ``leaderboard/<name>.jsonl``; the records are then validated and
``LEADERBOARD.md`` and ``leaderboard/leaderboard.png`` regenerated. The reference and the baselines are
deterministic given the seed, so rerunning reproduces the records (wall times aside, which equality
and the table's scores ignore; the table's time column changes with them, so commit the records and
the table together).

Trained agents are entered with ``a2gym eval`` on a model from ``python -m experiments.train_agents``
(the seed-0 best model, not the best seed), e.g. the committed ``maskable-ppo-placement`` entry::

    a2gym eval --policy
    sb3:maskable_ppo:runs/agents-experiment/maskable_ppo/placement-default_s0/best_model.zip \
        --env a2gym/Placement-v0 --trained-on-test --name maskable-ppo-placement \
        --out leaderboard/maskable-ppo-placement.jsonl

It was trained on ``paper-default-v0``, which is ``placement-0`` of the suite, hence "trained on test".
The experiment's GeoServe agents were trained with the env's default ``max_classes`` and do not fit the
suite's (64; the eval refuses them, naming both observation spaces), so the GeoServe entry is one more
seed-0 run of the experiment's cloning-warm-started setting with the suite's kwargs::

    python -m agents.train --algo maskable_ppo --env a2gym/GeoServe-v0 --env-kwargs max_classes=64 --seed 0 \
        --total-timesteps 16000 --hyperparams pretrain_episodes=20 pretrain_epochs=40 pretrain_mode=myopic \
        learning_rate=3e-5 target_kl=0.02 eval_freq=1024 --log-dir runs/suite --run-name geoserve-bc-suite_s0
    a2gym eval --policy sb3:maskable_ppo:runs/suite/maskable_ppo/geoserve-bc-suite_s0/best_model.zip \
        --env a2gym/GeoServe-v0 --trained-on-test --name maskable-ppo-bc-geoserve \
        --out leaderboard/maskable-ppo-bc-geoserve.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "leaderboard"


ALIASES = {"nearest"}  # another name of `local` in baselines.POLICIES
NOT_ENTERED = {
    # The restricted instance has no feasible plan on some generated test scenarios (a tight-SLO class
    # cannot take the highest-fidelity data version), so these cannot play the whole suite; they are
    # compared on the default scenario in results/paper/headline.md instead.
    "no-adaptation", "model-only",
}


def initial_entries() -> list[str]:
    """The reference, then every baseline policy that can play the whole suite, in a fixed order."""
    from baselines import POLICIES

    return ["reference", *sorted(set(POLICIES) - ALIASES - NOT_ENTERED)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("entries", nargs="*", help="policy specs to (re)run (default: every initial entry)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per scenario (suite default)")
    ap.add_argument("--no-build", action="store_true", help="only write the records")
    args = ap.parse_args(argv)

    from tqdm import tqdm

    from a2gym.leaderboard.build import build
    from a2gym.leaderboard.evaluate import evaluate_suite
    from a2gym.leaderboard.record import write_records
    from a2gym.leaderboard.suite import A2_TEST_V0

    for spec in args.entries or initial_entries():
        n = len(A2_TEST_V0.episodes(args.seeds))
        records = list(tqdm(evaluate_suite(spec, A2_TEST_V0, args.seeds), total=n, desc=spec, unit="episode",
                            disable=None))
        path = write_records(OUT / f"{spec}.jsonl", records)
        print(f"{spec}: {len(records)} records -> {path.relative_to(ROOT)}")
    if not args.no_build:
        build(OUT, ROOT / "LEADERBOARD.md")
        print("wrote LEADERBOARD.md and leaderboard/leaderboard.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
