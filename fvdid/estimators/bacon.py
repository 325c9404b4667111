"""Goodman-Bacon decomposition of the two-way fixed-effects DiD estimator.

Goodman-Bacon (2021, *Journal of Econometrics* 225(2), 254-277) shows that the two-way
fixed-effects (TWFE) coefficient of a binary, absorbing treatment with staggered timing is a
weighted average of every 2x2 difference-in-differences that can be formed between two
treatment-timing groups. With time-varying covariates the coefficient splits into a *within*
timing-group part (weight Omega) and a *between* part, itself a weighted average of one
covariate-adjusted 2x2 per pair of timing groups.

This module computes both decompositions in closed form from group-by-period means (no
regression is run per 2x2) and reports them with the conventions of the R package
``bacondecomp`` 0.1.1 (``bacondecomp::bacon``): timing groups are labelled by their first treated
period, the never-treated group by ``99999``; units treated in the first period of the panel form
the always-treated group; the labels of the comparison types are the package's.

The input checks and the balanced panel are in :mod:`fvdid.estimators._bacon_panel`, the
closed-form 2x2 algebra in :mod:`fvdid.estimators._bacon_2x2`; :func:`bacon` runs them as steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError
from fvdid.estimators._bacon_2x2 import _controlled, _group_time_means, _uncontrolled, _within
from fvdid.estimators._bacon_panel import NEVER_TREATED, _build_panel, _Panel
from fvdid.estimators._design import independent_columns

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "NEVER_TREATED",
    "TYPE_ALWAYS",
    "TYPE_BOTH",
    "TYPE_EARLIER",
    "TYPE_LATER",
    "TYPE_UNTREATED",
    "BaconResult",
    "bacon",
    "bacon_plot",
]


TYPE_UNTREATED = "Treated vs Untreated"
TYPE_EARLIER = "Earlier vs Later Treated"
TYPE_LATER = "Later vs Earlier Treated"
TYPE_ALWAYS = "Later vs Always Treated"
TYPE_BOTH = "Both Treated"
"""Comparison types, spelled as bacondecomp spells them (``TYPE_BOTH`` only with covariates)."""


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaconResult(ResultMixin):
    """The Goodman-Bacon decomposition of a TWFE DiD coefficient.

    Attributes
    ----------
    two_by_twos
        One row per 2x2 comparison: ``treated`` and ``untreated`` (timing groups: first treated
        period, ``99999`` for never treated), ``estimate``, ``weight`` (summing to 1) and
        ``type``. Without covariates every ordered pair of timing groups appears (earlier vs
        later and later vs earlier); with covariates each unordered pair appears once, the
        earlier group as ``treated``, and ``estimate`` is the covariate-adjusted between 2x2.
    twfe
        The TWFE coefficient on the treatment (with the covariates, if any).
    omega
        Weight of the within-timing-group estimate (NaN without covariates).
    beta_within
        The within-timing-group estimate, bacondecomp's ``beta_hat_w`` (NaN without covariates).
    beta_between
        The between estimate, the weighted mean of the 2x2 estimates (NaN without covariates).
    groups
        The timing groups: ``group`` (code as above), ``kind`` (``"never"``, ``"always"``,
        ``"timing"``) and ``n_units``.
    """

    two_by_twos: pd.DataFrame
    twfe: float
    omega: float
    beta_within: float
    beta_between: float
    y: str
    treatment: str
    unit: str
    time: str
    covariates: tuple[str, ...]
    n_units: int
    n_periods: int
    n_obs: int
    groups: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def labels(self) -> pd.Index:
        """``"treated:untreated"`` label of every 2x2 (unique)."""
        t = self.two_by_twos
        return pd.Index(
            [f"{_fmt(a)}:{_fmt(b)}" for a, b in zip(t["treated"], t["untreated"])], name="pair"
        )

    @property
    def params(self) -> pd.Series:
        """The 2x2 estimates labelled ``"treated:untreated"``."""
        return pd.Series(
            self.two_by_twos["estimate"].to_numpy(), index=self.labels, name="estimate"
        )

    @property
    def weights(self) -> pd.Series:
        """The 2x2 weights labelled ``"treated:untreated"``."""
        return pd.Series(self.two_by_twos["weight"].to_numpy(), index=self.labels, name="weight")

    @property
    def std_errors(self) -> None:
        """The decomposition is descriptive: it has no standard errors."""
        return None

    @property
    def has_covariates(self) -> bool:
        return len(self.covariates) > 0

    def tidy(self) -> pd.DataFrame:
        """Return a copy of the 2x2 table with its ``label`` column."""
        out = self.two_by_twos.copy()
        out.insert(0, "label", list(self.labels))
        return out

    def summary(self) -> pd.DataFrame:  # type: ignore[override]
        """Total weight and weighted mean estimate by comparison type.

        The table bacondecomp prints (``type``, ``weight``, ``avg_est``; types in alphabetical
        order), without its rounding to 5 decimals.
        """
        t = self.two_by_twos
        rows = []
        for typ, part in sorted(t.groupby("type", sort=False), key=lambda kv: kv[0]):
            w = part["weight"].to_numpy(dtype=float)
            est = part["estimate"].to_numpy(dtype=float)
            total = float(w.sum())
            rows.append(
                {
                    "type": typ,
                    "weight": total,
                    "avg_est": float(np.dot(w, est) / total) if total != 0 else np.nan,
                    "n": len(part),
                }
            )
        return pd.DataFrame(rows, columns=["type", "weight", "avg_est", "n"])

    def __str__(self) -> str:
        lines = [
            f"Goodman-Bacon decomposition of {self.y} ~ {self.treatment}"
            + (f" + {' + '.join(self.covariates)}" if self.covariates else ""),
            f"{self.n_units} units x {self.n_periods} periods; {len(self.two_by_twos)} 2x2s",
            f"TWFE coefficient: {self.twfe:.6g}",
        ]
        if self.has_covariates:
            lines.append(
                f"Omega (within weight): {self.omega:.6g}; within: {self.beta_within:.6g}; "
                f"between: {self.beta_between:.6g}"
            )
        with pd.option_context("display.width", 120):
            lines.append(self.summary().to_string(index=False))
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Figure:
        """Scatter of the 2x2 estimates against their weights, by type (see :func:`bacon_plot`)."""
        return bacon_plot(self, ax=ax)


def _fmt(value: Any) -> str:
    """Print a timing-group code as the parity labels do (integral numbers without decimals)."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    f = float(value)
    if np.isfinite(f) and f.is_integer():
        return str(int(f))
    return repr(f)


