"""The generated scenarios the generalists train, validate and test on: sizes and disjoint seed ranges.

``generator://synth-v0/SEED?classes=..&regions=..&models=..&datas=..`` URIs with sizes drawn per scenario
from :data:`TRAIN_SIZES` (inclusive ranges) and generator seeds from the split's range of
:data:`SEED_BASE` (train [0, 5e6), val [5e6, 9e6), test from 9e6), so training never sees a test scenario.
Used by :mod:`agents.generalist` (cloning), :class:`agents.wrappers.FreshMixedSizes` (vec_ppo's fresh
scenarios) and the experiments' held-out sets.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

# Sizes of the training scenarios (inclusive ranges), drawn per scenario.
TRAIN_SIZES = {"classes": (8, 40), "regions": (3, 9), "models": (4, 8), "datas": (6, 15)}
LARGE_CLASSES = (80, 96)  # "2x larger": at least twice the largest training |R|
SEED_BASE = {"train": 0, "val": 5_000_000, "test": 9_000_000}


def sized_uri(seed: int, rng: np.random.Generator, classes: tuple[int, int] | None = None,
              sizes: Mapping[str, tuple[int, int]] | None = None) -> str:
    """``generator://synth-v0/SEED?…`` with sizes drawn from ``sizes`` (inclusive ranges per generator
    parameter, in order; default :data:`TRAIN_SIZES`), the class range overridable by ``classes``."""
    ranges = {**(sizes or TRAIN_SIZES), **({"classes": classes} if classes else {})}
    q = "&".join(f"{k}={int(rng.integers(lo, hi + 1))}" for k, (lo, hi) in ranges.items())
    return f"generator://synth-v0/{seed}?{q}"


def uris(split: str, n: int, seed: int = 0, classes: tuple[int, int] | None = None) -> list[str]:
    """``n`` URIs of ``split`` (train / val / test), reproducible from ``seed``."""
    rng = np.random.default_rng([seed, len(split), n])
    base = SEED_BASE[split] + 100_000 * seed
    return [sized_uri(base + j, rng, classes) for j in range(n)]
