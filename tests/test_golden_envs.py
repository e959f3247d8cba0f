"""Golden digests: seeded episodes of every env give the committed bits (``benchmarks/golden_envs.py``)."""

from __future__ import annotations

import json

import pytest

from benchmarks.golden_envs import GOLDEN, cases, digest

GOLD = json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_the_golden_file_covers_every_case():
    assert sorted(GOLD) == sorted(cases())


@pytest.mark.parametrize("name", sorted(GOLD))
def test_golden_episode(name):
    assert digest(name) == GOLD[name], f"{name}: the env's numbers changed (re-record only on purpose)"
