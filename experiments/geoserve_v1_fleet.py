"""Train the GeoServe-v1 fleet policy (:mod:`agents.fleet`) on generated scenarios, never on the suite's.

Usage::

    python -m experiments.geoserve_v1_fleet [--stages bc,bc+ppo,ppo] [--seed 0] [--out runs/geoserve-v1-fleet]
        [--publish]

Stages (each saved under ``--out/<stage>_s<seed>/``; a finished stage is reused, so a rerun resumes):

* ``bc``: behaviour cloning of the *forecast* reference with DAgger (round 0: the reference acts; round
  k: the policy acts with probability 1 − 0.5^k per step; the forecast reference labels every visited
  state with its counts); per-facility cross-entropy over the deployable facilities.  The round with
  the best validation score is kept.
* ``bc+ppo``: MaskablePPO fine-tuning from the ``bc`` weights (the warm start).
* ``ppo``: MaskablePPO from scratch with the same budget (pure RL).

Training scenarios: :data:`TRAIN_SEEDS` generated scenarios with the suite's set sizes (K=9, M=8, D=15,
H=2) and 8-120 classes, seeds from 600000 (disjoint from the suite's 0-2401); one drawn per episode.
Validation: the published split ``a2-val-v1`` (4 scenarios, reset seeds 0 and 1), score = reactive
reference's day cost / policy's day cost on the same day, geometric mean.  Model selection sees only it.

``--publish`` copies the best warm-start (``bc`` or ``bc+ppo``) model to
``results/agents/runs/geoserve-v1-fleet/``, writes its ``config.yml`` (stage, budgets, validation curves,
the pure-RL run's curve beside it) and prints the SHA-256 to pin in :mod:`agents.fleet`.  The pure-RL
model is not published: at the budget that fits here it never left its prior (the reactive re-solve).
One torch thread; budgets and wall times go to ``--out/budgets.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

ENV_ID = "a2gym/GeoServeCapacity-v0"
MAX_CLASSES = 128  # the suite's GeoServe-v1 max_classes
SAME_SPACES = "regions=9&models=8&datas=15&types=2"
TRAIN_SEEDS = 24
SEED0 = 600_000
VAL_SEEDS = (0, 1)
REPO = Path(__file__).resolve().parents[1]
PUBLISH = REPO / "results/agents/runs/geoserve-v1-fleet"
HP = {"bc_rounds": 3, "bc_days": 8, "bc_epochs": 20, "bc_lr": 3e-3, "bc_batch": 64,
      "ppo_steps": 6144, "n_envs": 4, "n_steps": 96, "batch_size": 96, "n_epochs": 4,
      "rl_lr": 3e-4, "ft_lr": 1e-4, "gamma": 0.99, "gae_lambda": 0.95, "ent_coef": 0.0,
      "target_kl_ft": 0.02, "eval_every": 1536, "hidden": 64}


def env_kwargs() -> dict[str, Any]:
    return {"max_classes": MAX_CLASSES}


def train_scenarios(n: int | None = None) -> list[Any]:
    """Generated training scenarios (class counts cycling 8..120) that GeoServe-v1 accepts."""
    from a2gym import load_scenario

    sizes = (8, 16, 24, 40, 54, 80, 120)
    out, j = [], 0
    n = TRAIN_SEEDS if n is None else n
    while len(out) < n:
        uri = f"generator://synth-v0/{SEED0 + j}?classes={sizes[j % len(sizes)]}&{SAME_SPACES}"
        j += 1
        scn = load_scenario(uri)
        try:
            gym.make(ENV_ID, scenario=scn, **env_kwargs())
        except ValueError:  # needs more than max_instances: not a scenario of this space
            continue
        out.append(scn)
    return out


def val_scenarios() -> list[Any]:
    from a2gym.leaderboard.episode import load_fresh
    from a2gym.leaderboard.suite import A2_VAL_V1

    return [load_fresh(u) for u in A2_VAL_V1.entry(ENV_ID).scenarios]


class Pool(gym.Wrapper):
    """Each reset plays one of ``scenarios`` (drawn from the reset seed's stream)."""

    def __init__(self, env: gym.Env, scenarios: list[Any]):
        super().__init__(env)
        self.scenarios, self.rng = scenarios, np.random.default_rng(0)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        if options and "scenario" in options:  # an explicit scenario (validation, cloning days)
            return self.env.reset(seed=seed, options=options)
        scn = self.scenarios[int(self.rng.integers(len(self.scenarios)))]
        return self.env.reset(seed=seed, options={**(options or {}), "scenario": scn})


def make_env(scenarios: list[Any]) -> gym.Env:
    from agents.fleet import FleetObservation

    return FleetObservation(Pool(gym.make(ENV_ID, scenario=scenarios[0], **env_kwargs()), scenarios))


def day(env: gym.Env, seed: int, scn: Any, act: Any, label: Any = None, store: list | None = None
        ) -> float:
    """Play one day on ``scn`` with ``act(features, info, y) -> action``, where ``y`` is ``label(info)``
    (the reference's action in this state, computed once per step) or None without ``label``; with
    ``store``, append (features, mask, y) for every step. Returns the day cost [$]."""
    feats, info = env.reset(seed=seed, options={"scenario": scn})
    done = False
    while not done:
        y = None if label is None else label(info)
        if store is not None:
            store.append((feats, np.asarray(info["action_mask"], dtype=bool), y))
        feats, _, term, trunc, info = env.step(act(feats, info, y))
        done = term or trunc
    return float(info["cost"])


def reference_cost(scn: Any, seed: int, mode: str = "reactive") -> float:
    from a2gym.policies import reference_policy

    env = gym.make(ENV_ID, scenario=scn, **env_kwargs())
    obs, info = env.reset(seed=seed)
    pol, done = reference_policy(env, mode=mode), False
    while not done:
        obs, _, term, trunc, info = env.step(pol(obs, info))
        done = term or trunc
    return float(info["cost"])


def validate(model: Any, val: list[Any], ref: dict) -> float:
    """Geometric mean over validation days of reactive cost / policy cost."""
    from agents.fleet import FleetObservation, act

    scores = []
    for scn in val:
        env = FleetObservation(gym.make(ENV_ID, scenario=scn, **env_kwargs()))
        for s in VAL_SEEDS:
            cost = day(env, s, scn, lambda f, i, _: act(model, f, i["action_mask"]))
            scores.append(ref[(scn.name, s)] / cost)
    return float(np.exp(np.mean(np.log(scores))))


def new_model(train: list[Any], seed: int, lr: float, target_kl: float | None = None) -> Any:
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from agents.fleet import FleetPolicy

    venv = VecNormalize(DummyVecEnv([lambda: make_env(train) for _ in range(HP["n_envs"])]),
                        norm_obs=False, norm_reward=True, gamma=HP["gamma"])
    venv.seed(seed)
    return MaskablePPO(FleetPolicy, venv, n_steps=HP["n_steps"], batch_size=HP["batch_size"],
                       n_epochs=HP["n_epochs"], learning_rate=lr, gamma=HP["gamma"],
                       gae_lambda=HP["gae_lambda"], ent_coef=HP["ent_coef"], target_kl=target_kl,
                       policy_kwargs={"hidden": HP["hidden"]}, seed=seed, device="cpu", verbose=0)


def fit(policy: Any, data: list, epochs: int, lr: float, batch: int, rng: np.random.Generator) -> float:
    """Per-facility cross-entropy of the reference's counts over the deployable facilities."""
    import torch as th

    from agents.cloning import fit_minibatches
    from agents.fleet import N_FAC_FEATURES

    k = int(policy.action_space.nvec[0])

    def loss_of(chunk: list) -> th.Tensor:
        n = len(chunk)
        x = th.as_tensor(np.stack([c[0] for c in chunk]))
        mask = th.as_tensor(np.stack([c[1] for c in chunk])).reshape(n, -1, k)
        y = th.as_tensor(np.stack([c[2] for c in chunk]))
        logits = policy.logits(x).reshape(n, -1, k).masked_fill(~mask, -1e9)
        # deployable facilities only; those the reference or the fleet uses (few are) weighted up
        per = x[:, : y.shape[1] * N_FAC_FEATURES].reshape(n, -1, N_FAC_FEATURES)
        active = (y > 0) | (per[:, :, :3] > 0).any(-1)
        w = mask[:, :, 1:].any(-1).float() * (1.0 + 9.0 * active.float())
        nll = th.logsumexp(logits, -1) - logits.gather(-1, y.unsqueeze(-1)).squeeze(-1)
        return (nll * w).sum() / w.sum().clamp(min=1.0)

    return fit_minibatches(policy, data, epochs, lr, batch, rng, loss_of)


def stage_bc(out: Path, seed: int, train: list, val: list, ref: dict, log: Any) -> dict:
    from a2gym.policies import reference_policy
    from agents.fleet import act

    env = make_env(train)
    model = new_model(train, seed, HP["rl_lr"])
    rng = np.random.default_rng(seed)
    data: list = []
    curve, best = [], (-1.0, None)
    ref_pol = reference_policy(env.unwrapped, mode="forecast")  # reads the env's state at each call

    def label(info: dict) -> np.ndarray:
        return np.asarray(ref_pol(None, info), dtype=np.int64)

    for rnd in range(HP["bc_rounds"]):
        beta = 0.5 ** rnd

        def choose(f: np.ndarray, info: dict, y: np.ndarray, beta: float = beta) -> np.ndarray:
            return y if rng.random() < beta else act(model, f, info["action_mask"])

        for _ in range(HP["bc_days"]):
            scn = train[int(rng.integers(len(train)))]
            day(env, int(rng.integers(1 << 30)), scn, choose, label, data)
        loss = fit(model.policy, data, HP["bc_epochs"], HP["bc_lr"], HP["bc_batch"], rng)
        score = validate(model, val, ref)
        curve.append({"round": rnd, "samples": len(data), "loss": loss, "val_score": score})
        log(f"bc round {rnd}: {len(data)} samples, loss {loss:.4f}, validation score {score:.3f}")
        if score > best[0]:
            best = (score, rnd)
            model.save(out / "best_model.zip")
    return {"curve": curve, "best_val": best[0], "best_round": best[1], "bc_samples": len(data)}


def stage_ppo(out: Path, seed: int, train: list, val: list, ref: dict, log: Any, start: Path | None
              ) -> dict:
    from sb3_contrib import MaskablePPO

    warm = start is not None
    model = new_model(train, seed, HP["ft_lr"] if warm else HP["rl_lr"], HP["target_kl_ft"] if warm else None)
    if warm:
        model.policy.load_state_dict(MaskablePPO.load(start, device="cpu").policy.state_dict())
    score = validate(model, val, ref)
    curve, best = [{"steps": 0, "val_score": score}], score
    model.save(out / "best_model.zip")
    log(f"{'bc+ppo' if warm else 'ppo'} 0 steps: validation score {score:.3f}")
    done = 0
    while done < HP["ppo_steps"]:
        model.learn(HP["eval_every"], reset_num_timesteps=False)
        done += HP["eval_every"]
        score = validate(model, val, ref)
        curve.append({"steps": done, "val_score": score})
        log(f"{'bc+ppo' if warm else 'ppo'} {done} steps: validation score {score:.3f}")
        if score > best:
            best = score
            model.save(out / "best_model.zip")
    return {"curve": curve, "best_val": best, "rl_steps": done}


def main(argv: list[str] | None = None) -> int:
    import torch as th

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stages", default="bc,bc+ppo,ppo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "geoserve-v1-fleet")
    ap.add_argument("--ppo-steps", type=int, default=HP["ppo_steps"])
    ap.add_argument("--rl-lr", type=float, default=HP["rl_lr"], help="learning rate of pure RL (ppo)")
    ap.add_argument("--publish", action="store_true")
    args = ap.parse_args(argv)
    th.set_num_threads(1)
    HP["ppo_steps"], HP["rl_lr"] = args.ppo_steps, args.rl_lr
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.0f} s] {msg}", flush=True)

    train, val = train_scenarios(), val_scenarios()
    ref = {(scn.name, s): reference_cost(scn, s) for scn in val for s in VAL_SEEDS}
    log(f"{len(train)} training scenarios, {len(val)} validation scenarios x {len(VAL_SEEDS)} days")
    for stage in args.stages.split(","):
        d = args.out / f"{stage}_s{args.seed}"
        if (d / "result.json").exists():
            log(f"{stage}: reusing {d}")
            continue
        d.mkdir(parents=True, exist_ok=True)
        ts = time.perf_counter()
        if stage == "bc":
            res = stage_bc(d, args.seed, train, val, ref, log)
        elif stage in ("bc+ppo", "ppo"):
            start = args.out / f"bc_s{args.seed}" / "best_model.zip" if stage == "bc+ppo" else None
            res = stage_ppo(d, args.seed, train, val, ref, log, start)
        else:
            raise SystemExit(f"unknown stage {stage!r} (bc, bc+ppo, ppo)")
        res.update(stage=stage, seed=args.seed, wall_s=round(time.perf_counter() - ts, 1), hyperparams=HP,
                   train_scenarios=[s.name for s in train])
        (d / "result.json").write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
        with open(args.out / "budgets.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps({k: res[k] for k in ("stage", "seed", "wall_s", "best_val")}
                               | {"rl_steps": res.get("rl_steps", 0), "bc_samples": res.get("bc_samples", 0)})
                    + "\n")
    if args.publish:
        publish(args.out, args.seed, log)
    return 0


