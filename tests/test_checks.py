"""a2gym.checks and a2gym.cache: the shared type predicates and the one cache of derived values."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from a2gym.cache import cached_on, clear_cache
from a2gym.checks import is_bool, is_finite_real, is_int, is_real
from a2gym.costmodel import CostModel
from tests.toy import two_region_toy


@pytest.mark.parametrize("x", [0, -3, 2.5, np.int64(4), np.float32(1.5), float("nan"), float("inf")])
def test_is_real_accepts_numbers(x):
    assert is_real(x)


@pytest.mark.parametrize("x", [True, False, np.True_, "1", None, [1], 1j, b"1"])
def test_is_real_refuses_bools_and_non_numbers(x):
    assert not is_real(x)


def test_is_finite_real():
    assert is_finite_real(3) and is_finite_real(np.float64(-1e300))
    assert not is_finite_real(float("nan")) and not is_finite_real(-np.inf) and not is_finite_real(True)


@pytest.mark.parametrize("x, ok", [(3, True), (np.uint8(2), True), (True, False), (np.bool_(0), False),
                                   (3.0, False), ("3", False)])
def test_is_int(x, ok):
    assert is_int(x) is ok


def test_is_bool():
    assert is_bool(True) and is_bool(np.False_) and not is_bool(0) and not is_bool(None)


class _Frozen:
    def __init__(self):
        self.dep = np.zeros(2)


def test_cached_on_computes_once_per_key():
    o, calls = _Frozen(), []
    f = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cached_on(o, "a", f) == 1 and cached_on(o, "a", f) == 1 and cached_on(o, ("b", 2), f) == 2
    clear_cache(o)
    assert cached_on(o, "a", f) == 3


def test_cached_on_recomputes_when_dependency_is_replaced():
    o = _Frozen()
    assert cached_on(o, "k", lambda: 1, depends_on=o.dep) == 1
    assert cached_on(o, "k", lambda: 2, depends_on=o.dep) == 1
    o.dep = o.dep.copy()
    assert cached_on(o, "k", lambda: 3, depends_on=o.dep) == 3


@pytest.mark.parametrize("dup", [copy.copy, copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))])
def test_copies_do_not_share_or_inherit_the_cache(dup):
    o = _Frozen()
    cached_on(o, "k", lambda: "parent")
    c = dup(o)
    assert cached_on(c, "k", lambda: "copy") == "copy"
    assert cached_on(o, "k", lambda: "other") == "parent"


def test_frozen_dataclass_and_costmodel_cache():
    s = two_region_toy()
    assert CostModel.of(s) is CostModel.of(s)
    assert CostModel.of(s.replace(uri=None)) is not CostModel.of(s)
