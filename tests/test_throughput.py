"""The throughput paths (issue 20) compute the same bits as the paths they replace, kept as references."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from a2gym.costmodel import load_scenario
from a2gym.envs.placement import PlacementBatch, PlacementTables

URIS = ("scenario://paper-default-v0", "generator://synth-v0/5?classes=100&regions=8",
        "generator://synth-v0/2?classes=8&regions=3")


@pytest.mark.parametrize("uri", URIS)
def test_placement_incremental_costs_and_batched_finish_equal_the_full_recost(uri):
    tables = PlacementTables.of(load_scenario(uri))
    n = 48
    batch = PlacementBatch(tables, n, check=False)
    ref = PlacementBatch(tables, n, check=False)  # the old path: full recost, one finish per episode
    rng = np.random.default_rng(0)
    n_fac = tables.n_facilities
    finished = 0
    for _ in range(120):
        live = np.flatnonzero(~batch.done)
        if live.size == 0:
            everyone = np.arange(n)
            batch.reset(everyone)
            ref.reset(everyone)
            continue
        m = batch.masks()[live]
        a = np.argmax(rng.random(m.shape) * m, axis=1)
        stop = a == n_fac
        if (~stop).any():
            batch.open_facilities(live[~stop], a[~stop])
            ref.open_facilities(live[~stop], a[~stop])
            ref.recost(live[~stop])  # lemma_a_costs from scratch
        if stop.any():
            batch.finish_batch(live[stop])
            for e in live[stop]:
                ref.finish(int(e))
            finished += int(stop.sum())
        assert batch.costs.tobytes() == ref.costs.tobytes()
        assert np.array_equal(batch.done, ref.done) and np.array_equal(batch.masks(), ref.masks())
    assert finished >= n


@pytest.mark.parametrize("uri", URIS)
def test_scheduling_single_env_scalar_path_equals_the_batch_path(uri):
    """``assign_one`` / ``observe_one`` (the single env) give the bits of ``assign`` / ``observe``."""
    import gymnasium as gym

    from a2gym.envs.scheduling import SchedulingBatch

    env = gym.make("a2gym/Scheduling-v0", scenario=uri).unwrapped
    rng = np.random.default_rng(1)
    for ep in range(3):
        obs, info = env.reset(seed=ep)
        ref = SchedulingBatch(env.tables, 1)
        zero = np.zeros(1, dtype=np.int64)
        assert obs.tobytes() == ref.observe(env.reference_cost)[0].tobytes()
        while True:
            m = info["action_mask"]
            assert np.array_equal(m, ref.masks()[0])
            a = int(np.argmax(rng.random(m.shape) * m))
            obs, _, term, _, info = env.step(a)
            ref.assign(zero, np.array([a]))
            if term:
                ref.finish(0)
            assert env.batch.costs.tobytes() == ref.costs.tobytes()
            assert [info[k] for k in ("cost", "compute", "bandwidth", "deployment")] == ref.costs[0].tolist()
            assert obs.tobytes() == ref.observe(env.reference_cost)[0].tobytes()
            for name in ("load", "inst", "facility", "data", "step_no"):
                assert np.array_equal(getattr(env.batch, name), getattr(ref, name))
            if term:
                break


@pytest.mark.parametrize("uri", URIS)
def test_assignment_costs_equal_evaluate_of_materialise_row_by_row(uri):
    from a2gym.costmodel import CostModel

    cm = CostModel.of(load_scenario(uri))
    R, n_fac = cm.C.shape
    rng = np.random.default_rng(2)
    fac = np.empty((300, R), dtype=np.int64)
    for j in range(300):  # feasible facilities, from few distinct ones (many shared) to many
        width = 1 + j % 12
        for r in range(R):
            ok = np.flatnonzero(cm.fac_feasible[r])
            fac[j, r] = ok[rng.integers(min(width, ok.size))] if j % 2 else rng.choice(ok)
    data = np.where(rng.random(fac.shape) < 0.5, cm.dstar[np.arange(R), fac], -1)
    for r in range(R):  # a random feasible data version at each chosen facility, half the time
        for j in np.flatnonzero(data[:, r] < 0):
            k, m, h = (int(v) for v in cm.scenario.facility_parts(int(fac[j, r])))
            data[j, r] = rng.choice(np.flatnonzero(cm.feasible[r, k, m, :, h]))
    for d in (None, data):
        got = cm.assignment_costs(fac, d)
        for j in range(len(fac)):
            ev = cm.evaluate(cm.materialise(fac[j], None if d is None else d[j]), check=False)
            assert got[j].tolist() == [ev.total, ev.compute, ev.bandwidth, ev.deployment]


@pytest.mark.parametrize("env_id", ["a2gym/Placement-v0", "a2gym/Scheduling-v0"])
def test_sets_tracker_equals_the_from_scratch_observation(env_id):
    """``SetsTracker`` (incremental, shared read-only static blocks) gives ``StaticSets.observe``'s and
    ``_unserved_gain``'s bits through episodes, resets and a change of scenario."""
    import gymnasium as gym

    from a2gym.envs import sets

    rng = np.random.default_rng(3)
    for uri in ("scenario://paper-default-v0", "generator://synth-v0/1?classes=30&regions=5"):
        env = gym.make(env_id, scenario=uri, observation="sets").unwrapped
        for ep in range(3):
            obs, info = env.reset(seed=ep)
            while True:
                st = sets.StaticSets.of(env.scenario, env.reference_cost)
                b = env.batch
                if env_id.startswith("a2gym/Placement"):
                    assign, busy = b.assign[0], b.busy_cls[0]
                else:
                    assign = b.facility[0]
                    busy = env._sets_tracker.busy
                    is_open = b.inst[0] > 0
                    want = sets._unserved_gain(st, assign < 0, is_open)
                    assert env._sets_tracker.unserved_gain(assign < 0, is_open).tobytes() == want.tobytes()
                    assert obs["facilities"][:st.n_facilities, sets.F["gain"]].tobytes() == want.tobytes()
                old = st.observe(assign, busy, env.tables.rho)
                new = env._sets_tracker.observe(assign, busy, env.tables.rho)
                for k in old:
                    assert old[k].tobytes() == new[k].tobytes(), k
                assert not new["pair_cost"].flags.writeable
                m = info["action_mask"]
                obs, _, term, trunc, info = env.step(int(np.argmax(rng.random(m.shape) * m)))
                if term or trunc:
                    break