def bacon(
    data: pd.DataFrame,
    *,
    y: str,
    treatment: str,
    unit: str,
    time: str,
    covariates: Sequence[str] | None = (),
) -> BaconResult:
    """Goodman-Bacon decomposition of the TWFE DiD coefficient.

    Parameters
    ----------
    data
        A balanced panel: one row per unit and period, no missing values.
    y
        Outcome column. R: the left-hand side of ``formula``.
    treatment
        Binary (0/1) treatment column, absorbing (once 1, always 1). R: the first right-hand-side
        variable of ``formula``.
    unit
        Unit identifier. R: ``id_var``.
    time
        Numeric period (year, quarter index, ...). R: ``time_var``.
    covariates
        Time-varying numeric covariates. R: the further right-hand-side variables of
        ``formula``. With covariates the decomposition is the within/between one.

    Returns
    -------
    BaconResult
        ``two_by_twos`` (treated, untreated, estimate, weight, type), ``twfe``, and with
        covariates ``omega``, ``beta_within`` and ``beta_between`` such that
        ``twfe = omega * beta_within + (1 - omega) * beta_between``; without covariates
        ``twfe = sum(weight * estimate)``.

    Raises
    ------
    FvdidInputError
        Missing values, an unbalanced panel or duplicate unit-periods, a treatment that is not
        0/1 or that switches off, non-numeric time or covariates, or no treatment variation;
        the message names the units and periods concerned.

    Notes
    -----
    fvdid -> R (``bacondecomp::bacon`` 0.1.1): ``y``, ``treatment``, ``covariates`` = ``formula``
    (``y ~ treatment + covariates``), ``unit`` = ``id_var``, ``time`` = ``time_var``.

    Mapping to R: ``bacondecomp::bacon(y ~ treatment + covariates, data, id_var = unit,
    time_var = time)``. Timing groups are coded by their first treated period and the
    never-treated group by ``99999`` as in bacondecomp; units treated in the first period are
    the always-treated group, which only ever serves as a comparison ("Later vs Always
    Treated"). With covariates bacondecomp returns one between 2x2 per unordered pair with the
    earlier group as ``treated`` and the types "Treated vs Untreated", "Later vs Always Treated"
    and "Both Treated"; so does this function.
    """
    if covariates is None:
        covariates = ()
    elif isinstance(covariates, str):
        covariates = (covariates,)
    covs = tuple(covariates)
    panel = _build_panel(data, y, treatment, unit, time, covs)
    n, t_n = panel.Y.shape
    starts, gidx, n_g, codes, groups, notes = _timing_groups(panel, treatment)
    if covs:
        panel, covs, drop_notes = _drop_collinear(panel, covs)
        notes.extend(drop_notes)
    if not covs:
        twfe, omega, beta_w, beta_b, k, u, est, weight, types = _decompose_uncontrolled(
            panel, starts, gidx, n_g
        )
    else:
        twfe, omega, beta_w, beta_b, k, u, est, weight, types = _decompose_controlled(
            panel, starts, gidx, n_g, covs, codes, notes
        )
    table = pd.DataFrame(
        {
            "treated": codes[k],
            "untreated": codes[u],
            "estimate": est,
            "weight": weight,
            "type": types.astype(object),
        }
    )
    return BaconResult(
        two_by_twos=table,
        twfe=twfe,
        omega=float(omega),
        beta_within=float(beta_w),
        beta_between=float(beta_b),
        y=y,
        treatment=treatment,
        unit=unit,
        time=time,
        covariates=covs,
        n_units=n,
        n_periods=t_n,
        n_obs=n * t_n,
        groups=groups,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------
# Steps of bacon()
# --------------------------------------------------------------------------------------------


def _timing_groups(
    panel: _Panel, treatment: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, pd.DataFrame, list[str]]:
    """Timing groups: first-treated index per group, group of each unit, sizes, codes, table."""
    t_n = panel.Y.shape[1]
    times = panel.times
    ever = panel.D.any(axis=1)
    first = np.where(ever, panel.D.argmax(axis=1), t_n)  # index of first treated period
    starts, gidx = np.unique(first, return_inverse=True)  # sorted: never-treated (t_n) last
    n_g = np.bincount(gidx).astype(float)
    if not (starts > 0).any() or not (starts < t_n).any() or len(starts) < 2:
        raise FvdidInputError(
            f"treatment {treatment!r} has no variation in timing to decompose: timing groups "
            f"{[_group_code(s, times) for s in starts]} (need a group first treated after the "
            "first period and a second group to compare it with)"
        )

    codes = np.array([_group_code(s, times) for s in starts])
    kinds = np.where(starts == t_n, "never", np.where(starts == 0, "always", "timing"))
    groups = pd.DataFrame({"group": codes, "kind": kinds, "n_units": n_g.astype(int)})
    notes: list[str] = []
    if (starts == 0).any():
        notes.append(
            f"{int(n_g[starts == 0].sum())} unit(s) treated from the first period form the "
            "always-treated group (a comparison only)"
        )
    return starts, gidx, n_g, codes, groups, notes


def _decompose_uncontrolled(
    panel: _Panel, starts: np.ndarray, gidx: np.ndarray, n_g: np.ndarray
) -> tuple[float, float, float, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every 2x2 without covariates, with its weight and type, and the TWFE coefficient."""
    t_n = panel.Y.shape[1]
    ybar = _group_time_means(panel.Y, gidx, n_g)
    k, u, est, raw_w, early = _uncontrolled(ybar, n_g, starts, t_n)
    weight = raw_w / raw_w.sum()
    types = np.where(
        starts[u] == t_n,
        TYPE_UNTREATED,
        np.where(starts[u] == 0, TYPE_ALWAYS, np.where(early, TYPE_EARLIER, TYPE_LATER)),
    )
    yw, dw = _within(panel.Y), _within(panel.D)
    twfe = float((yw * dw).sum() / (dw * dw).sum())
    nan = float("nan")
    return twfe, nan, nan, nan, k, u, est, weight, types


def _drop_collinear(
    panel: _Panel, covs: tuple[str, ...]
) -> tuple[_Panel, tuple[str, ...], list[str]]:
    """Drop covariates spanned by the unit and period effects (and the earlier covariates).

    Such a covariate (e.g. a unit constant plus a common linear trend) is an exact linear
    combination of the fixed effects: the TWFE regression cannot use it, and keeping it would
    only feed rounding noise into every 2x2. fixest drops it and says so; so does bacon().
    """
    n, t_n, p = panel.X.shape
    xw = _within(panel.X).reshape(n * t_n, p)
    raw = panel.X.reshape(n * t_n, p)
    keep = independent_columns(xw, raw - raw.mean(axis=0))
    if len(keep) == p:
        return panel, covs, []
    gone = [covs[j] for j in range(p) if j not in keep]
    note = (
        f"covariate(s) {gone} are collinear with the unit and period fixed effects (or the "
        "earlier covariates); dropped, as fixest drops them: the decomposition is the one without "
        "them"
        + ("" if keep else " (no covariate left: the decomposition without covariates)")
    )
    new = _Panel(units=panel.units, times=panel.times, Y=panel.Y, D=panel.D, X=panel.X[:, :, keep])
    return new, tuple(covs[j] for j in keep), [note]


def _decompose_controlled(
    panel: _Panel,
    starts: np.ndarray,
    gidx: np.ndarray,
    n_g: np.ndarray,
    covs: tuple[str, ...],
    codes: np.ndarray,
    notes: list[str],
) -> tuple[float, float, float, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The within/between decomposition with covariates: one between 2x2 per pair of groups.

    Covariates collinear with a pair's own fixed effects are dropped from that pair's 2x2 and
    announced in ``notes``.
    """
    t_n = panel.Y.shape[1]
    twfe, omega, beta_w, k, u, est, raw_w, dropped = _controlled(panel, gidx, n_g)
    for a, b, js in dropped:
        notes.append(
            f"2x2 of timing groups {codes[a]!r} vs {codes[b]!r}: covariate(s) "
            f"{[covs[j] for j in js]} are collinear with the pair's unit and period effects; "
            "dropped from that 2x2"
        )
    weight = raw_w / raw_w.sum()
    types = np.where(
        starts[u] == t_n,
        TYPE_UNTREATED,
        np.where((starts[k] == 0) | (starts[u] == 0), TYPE_ALWAYS, TYPE_BOTH),
    )
    beta_b = float(np.dot(weight, est))
    return twfe, omega, beta_w, beta_b, k, u, est, weight, types


def _group_code(start: int, times: np.ndarray) -> Any:
    if start >= len(times):
        return NEVER_TREATED
    v = times[start]
    return v.item() if isinstance(v, np.generic) else v


# --------------------------------------------------------------------------------------------
# Figure
# --------------------------------------------------------------------------------------------

_MARKERS = {
    TYPE_UNTREATED: "o",
    TYPE_EARLIER: "^",
    TYPE_LATER: "v",
    TYPE_ALWAYS: "s",
    TYPE_BOTH: "D",
}


def bacon_plot(result: BaconResult, ax: Axes | None = None) -> Figure:
    """Scatter each 2x2 estimate (y) against its weight (x), one marker per comparison type.

    A dashed line marks the TWFE coefficient (the between estimate with covariates, of which
    the points are the components). Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
    else:
        fig = ax.figure
    t = result.two_by_twos
    for typ, part in sorted(t.groupby("type", sort=False), key=lambda kv: kv[0]):
        ax.scatter(
            part["weight"],
            part["estimate"],
            marker=_MARKERS.get(typ, "o"),
            label=f"{typ} ({len(part)})",
            alpha=0.8,
        )
    ref = result.beta_between if result.has_covariates else result.twfe
    name = "between estimate" if result.has_covariates else "TWFE estimate"
    ax.axhline(ref, linestyle="--", color="grey", linewidth=1, label=f"{name} = {ref:.4g}")
    ax.set_xlabel("Weight")
    ax.set_ylabel("2x2 DiD estimate")
    title = "Goodman-Bacon decomposition"
    if result.has_covariates:
        title += f" (between part; Omega = {result.omega:.3f})"
    ax.set_title(title)
    ax.legend(fontsize="small", frameon=False)
    return fig
