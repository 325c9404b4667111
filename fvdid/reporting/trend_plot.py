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

__all__ = ["DENOMINATORS", "suppress_small_cells", "trend_plot"]

DENOMINATORS = {
    "looked_after_18m": "n_referrals",
    "cpp_12m": "n_referrals",
    "days_cpp_cin_18m": "n_referrals",
    "kinship_first_placement": "n_looked_after",
    "reunified_18m": "n_looked_after",
    "unauth_absence_rate": "n_school_age",
}
"""Outcome of the LA × quarter panel -> the count of children its rate or mean is taken over."""


def suppress_small_cells(
    la_quarter: pd.DataFrame, outcome: str, threshold: int, *, denominator: str | None = None
) -> tuple[pd.DataFrame, int, str | None]:
    """The panel with ``outcome`` set missing in LA-quarters whose denominator (the children the
    rate is taken over, :data:`DENOMINATORS`) is below ``threshold``; returns the panel, the
    number of LA-quarters suppressed and the denominator column (None: the panel has none)."""
    den = denominator or DENOMINATORS.get(outcome)
    if den is None or den not in la_quarter.columns:
        return la_quarter, 0, None
    n = pd.to_numeric(la_quarter[den], errors="coerce").astype(float)
    small = (n < threshold) & la_quarter[outcome].notna()
    out = la_quarter.copy()
    out[outcome] = out[outcome].astype(float).mask(n < threshold)
    return out, int(small.sum()), den


def _qx(q: pd.Period) -> float:
    """x coordinate of the start of a quarter in calendar years (plain floats draw fast)."""
    ts = q.start_time
    return ts.year + (ts.month - 1) / 12.0


def _year_fraction(quarters: pd.Series) -> np.ndarray:
    ts = quarters.dt.start_time
    return (ts.dt.year + (ts.dt.month - 1) / 12.0).to_numpy(dtype=float)


# The figure's layout in inches, fixed (each panel holds the same decorations: a title, year
# ticks below, rate or z-score ticks of up to ~6 characters on the left), so that drawing it needs
# no layout engine: a constrained layout measured every tick label of the ten panels several
# times, most of the time spent on the figure.
_LEFT_IN, _GAP_IN, _RIGHT_IN = 0.8, 0.8, 0.2  # y tick labels of either column; the right edge
_TOP_IN, _BOTTOM_IN, _ROW_GAP_IN = 0.68, 0.7, 0.65  # suptitle + title; x ticks + note; between rows
_TOP_PAD_IN, _BOTTOM_PAD_IN = 0.12, 0.1  # the suptitle and the note from the figure's edge


def _grid(ncol: int, nrow: int) -> dict[str, float]:
    """``gridspec_kw`` of the fixed layout of a ``nrow`` x ``ncol`` figure of 6 x 2.8 in panels."""
    w, h = 6.0 * ncol, 2.8 * nrow + 0.6
    ax_w = (w - _LEFT_IN - _RIGHT_IN - (ncol - 1) * _GAP_IN) / ncol
    ax_h = (h - _TOP_IN - _BOTTOM_IN - (nrow - 1) * _ROW_GAP_IN) / nrow
    return {"left": _LEFT_IN / w, "right": 1 - _RIGHT_IN / w, "top": 1 - _TOP_IN / h,
            "bottom": _BOTTOM_IN / h, "wspace": _GAP_IN / ax_w, "hspace": _ROW_GAP_IN / ax_h}


def trend_plot(
    result: LAMatchResult,
    la_quarter: pd.DataFrame,
    outcome: str,
    *,
    top: int = 3,
    standardised: bool = True,
    unit: str = "la",
    time: str = "quarter",
    threshold: int = 10,
) -> Figure:
    """Trend-matching figure for one outcome, for the visual inspection of protocol footnote 8.

    A row of panels per treatment LA: the raw LA × quarter series of the treatment LA (black)
    and of its ``top`` nearest comparators (rank and distance in the legend; chosen comparators
    drawn solid, the others dashed), pre and post go-live, and, when ``standardised``, the same
    series z-scored per quarter across LAs (the scale the distance is measured on). The matching
    window is shaded, the left-out entry-lag quarters hatched, go-live marked by a red line.

    Disclosure control: LA-quarters whose denominator (:data:`DENOMINATORS`) is below
    ``threshold`` are not plotted (a gap in the line; the z-scores are computed without them) and
    the figure says how many. The plotted data is attached as ``fig._fvdid_data`` (la, quarter,
    value, z, the denominator) and the check as ``fig._fvdid_sdc``, for the appendix's audit.

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
    safe, n_small, den = suppress_small_cells(la_quarter, outcome, threshold)
    long = standardised_changes(safe, outcome, unit=unit, time=time)
    if den is not None:
        dn = safe[[unit, time, den]].rename(columns={unit: "la", time: "quarter", den: "denominator"})
        # released rounded to base 5 (the figure's data leaves with it)
        raw = pd.to_numeric(dn["denominator"], errors="coerce").astype(float)
        dn["denominator"] = (5 * np.floor(raw / 5 + 0.5)).mask(raw < threshold)
        dn["hidden"] = (raw < threshold).to_numpy() & la_quarter[outcome].notna().to_numpy()
        dn["quarter"] = pd.PeriodIndex(dn["quarter"], freq=long["quarter"].dt.freq)
        long = long.merge(dn, on=["la", "quarter"], how="left")
    long["x"] = _year_fraction(long["quarter"])
    treated = list(result.window_quarters)
    ncol = 2 if standardised else 1
    fig = Figure(figsize=(6.0 * ncol, 2.8 * len(treated) + 0.6))
    axes = fig.subplots(len(treated), ncol, squeeze=False, gridspec_kw=_grid(ncol, len(treated)))
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
            # y given: the title sits on the axes (no ticks on top), matplotlib need not measure
            # the tick labels to place it; the panels have no axis labels, whose automatic
            # placement would measure them too.
            ax.set_title(f"{t}: {label}", fontsize=10, y=1.0)
            ax.xaxis.set_label_coords(0.5, -0.15)
            ax.yaxis.set_label_coords(-0.1, 0.5)
            ax.tick_params(labelsize=8)
            if col == 0:
                ax.legend(fontsize=7, loc="best")
    h = float(fig.get_figheight())
    fig.suptitle(f"Pre-period trends and nearest comparators: {outcome}", fontsize=11,
                 y=1 - _TOP_PAD_IN / h, va="top")
    shown = set(treated) | {c for t in treated for c in result.ranking.loc[
        (result.ranking["treated_la"] == t) & (result.ranking["outcome"] == outcome), "comparator_la"].head(top)}
    data = long[long["la"].isin(shown)].drop(columns=["dz", "x"], errors="ignore")
    if den is not None:  # count the hidden LA-quarters of the LAs drawn
        n_small = int(data.pop("hidden").fillna(False).astype(bool).sum())
    msg = (f"Not plotted: {n_small} LA-quarter(s) with fewer than {threshold} children in the "
           f"denominator ({den})." if den is not None else
           "No denominator column in the panel: LA-quarters could not be checked against the threshold.")
    fig.supxlabel(msg, fontsize=8, y=_BOTTOM_PAD_IN / h, va="bottom")
    fig._fvdid_data = data.assign(quarter=data["quarter"].astype(str)).reset_index(drop=True)
    fig._fvdid_sdc = [{"output": f"figure la_trends_{outcome}", "action": "suppressed",
                       "what": f"{n_small} LA-quarter(s)", "why": msg}]
    return fig
