"""The viewer of the a2gym envs: a map image (``rgb_array``) or a text table (``ansi``) of a plan."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from a2gym.plan import Plan
from a2gym.scenario import Scenario


class Viewer:
    """Draws a plan; stateless, so one object can serve any scenario."""

    def rgb(self, scenario: Scenario, plan: Plan) -> np.ndarray:
        """uint8 [H, W, 3] map of the regions with the deployed models and traffic (:mod:`a2gym.viz`)."""
        from a2gym.viz import plan_to_rgb

        img = np.asarray(plan_to_rgb(scenario, plan))
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"a2gym.viz.plan_to_rgb returned {img.dtype} {img.shape}, expected uint8 HxWx3")
        return img

    def ansi(self, scenario: Scenario, plan: Plan, costs: Mapping[str, float], title: str = "") -> str:
        """Text table: one row per deployed facility (instances, classes, data versions), then the costs
        [$]."""
        s = scenario
        lines = [title] if title else []
        lines.append(f"{'facility':<40} {'inst':>5} {'classes':>7}  data versions")
        for i in np.flatnonzero(plan.instances > 0):
            parts = plan.facility == i
            datas = sorted({s.data_versions[d] for d in plan.data[parts]})
            shown = ", ".join(datas[:3]) + (f" +{len(datas) - 3}" if len(datas) > 3 else "")
            lines.append(
                f"{s.facility_name(i):<40} {int(plan.instances[i]):>5} {int(parts.sum()):>7}  {shown}"
            )
        served = len(np.unique(plan.cls))
        lines.append(f"classes served: {served}/{s.n_classes}")
        lines.append("  ".join(f"{k}: ${v:,.4f}" for k, v in costs.items()))
        return "\n".join(lines) + "\n"
