"""Every example of README.md's "Use from your RL code" section runs as printed.

A block is the fenced code block after a ``<!-- example:NAME -->`` marker; python blocks run with this
interpreter, bash blocks with ``python`` meaning this interpreter, each in a fresh process in a temporary
directory (``agents/`` linked there for RL Zoo's ``-conf``). Examples that need a library this venv lacks
skip (RLlib runs in CI's RLlib venv, where ``A2GYM_REQUIRE_RLLIB=1`` turns its skip into a failure).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: example name -> modules it needs
EXAMPLES = {
    "gymnasium": (),
    "sb3_ppo": ("stable_baselines3",),
    "maskable_ppo": ("sb3_contrib",),
    "rl_zoo": ("rl_zoo3",),
    "rllib": ("ray.rllib", "torch"),
    "cleanrl_vector": ("torch",),
}
MARKER = re.compile(r"<!-- example:(\w+) -->\n```(\w+)\n(.*?)\n```", re.S)


def readme_examples() -> dict[str, tuple[str, str]]:
    """name -> (language, code) of every marked block in README.md."""
    return {m[1]: (m[2], m[3]) for m in MARKER.finditer((ROOT / "README.md").read_text(encoding="utf-8"))}


def _available(module: str) -> bool:
    """Whether ``module`` imports (ray may be installed without RLlib's dependencies)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def test_readme_has_every_example_and_no_other() -> None:
    assert sorted(readme_examples()) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_readme_example_runs(name: str, tmp_path: Path) -> None:
    missing = [m for m in EXAMPLES[name] if not _available(m)]
    if missing and not (name == "rllib" and os.environ.get("A2GYM_REQUIRE_RLLIB") == "1"):
        pytest.skip(f"needs {', '.join(missing)}")
    lang, code = readme_examples()[name]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    if lang == "python":
        cmd = [sys.executable, "-c", code]
    else:
        assert lang == "bash", lang
        (tmp_path / "agents").symlink_to(ROOT / "agents")
        cmd = ["bash", "-euo", "pipefail", "-c", re.sub(r"^python ", f"{sys.executable} ", code, flags=re.M)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=420)
    assert proc.returncode == 0, f"example {name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    if name == "rl_zoo":
        assert re.search(r"^Episode Reward: ", proc.stdout, flags=re.M), proc.stdout[-2000:]
    assert proc.stdout.strip(), f"example {name} ran but printed nothing: a reader cannot see what it did"
    stray = sorted(p.name for p in tmp_path.iterdir() if p.name not in ("agents", "runs"))
    assert not stray, f"example {name} wrote {stray} outside runs/ (git-ignored); keep the repo root clean"
