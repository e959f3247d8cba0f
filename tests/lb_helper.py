"""A module that ``tests.lb_attacks`` imports: part of the closure its entries pin."""

from __future__ import annotations

from typing import Any

import numpy as np


def first_valid(obs: Any, info: dict) -> int:
    return int(np.flatnonzero(info["action_mask"])[0])
