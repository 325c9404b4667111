"""Trend-matching figure for the LA matching (protocol footnote 8: visual inspection).

:func:`trend_plot` draws, per treatment LA, its outcome series and those of its nearest
comparators from a :class:`~fvdid.estimators.match_las.LAMatchResult`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError
from fvdid.estimators._match_las_data import standardised_changes

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

    from fvdid.estimators.match_las import LAMatchResult

__all__ = ["trend_plot"]


def _qx(q: pd.Period) -> float:
    """x coordinate of the start of a quarter in calendar years (plain floats draw fast)."""
    ts = q.start_time
    return ts.year + (ts.month - 1) / 12.0


def _year_fraction(quarters: pd.Series) -> np.ndarray:
    ts = quarters.dt.start_time
    return (ts.dt.year + (ts.dt.month - 1) / 12.0).to_numpy(dtype=float)


def trend_plot(
    result: LAMatchResult,
    la_quarter: pd.DataFrame,
    outcome: str,
    *,
    top: int = 3,
    standardised: bool = True,
    unit: str = "la",
    time: str = "quarter",
) -> Figure:
    """Trend-matching figure for one outcome, for the visual inspection of protocol footnote 8.

    A row of panels per treatment LA: the raw LA × quarter series of the treatment LA (black)
    and of its ``top`` nearest comparators (rank and distance in the legend; chosen comparators
    drawn solid, the others dashed), pre and post go-live, and, when ``standardised``, the same
    series z-scored per quarter across LAs (the scale the distance is measured on). The matching
    window is shaded, the left-out entry-lag quarters hatched, go-live marked by a red line.

    R: no reference package; arguments follow fvdid's vocabulary (``unit`` = the LA identifier,
    ``time`` = the quarter, as in :func:`~fvdid.match_las`).
    """
    from matplotlib.figure import Figure

    if outcome not in result.outcomes:
        raise FvdidInputError(
            f"outcome {outcome!r} was not matched; the result holds {list(result.outcomes)}"
        )
    if top < 1:
        raise FvdidInputError(f"top must be >= 1, got {top!r}")
    long = standardised_changes(la_quarter, outcome, unit=unit, time=time)
    long["x"] = _year_fraction(long["quarter"])
    treated = list(result.window_quarters)
    ncol = 2 if standardised else 1
    fig = Figure(figsize=(6.0 * ncol, 2.8 * len(treated) + 0.6), layout="constrained")
    axes = fig.subplots(len(treated), ncol, squeeze=False)
    chosen = set(
        result.chosen.loc[result.chosen["outcome"] == outcome, ["treated_la", "comparator_la"]]
        .itertuples(index=False, name=None)
    )
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink",
               "tab:olive", "tab:cyan", "tab:gray"]
    for row, t in enumerate(treated):
        rk = result.ranking[(result.ranking["treated_la"] == t)
                            & (result.ranking["outcome"] == outcome)].head(top)
        wq = result.window_quarters[t]
        lag = result.entry_lag_quarters[t]
        g = result.go_live[t]
        for col, (var, label) in enumerate([("value", outcome), ("z", f"{outcome} (z)")][:ncol]):
            ax = axes[row, col]
            s = long[long["la"] == t]
            ax.plot(s["x"], s[var], color="black", lw=2.2, label=f"{t} (FV)")
            for j, (c, r, d) in enumerate(zip(rk["comparator_la"], rk["rank"], rk["distance"])):
                s = long[long["la"] == c]
                ax.plot(s["x"], s[var], color=colours[j % len(colours)],
                        lw=1.3, ls="-" if (t, c) in chosen else "--",
                        label=f"{c} (rank {r}, d = {d:.3g})")
            ax.axvspan(_qx(wq[0]), _qx(wq[-1] + 1), color="tab:blue", alpha=0.08,
                       label="matching window")
            if lag:
                ax.axvspan(_qx(lag[0]), _qx(lag[-1] + 1), facecolor="none",
                           edgecolor="0.6", hatch="//", lw=0, label="entry lag (left out)")
            ax.axvline(_qx(g), color="tab:red", lw=1.2, label=f"go-live {g}")
            ax.set_title(f"{t}: {label}", fontsize=10)
            ax.tick_params(labelsize=8)
            if col == 0:
                ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"Pre-period trends and nearest comparators: {outcome}", fontsize=11)
    return fig
