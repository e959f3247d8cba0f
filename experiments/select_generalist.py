"""Score generalist checkpoints on a larger validation set, to choose which one to publish.

Usage::

    python -m experiments.select_generalist --env a2gym/Scheduling-v0 --scenarios 24 RUN_DIR [RUN_DIR ...]

Each ``RUN_DIR/best_model.zip`` (an attention policy on ``observation="sets"``) plays ``--scenarios``
validation scenarios (:func:`agents.generalist.uris` ``("val", n)``: generator seeds >= 5,000,000, never
a test set) and the default validation set of the training script (6 scenarios for Scheduling, 8 for
Placement); the mean score (reference cost / cost) of each is printed.  This is how ``scheduling-general``
was chosen among the 6-round seeds (24 and 64 scenarios; ``results/agents/README.md``).
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", required=True, choices=("a2gym/Placement-v0", "a2gym/Scheduling-v0"))
    ap.add_argument("--scenarios", type=int, default=24, help="validation scenarios (default 24)")
    ap.add_argument("runs", nargs="+", help="run directories holding best_model.zip")
    a = ap.parse_args(argv)
    if a.scenarios < 1:
        ap.error("--scenarios must be >= 1")

    import gymnasium as gym
    import torch
    from sb3_contrib import MaskablePPO

    import a2gym  # noqa: F401
    from agents.generalist import evaluate_uris, uris

    torch.set_num_threads(1)
    env = gym.make(a.env, observation="sets")
    default = uris("val", 6 if "Scheduling" in a.env else 8, 0)
    wide = uris("val", a.scenarios, 0)
    for run in a.runs:
        t0 = time.perf_counter()
        model = MaskablePPO.load(f"{run}/best_model.zip", device="cpu")
        s_default = evaluate_uris(env, model.policy, default)
        s_wide = evaluate_uris(env, model.policy, wide)
        print(f"{run}: {a.scenarios} validation scenarios {s_wide:.4f}, default validation set "
              f"{s_default:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
