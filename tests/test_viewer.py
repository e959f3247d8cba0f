"""Viewer alone, and through the envs' render modes."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from a2gym import CostModel
from a2gym.envs.viewer import Viewer
from tests.env_checks import ENV_IDS, check_no_smoke, make
from tests.toy import two_region_toy


def test_ansi_table_lists_deployed_facilities_and_costs():
    scn = two_region_toy()
    plan = CostModel.of(scn).materialise(np.array([0, 0]))
    text = Viewer().ansi(scn, plan, {"total": 1.018, "compute": 1.0}, title="toy")
    lines = text.splitlines()
    assert lines[0] == "toy"
    assert any(line.startswith("A/m/cpu") and " 1 " in line and "big, small" in line for line in lines)
    assert "B/m/cpu" not in text
    assert "classes served: 2/2" in text and "total: $1.0180" in text


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_render_ansi(env_id):
    env = make(env_id, render_mode="ansi")
    check_no_smoke(env)
    text = env.render()
    assert isinstance(text, str) and "total" in text


@pytest.mark.skipif(importlib.util.find_spec("a2gym.viz") is None, reason="a2gym.viz not present yet")
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_render_rgb_array(env_id):
    env = make(env_id, render_mode="rgb_array")
    check_no_smoke(env)
    img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.std() > 0


def test_bad_render_mode_fails_at_make():
    with pytest.raises(ValueError, match="hologram"):
        make("a2gym/Placement-v0", render_mode="hologram")
