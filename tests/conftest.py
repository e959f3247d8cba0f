"""Test-suite settings: Hypothesis runs derandomised in CI (CI=true) so a landing never depends on luck;
locally it explores new examples every run."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