def publish(out: Path, seed: int, log: Any) -> None:
    """Copy the best warm-start model to results/agents/runs (see the module docstring)."""
    import hashlib

    import yaml

    paths = {s: out / f"{s}_s{seed}" / "result.json" for s in ("bc", "bc+ppo", "ppo")}
    results = {s: json.loads(p.read_text()) for s, p in paths.items() if p.exists()}
    warm = [s for s in ("bc", "bc+ppo") if s in results]
    if not warm:
        raise SystemExit(f"nothing to publish: no finished bc or bc+ppo stage in {out}")
    stage = max(warm, key=lambda s: results[s]["best_val"])
    PUBLISH.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / f"{stage}_s{seed}" / "best_model.zip", PUBLISH / "best_model.zip")
    r = results[stage]
    cfg = {"env": ENV_ID, "env_kwargs": env_kwargs(), "policy": "agents.fleet:FleetPolicy",
           "observation": "agents.fleet:FleetObservation", "stage": stage, "seed": seed,
           "validation": "a2-val-v1, reset seeds 0 and 1, score = reactive cost / cost (geomean)",
           "best_validation_score": r["best_val"], "curve": r["curve"], "wall_s": r["wall_s"],
           "rl_steps": r.get("rl_steps", 0), "hyperparameters": r["hyperparams"],
           "train_scenarios": r["train_scenarios"],
           "trained_on": "generated scenarios only (seeds >= 600000); never a2-test-v1"}
    if stage == "bc+ppo":
        cfg["warm_start"] = {"bc_curve": results["bc"]["curve"], "bc_wall_s": results["bc"]["wall_s"],
                             "bc_samples": results["bc"]["bc_samples"]}
    if "ppo" in results:
        cfg["pure_rl_not_published"] = {"curve": results["ppo"]["curve"], "wall_s": results["ppo"]["wall_s"]}
    (PUBLISH / "config.yml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    sha = hashlib.sha256((PUBLISH / "best_model.zip").read_bytes()).hexdigest()
    log(f"published {stage} -> {PUBLISH} (SHA-256 {sha})")


if __name__ == "__main__":
    raise SystemExit(main())
