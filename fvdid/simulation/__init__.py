"""The SRS-like simulator: LAs and go-live dates, the LA × quarter panel, children, outcomes."""

from __future__ import annotations

from fvdid.simulation.core import OUTCOMES, SimConfig, SimulatedData, simulate

__all__ = ["OUTCOMES", "SimConfig", "SimulatedData", "simulate"]
