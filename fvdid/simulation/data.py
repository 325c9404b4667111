"""The simulator's result: :class:`SimulatedData` (frames, summary, writing, true ATTs)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from fvdid._results import to_plain
from fvdid.config import OUTCOMES
from fvdid.errors import FvdidInputError
from fvdid.simulation.config import SimConfig
from fvdid.simulation.constants import _SCALE

__all__ = ["SimulatedData"]


@dataclass(frozen=True)
class SimulatedData:
    """The simulated SRS-like extract (see the module docstring for the column dictionary).

    Attributes
    ----------
    seed, n_children, config
        What produced the data.
    las, children, absence_terms, la_quarter, truth, child_effects : pandas.DataFrame
        The frames of :meth:`frames` (and :meth:`write`).
    shocks : pandas.DataFrame
        The named common shocks, one row per (shock, LA): ``la_code``, ``shock``, ``date``
        (period[M], like ``las.go_live``), ``response`` (the LA's true response, logit scale of
        the ``outcome`` index) and ``outcome``. An attribute only: it is not among
        :meth:`frames`, so the pinned hashes of the frames (tests/test_simulation_pins.py) stay.
    """

    seed: int
    n_children: int
    config: SimConfig
    las: pd.DataFrame
    children: pd.DataFrame
    absence_terms: pd.DataFrame
    la_quarter: pd.DataFrame
    truth: pd.DataFrame
    child_effects: pd.DataFrame = field(repr=False)
    shocks: pd.DataFrame = field(repr=False)

    def truth_att(
        self, outcome: str = "looked_after_18m", *, include_trailblazer: bool = False
    ) -> float:
        """Average true effect over the treated children of the analysis sample.

        The sample is the children in the trial period, aged 0-17, in a treatment LA (and the
        trailblazer if asked), with ``fv == 1`` and the outcome observed: what the primary
        regression targets. Binary outcomes average ``p1 - p0``; days and absence ``Y1 - Y0``.
        """
        if outcome not in OUTCOMES:
            raise FvdidInputError(f"unknown outcome {outcome!r}; expected one of {list(OUTCOMES)}")
        c = self.children
        group = c["treated_la"].to_numpy()
        if include_trailblazer:
            group = group | c["trailblazer_la"].to_numpy()
        keep = (
            group
            & c["in_trial_period"].to_numpy()
            & (c["fv"].to_numpy() == 1)
            & (c["age_at_referral"].to_numpy() <= 17)
            & c[outcome].notna().to_numpy()
        )
        if not keep.any():
            return float("nan")
        return float(np.mean(self.child_effects[outcome].to_numpy()[keep]))

    def frames(self) -> dict[str, pd.DataFrame]:
        """The data frames by name (the files :meth:`write` produces)."""
        return {
            "children": self.children,
            "la_quarter": self.la_quarter,
            "las": self.las,
            "truth": self.truth,
            "absence_terms": self.absence_terms,
            "child_effects": self.child_effects,
        }

    def to_dict(self) -> dict[str, Any]:
        """Summary: seed, config, shapes and columns of every frame, true ATTs."""
        return {
            "seed": int(self.seed),
            "n_children": int(self.n_children),
            "config": self.config.to_dict(),
            "frames": {
                name: {"rows": int(df.shape[0]), "columns": [str(c) for c in df.columns]}
                for name, df in self.frames().items()
            },
            "truth_att": {o: to_plain(self.truth_att(o)) for o in OUTCOMES},
        }

    def summary(self) -> str:
        """Plain-text summary: frame shapes and the true ATT of every outcome."""
        lines = [f"SimulatedData(seed={self.seed}, n_children={self.n_children})"]
        for name, df in self.frames().items():
            lines.append(f"  {name:<14} {df.shape[0]:>10,} rows x {df.shape[1]} columns")
        lines.append("  true ATT over treated children (fv == 1):")
        for o in OUTCOMES:
            lines.append(f"    {o:<26} {self.truth_att(o): .5f} ({_SCALE[o]})")
        return "\n".join(lines)

    def write(
        self,
        out_dir: str | Path,
        formats: Sequence[Literal["parquet", "csv"]] = ("parquet", "csv"),
    ) -> dict[str, list[Path]]:
        """Write every frame as ``<name>.<format>`` plus ``simulation.json``; return the paths."""
        bad = [f for f in formats if f not in ("parquet", "csv")]
        if bad:
            raise FvdidInputError(f"unknown output format(s) {bad}; expected 'parquet' or 'csv'")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, list[Path]] = {}
        for name, df in self.frames().items():
            paths = []
            for fmt in formats:
                path = out / f"{name}.{fmt}"
                if fmt == "parquet":
                    df.to_parquet(path, index=False)
                else:
                    df.to_csv(path, index=False)
                paths.append(path)
            written[name] = paths
        meta = out / "simulation.json"
        meta.write_text(json.dumps(self.to_dict(), indent=2))
        written["simulation"] = [meta]
        return written

