"""Cost model: hand-computed costs, feasibility, violations, and monotonicity properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import a2gym
from a2gym import CostModel, InfeasibleError, Plan, PlanError
from tests.toy import two_region_toy

A, B = 0, 1  # facilities of the toy: (region, model 0, type 0) -> i = region


def test_hand_computed_pooled_plan():
    s = two_region_toy()
    # c0 (at A, big) and c1 (at B, small) both served at A: busy 2*0.2 + 1*0.1 = 0.5 -> ceil(0.5/0.5) = 1
    # instance.
    plan = Plan.from_assignment(facility=[A, A], data=[1, 0], instances=[1, 0])
    ev = a2gym.evaluate(s, plan)
    assert ev.violations == ()
    assert ev.compute == pytest.approx(1.0)
    # c1 ships 3600 req * 1e5 B = 0.36 GB from B to A at 0.05 $/GB.
    assert ev.bandwidth == pytest.approx(0.018)
    assert ev.deployment == 0.0  # model home is A
    assert ev.total == pytest.approx(1.018)
    assert ev.class_latency_ms[1] == pytest.approx(0.1 + 100.0 + 0.0008 + 50.0)


def test_hand_computed_local_plan():
    s = two_region_toy()
    plan = Plan.from_assignment(facility=[A, B], data=[1, 0], instances=[1, 1])
    ev = a2gym.evaluate(s, plan)
    assert ev.violations == ()
    assert ev.compute == pytest.approx(3.0)
    assert ev.deployment == pytest.approx(0.1)  # 1 GB from A to B at 0.1 $/GB
    assert ev.bandwidth == 0.0
    assert ev.total == pytest.approx(3.1)


def test_ufl_costs_and_dstar():
    s = two_region_toy()
    cm = CostModel.of(s)
    assert cm.F.tolist() == pytest.approx([1.0, 2.1])
    # c0 can only use big: at A, per-use compute = 1 $/h * 2 req/s * 0.2 s / 0.5 = 0.8.
    assert cm.dstar[0].tolist() == [1, 1]
    assert cm.C[0, A] == pytest.approx(0.8)
    # c0 at B: bandwidth 7200 * 2e5 B * 0.1 $/GB = 0.144, compute 2 * 2 * 0.2 / 0.5 = 1.6.
    assert cm.C[0, B] == pytest.approx(0.144 + 1.6)
    # c1 prefers small at both (cheaper in bytes and in compute).
    assert cm.dstar[1].tolist() == [0, 0]
    assert cm.C[1, A] == pytest.approx(0.018 + 1.0 * 0.1 / 0.5)
    assert CostModel.of(s) is cm  # cached


def test_materialise_matches_lemma_a():
    s = two_region_toy()
    cm = CostModel.of(s)
    plan = cm.materialise(np.array([A, A]))
    assert plan.instances.tolist() == [1, 0]
    assert plan.data.tolist() == [1, 0]
    assert cm.assignment_cost(np.array([A, A])) == pytest.approx(1.018)
    # double the rates: busy 1.0 -> 2 instances
    assert cm.materialise(np.array([A, A]), rates=np.array([4.0, 2.0])).instances.tolist() == [2, 0]


def test_violations_are_reported_not_clipped():
    s = two_region_toy(class_latency_slo_ms=np.array([500.0, 150.0]))
    # c1 at A: 150.1008 ms > 150 ms; c0 with small data: accuracy 0.7 < 0.75; one instance too few is fine
    # here.
    plan = Plan.from_assignment(facility=[A, A], data=[0, 0], instances=[1, 0])
    ev = a2gym.evaluate(s, plan)
    kinds = {(v.kind, v.subject) for v in ev.violations}
    assert ("latency", "c1") in kinds
    assert ("accuracy", "c0") in kinds
    assert not ev.feasible


def test_capacity_coverage_and_offered_violations():
    s = two_region_toy(price_per_hour=np.array([[1.0], [np.nan]]))
    under = Plan(cls=[0, 1], facility=[A, A], data=[1, 0], fraction=[1.0, 0.5], instances=[0, 0])
    kinds = {v.kind for v in a2gym.evaluate(s, under).violations}
    assert {"coverage", "capacity"} <= kinds
    on_b = Plan.from_assignment(facility=[A, B], data=[1, 0], instances=[1, 1])
    assert "offered" in {v.kind for v in a2gym.evaluate(s, on_b).violations}


def test_fractional_plan_costs():
    s = two_region_toy()
    plan = Plan(cls=[0, 1, 1], facility=[A, A, B], data=[1, 0, 0], fraction=[1.0, 0.5, 0.5], instances=[1, 1])
    ev = a2gym.evaluate(s, plan)
    assert ev.violations == ()
    assert ev.bandwidth == pytest.approx(0.009)


def test_infeasible_class_is_named():
    s = two_region_toy(class_accuracy_floor=np.array([0.75, 0.95]))
    with pytest.raises(InfeasibleError, match="c1") as e:
        a2gym.load_scenario(s)
    assert e.value.classes == ("c1",)


def test_bad_plans_raise_plan_error():
    s = two_region_toy()
    with pytest.raises(PlanError, match="instances"):
        a2gym.evaluate(s, Plan.from_assignment([A, A], [1, 0], [1, 0, 0]))
    with pytest.raises(PlanError, match="facility"):
        a2gym.evaluate(s, Plan.from_assignment([A, 7], [1, 0], [1, 0]))
    with pytest.raises(PlanError, match="lengths"):
        Plan(cls=[0], facility=[0, 1], data=[0], fraction=[1.0], instances=[1, 0])


@settings(max_examples=60, deadline=None)
@given(scale=st.floats(1.0, 50.0), src=st.integers(0, 1))
def test_raising_egress_never_lowers_a_fixed_plans_cost(scale, src):
    s = two_region_toy()
    plan = Plan.from_assignment(facility=[B, A], data=[1, 0], instances=[1, 1])
    eg = np.array(s.egress_per_gb)
    eg[src, 1 - src] *= scale
    before = a2gym.evaluate(s, plan).total
    after = a2gym.evaluate(s.replace(egress_per_gb=eg), plan).total
    assert after >= before - 1e-12


@settings(max_examples=60, deadline=None)
@given(slo=st.floats(1.0, 400.0))
def test_plan_missing_slo_is_reported(slo):
    s = two_region_toy(class_latency_slo_ms=np.array([500.0, slo]))
    plan = Plan.from_assignment(facility=[A, A], data=[1, 0], instances=[1, 0])
    ev = a2gym.evaluate(s, plan)
    lat = 0.1 + 100.0 + 0.0008 + 50.0
    assert (("latency", "c1") in {(v.kind, v.subject) for v in ev.violations}) == (lat > slo + 1e-9)


@pytest.mark.parametrize(("field", "value"), [
    ("fraction", ["1", "1"]),       # used to be converted to 1.0 silently
    ("cls", ["a", 1]),              # raw ValueError
    ("instances", [float("inf"), 0]),  # cast to -2**63
    ("instances", [10**30, 0]),  # raw OverflowError
])
def test_plan_rejects_non_numbers_inf_and_overflow(field, value):
    d = {"cls": [0, 1], "facility": [A, A], "data": [1, 0], "fraction": [1.0, 1.0], "instances": [1, 0]}
    d[field] = value
    with pytest.raises(PlanError, match=field):
        Plan.from_dict(d)


@pytest.mark.parametrize("bad", [np.nan, -1.0, np.inf])
def test_evaluate_rejects_bad_rates(bad):
    s = two_region_toy()
    plan = Plan.from_assignment([A, A], [1, 0], [1, 0])
    assert not CostModel.of(s).evaluate(plan, rates=np.array([1.0, 2.0])).violations
    with pytest.raises(PlanError, match="rates"):  # NaN used to give a NaN cost with no violation
        CostModel.of(s).evaluate(plan, rates=np.array([1.0, bad]))


def test_plan_assignment_inverts_from_assignment_and_refuses_split_plans():
    plan = Plan.from_assignment(facility=[1, 0], data=[0, 1], instances=[1, 1])
    fac, data = plan.assignment(2)
    assert fac.tolist() == [1, 0] and data.tolist() == [0, 1]
    split = Plan(
        cls=[0, 1, 1], facility=[A, A, B], data=[1, 0, 0], fraction=[1.0, 0.5, 0.5], instances=[1, 1]
    )
    with pytest.raises(PlanError, match="not integral"):
        split.assignment(2)
