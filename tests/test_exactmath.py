"""Same bits on every machine: correctly rounded functions, canonical draws, and generated scenarios that do
not move when the CPU-dependent floats under them move by a few ulps (issue 17)."""

from __future__ import annotations

import decimal
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from a2gym import exactmath, load_scenario
from a2gym.leaderboard.suite import SOURCES
from a2gym.scenario.generator import synth_v0

MANIFEST = Path(__file__).resolve().parent.parent / "a2gym" / "data" / "scenarios" / "MANIFEST.json"


def _exact(fn: str, x: float) -> float:
    ctx = decimal.Context(prec=60)
    d = decimal.Decimal(x)
    return float({"exp": ctx.exp, "log": ctx.ln}[fn](d)) if fn != "log2" else float(
        ctx.divide(ctx.ln(d), ctx.ln(decimal.Decimal(2))))


@pytest.mark.parametrize("fn", ["exp", "log", "log2"])
def test_functions_are_correctly_rounded(fn: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-20, 20, 500) if fn == "exp" else np.exp(rng.uniform(-30, 30, 500))
    got = getattr(exactmath, fn)(x)
    assert got.tolist() == [_exact(fn, v) for v in x.tolist()]
    # at most one ulp from the platform's own answer (a sanity check of the function, not of the platform)
    ref = getattr(np, fn)(x)
    assert np.all(np.abs(got - ref) <= np.spacing(np.abs(ref)))


def test_log2_is_exact_on_powers_of_two_and_log_refuses_non_positive() -> None:
    assert exactmath.log2(np.array([0.25, 1.0, 2.0, 1024.0])).tolist() == [-2.0, 0.0, 1.0, 10.0]
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="must be > 0"):
            exactmath.log(np.array([bad]))


def test_interp_is_numpys_formula() -> None:
    rng = np.random.default_rng(1)
    xp = np.cumsum(rng.uniform(0.1, 2, 12))
    fp = rng.normal(size=12)
    x = np.concatenate([rng.uniform(xp[0] - 3, xp[-1] + 3, 2000), xp, [xp[0] - 1, xp[-1] + 1]])
    assert exactmath.interp(x, xp, fp).tolist() == np.interp(x, xp, fp).tolist()


def test_draws_keep_numpys_stream() -> None:
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    assert exactmath.uniform(a, 0.9, 1.1, (3, 4)).tolist() == b.uniform(0.9, 1.1, (3, 4)).tolist()
    assert exactmath.uniform(a, 0.5, 2.0) == b.uniform(0.5, 2.0)
    got, ref = exactmath.lognormal(a, 0.0, 0.75, 1000), b.lognormal(0.0, 0.75, 1000)
    assert np.all(np.abs(got - ref) <= np.spacing(ref))  # libm exp: within an ulp, usually equal
    assert a.random() == b.random()  # the same number of draws consumed


def test_round_half_safe_recomputes_only_near_a_half() -> None:
    args = np.array([math.log(2.5), math.log(7.25), math.log(100.5)])
    fast = np.exp(args)
    fast[0] = np.nextafter(2.5, 3.0)  # a fast exp one ulp above 2.5 would round to 3
    calls: list[int] = []

    def exact(a: np.ndarray) -> np.ndarray:
        calls.append(a.size)
        return exactmath.exp(a)

    assert exactmath.round_half_safe(fast, exact, args).tolist() == np.round(exactmath.exp(args), 0).tolist()
    assert calls == [2]  # 2.5 and 100.5 are within the margin of a half; 7.25 is not


# ---- generated scenarios under perturbed floats ---------------------------------------------------------

_PERTURBED: tuple[str, ...] = ("exp", "log", "log2", "log10", "log1p", "expm1", "power", "interp", "sin",
                               "cos",                                "tanh", "cbrt", "arctan")
"""numpy functions whose results depend on the CPU (SIMD dispatch) or the C library: perturbed below."""


def _nudge(y: object) -> object:
    """``y`` moved by -3..+3 ulps, element by element, in a fixed pattern (another CPU's answer)."""
    arr = np.asarray(y)
    if arr.dtype.kind != "f":
        return y
    k = (np.arange(arr.size).reshape(arr.shape) % 7) - 3 if arr.ndim else 2
    out = arr + k * np.spacing(arr)
    return out if isinstance(y, np.ndarray) or arr.ndim else type(y)(out) if isinstance(y, float) else out


class _NudgedRNG:
    """A Generator whose float distributions (computed by numpy's C code with libm / possible fused
    multiply-adds) come back perturbed; integer and k·2⁻⁵³ outputs pass through untouched."""

    EXACT = {"random", "integers", "permutation", "choice", "standard_normal", "shuffle", "bit_generator"}

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._rng, name)
        if name in self.EXACT or not callable(attr):
            return attr
        return lambda *a, **k: _nudge(attr(*a, **k))


@contextmanager
def _another_cpu() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    for name in _PERTURBED:
        fn: Callable = getattr(np, name)
        mp.setattr(np, name, lambda *a, _fn=fn, **k: _nudge(_fn(*a, **k)))
    for name in ("exp", "log", "log2", "pow"):
        fn = getattr(math, name)
        mp.setattr(math, name, lambda *a, _fn=fn: float(_nudge(_fn(*a))))
    real = np.random.default_rng
    mp.setattr(np.random, "default_rng", lambda *a, **k: _NudgedRNG(real(*a, **k)))
    try:
        yield
    finally:
        mp.undo()


def test_the_perturbation_is_felt_by_numpy_and_the_old_generator() -> None:
    """The harness works: numpy's own results move under it, and so would a scenario built with them."""
    x = np.linspace(0.1, 3, 50)
    here = np.exp(x)
    rng_here = np.random.default_rng(3).lognormal(0.0, 0.75, 20)
    with _another_cpu():
        there = np.exp(x)
        rng_there = np.random.default_rng(3).lognormal(0.0, 0.75, 20)
    assert not np.array_equal(here, there) and np.allclose(here, there, rtol=1e-14, atol=0)
    assert not np.array_equal(rng_here, rng_there)


def test_every_suite_source_keeps_its_pin_on_another_cpu() -> None:
    """Each generated suite scenario hashes to its committed MANIFEST pin, with the CPU-dependent floats under
    the generator moved by a few ulps (and without: the pins match what this machine generates)."""
    pins = json.loads(MANIFEST.read_text(encoding="utf-8"))
    generated = {n: s for n, s in SOURCES.items() if s.startswith("generator://")}
    assert len(generated) >= 20
    here = {n: load_scenario(s).sha256 for n, s in generated.items()}
    with _another_cpu():
        there = {n: load_scenario(s).sha256 for n, s in generated.items()}
    assert here == there == {n: pins[n] for n in generated}


SIZES = [dict(n_classes=1, n_regions=2, n_models=1, n_data_versions=1, n_instance_types=1),
         dict(n_classes=8),
         dict(n_classes=50, n_regions=21, n_models=8, n_data_versions=63, n_instance_types=4),
         dict(n_classes=300, n_regions=12, n_models=8, n_data_versions=20, n_instance_types=3),
         dict(n_classes=3000, n_regions=5, n_models=3, n_data_versions=5, n_instance_types=2)]


@pytest.mark.parametrize("seed", [0, 1, 17, 4242])
@pytest.mark.parametrize("size", SIZES, ids=lambda d: f"c{d['n_classes']}")
def test_a_spread_of_sizes_keeps_its_hash_on_another_cpu(seed: int, size: dict) -> None:
    here = synth_v0(seed, **size).sha256
    with _another_cpu():
        assert synth_v0(seed, **size).sha256 == here