def test_normalisers_are_solved_once_per_scenario_sha256_and_kept_on_disk(tmp_path, monkeypatch):
    """A scenario object with the same content (another object, same SHA-256) is not solved again; the
    disk cache (``A2GYM_CACHE_DIR``) gives the same bits in a fresh process state; other versions are
    ignored."""
    from a2gym.envs import normalisers
    from a2gym.envs.placement import placement_reference_cost
    from a2gym.envs.scheduling import scheduling_reference_cost
    from a2gym.scenario import read_scenario

    uri = "generator://synth-v0/11?classes=12&regions=3"
    monkeypatch.setenv(normalisers.CACHE_ENV, str(tmp_path))
    normalisers.clear_memory()
    calls = []
    first = {f: f(read_scenario(uri)) for f in (placement_reference_cost, scheduling_reference_cost)}
    files = sorted(tmp_path.rglob("*.json"))
    assert len(files) == 2 and all(str(tmp_path) in str(p) for p in files)

    def never() -> float:
        calls.append(1)
        return -1.0

    fresh = copy.copy(read_scenario(uri))  # a new object, same content: nothing cached on it
    assert normalisers.normaliser(fresh, "placement_reference_cost", never) == first[placement_reference_cost]
    normalisers.clear_memory()  # as a new process: from disk
    again = copy.copy(read_scenario(uri))
    got = normalisers.normaliser(again, "scheduling_reference_cost", never)
    assert got == first[scheduling_reference_cost]
    assert not calls
    for f in files:  # another reference version: ignored, solved again
        f.write_text(f.read_text().replace('"reference_version": 1', '"reference_version": 0'))
    normalisers.clear_memory()
    assert normalisers.normaliser(copy.copy(read_scenario(uri)), "placement_reference_cost", never) == -1.0
    normalisers.clear_memory()
