"""RL Zoo (rl_zoo3) trains on the a2gym envs as a user runs it: ``--gym-packages a2gym`` and nothing else.

Each run is a real ``python -m rl_zoo3.train`` subprocess (2,048 steps on Placement-v0, the issue's budget),
followed by ``python -m rl_zoo3.enjoy`` on the saved model, which must finish episodes. The shipped
RL Zoo-format hyperparameter files (``agents/hyperparams/rl_zoo/<algo>.yml``) are checked by RL Zoo's own
ExperimentManager building a model from every section.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("rl_zoo3")

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "agents" / "hyperparams" / "rl_zoo"
ENV = "a2gym/Placement-v0"


def _zoo(module: str, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, (f"{module} {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n"
                                  f"{proc.stderr[-3000:]}")
    return proc


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_rl_zoo_trains_2048_steps_and_enjoy_finishes_episodes(algo: str, tmp_path: Path) -> None:
    """No wrapper, no -conf: RL Zoo's default hyperparameters, and every sampled action is a legal input."""
    _zoo("rl_zoo3.train", "--algo", algo, "--env", ENV, "--gym-packages", "a2gym", "-n", "2048",
         "--seed", "0", "--num-threads", "1", "-f", "logs", "--eval-freq", "-1", cwd=tmp_path)
    model = tmp_path / "logs" / algo / "a2gym-Placement-v0_1" / "a2gym-Placement-v0.zip"
    assert model.exists(), sorted(p.name for p in (tmp_path / "logs" / algo).rglob("*"))
    out = _zoo("rl_zoo3.enjoy", "--algo", algo, "--env", ENV, "--gym-packages", "a2gym", "-f", "logs",
               "--exp-id", "1", "-n", "300", "--no-render", "--deterministic", "--seed", "1",
               "--num-threads", "1", cwd=tmp_path).stdout
    episodes = re.findall(r"^Episode Reward: (-?[0-9.]+)", out, flags=re.M)
    assert episodes, out[-2000:]
    assert all(float(r) < 0 for r in episodes)  # a return is -cost/reference_cost (plus penalties)


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn"])
def test_rl_zoo_hyperparameter_files_build_a_model_for_every_env(algo: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every section of the shipped file is accepted by RL Zoo (keys, policy_kwargs, normalize) and builds."""
    import argparse

    import yaml
    from rl_zoo3.exp_manager import ExperimentManager
    from rl_zoo3.utils import ALGOS

    import a2gym  # noqa: F401

    monkeypatch.chdir(tmp_path)
    sections = yaml.safe_load((CONF / f"{algo}.yml").read_text(encoding="utf-8"))
    assert ENV in sections
    for env_id in sections:
        args = argparse.Namespace(algo=algo, env=env_id)
        manager = ExperimentManager(args, algo, env_id, str(tmp_path / "logs"), n_timesteps=16, seed=0,
                                    config=str(CONF / f"{algo}.yml"), eval_freq=-1, device="cpu",
                                    n_eval_envs=1)
        model, _ = manager.setup_experiment()
        assert isinstance(model, ALGOS[algo]), env_id
        assert model.observation_space.shape == model.get_env().observation_space.shape
        model.get_env().close()
