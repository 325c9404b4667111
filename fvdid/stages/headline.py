"""The headline effect: an interaction-weighted estimate over pair × period cells.

Why not the pooled coefficient. In the stacked matched-pair design a single ``fv`` coefficient
weights each pair and period by the conditional variance of ``fv`` there, not by its number of
FV children; with effects that grow over event time and pairs of very different sizes that
average is not the effect on FV children (issue 19: on the simulator it is attenuated by about a
third). Here ``fv`` is interacted with every pair × period cell holding FV children (the cell
effects are those of Sun & Abraham's 2021 interaction-weighted estimator, within the stacked
design of Cengiz et al. 2019), and the cell effects are averaged with the cells' shares of the
(CEM-weighted) FV children — the ATT among matched FV children.

The average is estimated as a *single coefficient* of a reparametrised but identical regression,
so every inference method applies to it unchanged (CR1 with t(G−1), CR2 with its own
Satterthwaite df, the wild cluster bootstrap, randomization inference on its t statistic). With
cell effects β_c, weights w_c (Σ w_c = 1) and a reference cell r::

    Σ_c β_c D_c = θ · D_r / w_r + Σ_{c≠r} β_c · (D_c − (w_c / w_r) D_r),   θ = Σ_c w_c β_c

A cell whose period has no comparison child with positive weight identifies no effect: its FV
children are left out of the estimand and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin

__all__ = ["THETA", "CellDesign", "cell_design"]

THETA = "fv_att"
"""Name of the regressor whose coefficient is the FV-child-weighted average of the cell effects."""


@dataclass(frozen=True)
class CellDesign(ResultMixin):
    """The reparametrised cell regressors of one stacked sample.

    Attributes
    ----------
    data
        The stacked sample with the regressors added (:data:`THETA` and ``fvcell_<k>``).
    terms
        The regressors, :data:`THETA` first.
    cells
        One row per cell: ``cell``, ``n_fv`` (weighted FV children), ``weight``, ``identified``.
    n_fv_unidentified
        FV rows (weighted) in cells without comparison children, left out of the estimand.
    """

    data: pd.DataFrame
    terms: tuple[str, ...]
    cells: pd.DataFrame
    n_fv_unidentified: float

    def tidy(self) -> pd.DataFrame:
        return self.cells


def cell_design(
    data: pd.DataFrame,
    *,
    cell: str | Sequence[str] = "pair_time",
    treatment: str = "fv",
    weights: str | None = "weight",
) -> CellDesign:
    """Add the reparametrised cell regressors of the interaction-weighted estimator to ``data``.

    Parameters
    ----------
    data
        The stacked sample (one row per pair × child) with ``treatment`` and the cell column(s).
    cell
        The column(s) defining a cell: pair × period (``pair_time``, the period of the time
        fixed effects) by default; the logit uses pair × financial year.
    treatment
        The 0/1 FV indicator.
    weights
        Row weights (CEM weights); rows with weight 0 count for nothing. None: all 1.
    """
    cols = [cell] if isinstance(cell, str) else list(cell)
    w = data[weights].to_numpy(dtype=float) if weights else np.ones(len(data))
    fv = data[treatment].to_numpy() == 1
    key = data[cols].astype(str).agg("|".join, axis=1) if len(cols) > 1 else data[cols[0]].astype(str)
    pos = w > 0
    control_cells = set(key[pos & ~fv])
    fv_rows = pos & fv
    n_fv = pd.Series(w[fv_rows], index=key[fv_rows].to_numpy()).groupby(level=0).sum()
    identified = n_fv.index.isin(list(control_cells))
    cells = pd.DataFrame({"cell": n_fv.index, "n_fv": n_fv.to_numpy(), "identified": identified})
    ok = cells[cells["identified"]].reset_index(drop=True)
    if ok.empty:
        from fvdid.stages import DataCondition

        raise DataCondition("insufficient_data", "no pair × period cell holds both FV and comparison children")
    ok["weight"] = ok["n_fv"] / ok["n_fv"].sum()
    cells = cells.merge(ok[["cell", "weight"]], on="cell", how="left").fillna({"weight": 0.0})
    r = int(ok["weight"].to_numpy().argmax())
    ref = ok.loc[r, "cell"]
    w_r = float(ok.loc[r, "weight"])
    keyv = key.to_numpy()
    in_ref = (fv & (keyv == ref)).astype(float)
    new: dict[str, np.ndarray] = {THETA: in_ref / w_r}
    terms = [THETA]
    for k, row in enumerate(ok.itertuples(index=False)):
        if k == r:
            continue
        name = f"fvcell_{k}"
        new[name] = (fv & (keyv == row.cell)).astype(float) - (row.weight / w_r) * in_ref
        terms.append(name)
    # FV rows of unidentified cells: their own dummies absorb them (no effect on theta).
    for k, c in enumerate(cells.loc[~cells["identified"], "cell"]):
        name = f"fvcell_u{k}"
        new[name] = (fv & (keyv == c)).astype(float)
        terms.append(name)
    out = data.assign(**new)
    n_un = float(cells.loc[~cells["identified"], "n_fv"].sum())
    return CellDesign(out, tuple(terms), cells, n_un)
