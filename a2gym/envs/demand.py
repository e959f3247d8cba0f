"""GeoServe's demand: base rate × diurnal factor of the origin's local time × burst factor from a trace.

λ_r(t) = λ_r · f(local hour of o_r at the middle of slot t) · b_{o_r}(t)   [req/s]

* Diurnal curve f(h) = 1 + A·cos(2π (h − h_peak) / 24): mean 1 over a day, peak 1 + A at ``peak_hour``
  local time, trough 1 − A twelve hours later (A = ``diurnal_amplitude``, default 0.5, peak 14:00).
  Local hour = UTC hour + ``region_utc_offset_h``; slot t covers [t·Δ, (t+1)·Δ) hours after 00:00 UTC.
* Burst b_k(t): the mean of the bundled Azure LLM arrival trace (``arrivals.csv``, requests per 10 s bin,
  normalised to mean 1) over the slot's Δ/10 s bins, read cyclically from an offset drawn per origin
  region and episode (so regions burst independently).  Over uniform offsets E[b] = 1 exactly, so the
  noise-free expected demand is λ_r · f.
"""

from __future__ import annotations

import numpy as np

from a2gym.checks import is_int, is_real
from a2gym.scenario import Scenario

BIN_SECONDS = 10.0  # resolution of arrivals.csv


def bundled_trace(name: str = "conv") -> np.ndarray:
    """Normalised per-10-s arrival counts of the bundled Azure trace ``conv`` or ``code`` (mean 1)."""
    from a2gym.scenario.tables import load_tables

    t = load_tables()
    traces = {"conv": t.arrivals_conv, "code": t.arrivals_code}
    if name not in traces:
        raise ValueError(f"unknown arrival trace {name!r} (known: {', '.join(traces)})")
    return np.asarray(traces[name], dtype=float)


class DemandModel:
    """Per-slot class rates of a GeoServe day.

    Args:
        n_slots: slots per episode.  slot_minutes: slot length Δ [min] (a multiple of 10 s).
        diurnal_amplitude: A in [0, 1).  peak_hour: local hour of the daily peak [h].
        trace: ``"conv"``, ``"code"`` (bundled Azure traces) or an array of normalised per-10-s counts;
            ``None`` turns bursts off (b = 1).
    """

    def __init__(self, n_slots: int = 96, slot_minutes: float = 15.0, diurnal_amplitude: float = 0.5,
                 peak_hour: float = 14.0, trace: str | np.ndarray | None = "conv"):
        if not (is_int(n_slots) and n_slots >= 1):
            raise ValueError(f"n_slots = {n_slots!r} must be an integer >= 1")
        if not (is_real(slot_minutes) and np.isfinite(slot_minutes) and slot_minutes > 0
                and abs(slot_minutes * 60.0 / BIN_SECONDS - round(slot_minutes * 60.0 / BIN_SECONDS)) < 1e-9):
            raise ValueError(f"slot_minutes = {slot_minutes!r} must be a positive multiple of 10 s")
        bins = slot_minutes * 60.0 / BIN_SECONDS
        if not (is_real(diurnal_amplitude) and 0.0 <= diurnal_amplitude < 1.0):
            raise ValueError(f"diurnal_amplitude = {diurnal_amplitude!r} must be in [0, 1)")
        if not (is_real(peak_hour) and np.isfinite(peak_hour)):
            raise ValueError(f"peak_hour = {peak_hour!r} must be a finite number of hours")
        self.n_slots, self.slot_minutes = int(n_slots), float(slot_minutes)
        self.slot_hours = self.slot_minutes / 60.0
        self.bins_per_slot = int(round(bins))
        self.amplitude, self.peak_hour = float(diurnal_amplitude), float(peak_hour)
        if trace is None:
            self.trace = None
        else:
            arr = bundled_trace(trace) if isinstance(trace, str) else np.asarray(trace, dtype=float)
            if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0) or not arr.any():
                raise ValueError("trace must be a non-empty 1-D array of finite, non-negative counts, not all 0")
            self.trace = arr / arr.mean()

    def diurnal(self, scenario: Scenario, slots: np.ndarray) -> np.ndarray:
        """f at the middle of each slot for each class's origin: [len(slots), R]."""
        utc = (np.asarray(slots, dtype=float)[:, None] + 0.5) * self.slot_hours
        local = utc + scenario.region_utc_offset_h[scenario.class_origin][None, :]
        return 1.0 + self.amplitude * np.cos(2.0 * np.pi * (local - self.peak_hour) / 24.0)

    def expected(self, scenario: Scenario) -> np.ndarray:
        """Noise-free rates [req/s] of slots -1 … n_slots-1: [n_slots + 1, R] (row 0 = the day before)."""
        return scenario.class_rate[None, :] * self.diurnal(scenario, np.arange(-1, self.n_slots))

    def offsets(self, rng: np.random.Generator, n_regions: int) -> np.ndarray:
        """Trace offset [bins] per region for one episode (0 when bursts are off)."""
        if self.trace is None:
            return np.zeros(n_regions, dtype=np.int64)
        return rng.integers(0, self.trace.size, n_regions)

    def bursts(self, offsets: np.ndarray) -> np.ndarray:
        """b_k(t) for slots -1 … n_slots-1 and every region: [n_slots + 1, K]."""
        if self.trace is None:
            return np.ones((self.n_slots + 1, len(offsets)))
        w = self.bins_per_slot
        start = (np.arange(-1, self.n_slots) * w)[:, None] + offsets[None, :]  # [T+1, K]
        idx = start[:, :, None] + np.arange(w)[None, None, :]
        return np.take(self.trace, idx, mode="wrap").mean(axis=2)

    def episode(self, scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
        """True rates [req/s] of slots -1 … n_slots-1 for one episode: [n_slots + 1, R]."""
        b = self.bursts(self.offsets(rng, scenario.n_regions))
        return self.expected(scenario) * b[:, scenario.class_origin]
