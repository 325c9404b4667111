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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError, require_columns

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

NEVER_TREATED = 99999
"""Timing-group code of the never-treated units (bacondecomp's ``treat_time`` for them)."""

TYPE_UNTREATED = "Treated vs Untreated"
TYPE_EARLIER = "Earlier vs Later Treated"
TYPE_LATER = "Later vs Earlier Treated"
TYPE_ALWAYS = "Later vs Always Treated"
TYPE_BOTH = "Both Treated"
"""Comparison types, spelled as bacondecomp spells them (``TYPE_BOTH`` only with covariates)."""

_MAX_LISTED = 5


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


# --------------------------------------------------------------------------------------------
# Input checks and the balanced panel
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Panel:
    units: np.ndarray  # (N,) unit labels
    times: np.ndarray  # (T,) sorted period values
    Y: np.ndarray  # (N, T)
    D: np.ndarray  # (N, T) 0/1 floats
    X: np.ndarray  # (N, T, p)


def _pairs_text(units: Sequence[Any], times: Sequence[Any]) -> str:
    pairs = [f"({u!r}, {t!r})" for u, t in zip(units, times)]
    more = "" if len(pairs) <= _MAX_LISTED else ", ..."
    return f"{len(pairs)} unit-period(s) (unit, period): {', '.join(pairs[:_MAX_LISTED])}{more}"


def _as_python(values: np.ndarray) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _build_panel(
    data: pd.DataFrame, y: str, treatment: str, unit: str, time: str, covariates: tuple[str, ...]
) -> _Panel:
    require_columns(data, [y, treatment, unit, time, *covariates], what="data")
    cols = [y, treatment, *covariates]
    if len(set([unit, time, *cols])) != len([unit, time, *cols]):
        raise FvdidInputError(
            f"y, treatment, unit, time and covariates must be distinct columns; got "
            f"y={y!r}, treatment={treatment!r}, unit={unit!r}, time={time!r}, "
            f"covariates={list(covariates)!r}"
        )

    # Missing values: name the units and periods.
    for col in [unit, time, *cols]:
        miss = data[col].isna().to_numpy()
        if miss.any():
            rows = data.loc[miss]
            raise FvdidInputError(
                f"column {col!r} has missing values in {_pairs_text(_as_python(rows[unit].to_numpy()), _as_python(rows[time].to_numpy()))}; "
                "bacon() needs a complete balanced panel (bacondecomp stops with 'NA observations')"
            )

    tcol = data[time]
    if not pd.api.types.is_numeric_dtype(tcol) or pd.api.types.is_bool_dtype(tcol):
        raise FvdidInputError(
            f"column {time!r} (time) must be numeric (e.g. year or quarter index) so that "
            f"treatment timing is ordered; got dtype {tcol.dtype}"
        )
    if np.any(tcol.to_numpy(dtype=float) == NEVER_TREATED):
        raise FvdidInputError(
            f"column {time!r} (time) holds the value {NEVER_TREATED}, the code of the never-treated "
            "group; recode the periods (e.g. 1, 2, ...)"
        )
    for col in [y, *covariates]:
        s = data[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            raise FvdidInputError(
                f"column {col!r} must be numeric; got dtype {s.dtype} "
                "(code categorical covariates as 0/1 columns)"
            )
        bad = ~np.isfinite(s.to_numpy(dtype=float))
        if bad.any():
            rows = data.loc[bad]
            raise FvdidInputError(
                f"column {col!r} has non-finite values in "
                f"{_pairs_text(_as_python(rows[unit].to_numpy()), _as_python(rows[time].to_numpy()))}"
            )

    d = data[treatment]
    if pd.api.types.is_bool_dtype(d):
        dvals = d.to_numpy(dtype=float)
    else:
        ok = d.isin([0, 1]).to_numpy()
        if not ok.all():
            rows = data.loc[~ok]
            vals = sorted({repr(v) for v in rows[treatment].tolist()})[:_MAX_LISTED]
            raise FvdidInputError(
                f"column {treatment!r} (treatment) must be 0/1; it holds {', '.join(vals)} in "
                f"{_pairs_text(_as_python(rows[unit].to_numpy()), _as_python(rows[time].to_numpy()))}"
            )
        dvals = d.to_numpy(dtype=float)

    units, ui = np.unique(data[unit].to_numpy(), return_inverse=True)
    times, ti = np.unique(tcol.to_numpy(), return_inverse=True)
    n, t_n = len(units), len(times)
    cell = ui * t_n + ti
    counts = np.bincount(cell, minlength=n * t_n)
    if (counts > 1).any():
        dup = np.flatnonzero(counts > 1)
        raise FvdidInputError(
            f"the panel has duplicate rows for {_pairs_text(_as_python(units[dup // t_n]), _as_python(times[dup % t_n]))}; "
            f"bacon() needs one row per {unit!r} and {time!r}"
        )
    if (counts == 0).any():
        gap = np.flatnonzero(counts == 0)
        bad_units = np.unique(gap // t_n)
        raise FvdidInputError(
            f"unbalanced panel: {len(bad_units)} unit(s) of {unit!r} lack periods of {time!r}: "
            f"{_pairs_text(_as_python(units[gap // t_n]), _as_python(times[gap % t_n]))} are missing "
            "(bacondecomp stops with 'Unbalanced Panel')"
        )

    order = np.argsort(cell, kind="stable")
    Y = data[y].to_numpy(dtype=float)[order].reshape(n, t_n)
    D = dvals[order].reshape(n, t_n)
    X = np.empty((n, t_n, len(covariates)))
    for j, c in enumerate(covariates):
        X[:, :, j] = data[c].to_numpy(dtype=float)[order].reshape(n, t_n)

    off = np.argwhere(np.diff(D, axis=1) < 0)
    if off.size:
        raise FvdidInputError(
            f"treatment {treatment!r} switches off (1 then 0) in "
            f"{_pairs_text(_as_python(units[off[:, 0]]), _as_python(times[off[:, 1] + 1]))}; "
            "the decomposition needs a treatment that stays on once it starts "
            "(bacondecomp: 'Treatment not weakly increasing with time')"
        )
    return _Panel(units=units, times=times, Y=Y, D=D, X=X)


# --------------------------------------------------------------------------------------------
# Linear algebra on balanced panels
# --------------------------------------------------------------------------------------------


def _within(a: np.ndarray) -> np.ndarray:
    """Two-way within transformation of a balanced (N, T, ...) array (unit and period FE)."""
    return a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean(axis=(0, 1))


def _group_time_means(a: np.ndarray, gidx: np.ndarray, n_g: np.ndarray) -> np.ndarray:
    """(G, T, ...) means of an (N, T, ...) array within timing group and period."""
    n, t_n = a.shape[:2]
    g_n = len(n_g)
    flat = a.reshape(n, t_n, -1)
    out = np.empty((g_n, t_n, flat.shape[2]))
    idx = (gidx[:, None] * t_n + np.arange(t_n)[None, :]).ravel()
    for j in range(flat.shape[2]):
        out[:, :, j] = np.bincount(idx, weights=flat[:, :, j].ravel(), minlength=g_n * t_n).reshape(
            g_n, t_n
        )
    out /= n_g[:, None, None]
    return out.reshape((g_n, t_n, *a.shape[2:]))


def _pop_var(a: np.ndarray) -> float:
    return float(np.mean((a - a.mean()) ** 2))


def _pop_cov(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a - a.mean()) * (b - b.mean())))


# --------------------------------------------------------------------------------------------
# The decompositions
# --------------------------------------------------------------------------------------------


def _uncontrolled(
    ybar: np.ndarray, n_g: np.ndarray, start: np.ndarray, t_n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All ordered 2x2s between timing groups (Goodman-Bacon 2021, eqs. 10a-10c).

    ``ybar`` (G, T) are group-by-period mean outcomes, ``n_g`` the units per group and ``start``
    the index of each group's first treated period (``T`` for never treated, 0 for always
    treated). For the ordered pair (k treated, u comparison) the 2x2 uses the window where only k
    changes treatment status: ``[0, s_u)`` when k is treated first (k vs a later or never-treated
    group) and ``[s_u, T)`` when k is treated later (k vs an earlier or always-treated group).
    The DiD is ``(post_k - pre_k) - (post_u - pre_u)`` of mean outcomes split at ``s_k``; its
    unnormalised weight is ``n_k n_u L_pre L_post``: the squared subsample size times the
    variance of the two-way demeaned treatment in the subsample, up to a factor common to all
    pairs.
    """
    g_n = len(n_g)
    k, u = np.meshgrid(np.arange(g_n), np.arange(g_n), indexing="ij")
    k, u = k.ravel(), u.ravel()
    keep = (k != u) & (start[k] > 0) & (start[k] < t_n)
    k, u = k[keep], u[keep]
    s_k, s_u = start[k], start[u]
    early = s_k < s_u
    lo = np.where(early, 0, s_u)
    hi = np.where(early, s_u, t_n)
    mid = s_k
    csum = np.concatenate([np.zeros((g_n, 1)), np.cumsum(ybar, axis=1)], axis=1)

    def window_mean(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (csum[g, b] - csum[g, a]) / (b - a)

    est = (window_mean(k, mid, hi) - window_mean(k, lo, mid)) - (
        window_mean(u, mid, hi) - window_mean(u, lo, mid)
    )
    raw_w = n_g[k] * n_g[u] * (mid - lo).astype(float) * (hi - mid).astype(float)
    return k, u, est, raw_w, early


def _controlled(
    panel: _Panel, gidx: np.ndarray, n_g: np.ndarray
) -> tuple[float, float, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Within/between decomposition with time-varying covariates (Goodman-Bacon 2021, sec. 5).

    Let ``d`` be the residual of the treatment on the covariates and the unit and period fixed
    effects (Frisch-Waugh-Lovell), so that ``twfe = Cov(y, d) / Var(d)``. Split ``d`` into its
    timing-group-by-period mean and the deviation from it; the deviation's share of Var(d) is
    Omega and its coefficient the within estimate. The between part is a weighted average over
    unordered pairs (k, l) of timing groups of ``beta_kl = (C_r + C_q) / (V_r + V_q)`` with
    weight proportional to ``N_kl (V_r + V_q)`` (``N_kl`` the pair's observations), where, on
    the pair's observations with its own unit and period effects partialled out:

    * ``r`` is the treatment purged of the group-by-period means of the covariates, so
      ``V_r = (1 - R^2_kl) V^D_kl`` and ``C_r / V_r`` is the covariate-adjusted 2x2 DiD;
    * ``q`` is the fitted part of that purge minus the purged group-by-period mean of the
      predicted treatment (``p_kt``): the between-group variation due to the covariates;
    * ``C_x = mean(x * y)`` and ``V_x = mean(x**2)``.
    """
    Y, D, X = panel.Y, panel.D, panel.X
    n, t_n, p = X.shape
    g_n = len(n_g)

    # Full-sample FWL: d = residual of D on X and both sets of fixed effects; p_hat = D - d.
    Yw, Dw, Xw = _within(Y), _within(D), _within(X)
    xf = Xw.reshape(n * t_n, p)
    gamma = np.linalg.lstsq(xf, Dw.ravel(), rcond=None)[0]
    dres = Dw - (xf @ gamma).reshape(n, t_n)
    coef = np.linalg.lstsq(np.column_stack([Dw.ravel(), xf]), Yw.ravel(), rcond=None)[0]
    twfe = float(coef[0])

    # Omega and the within estimate.
    d_it_til = (
        dres - dres.mean(axis=1, keepdims=True) - dres.mean(axis=0, keepdims=True) + dres.mean()
    )
    d_kt = _group_time_means(dres, gidx, n_g)  # (G, T)
    d_k = np.bincount(gidx, weights=dres.sum(axis=1), minlength=g_n) / (n_g * t_n)
    d_ikt_til = dres - dres.mean(axis=1, keepdims=True) - (d_kt[gidx] - d_k[gidx, None])
    v_w = _pop_var(d_ikt_til)
    omega = v_w / _pop_var(d_it_til)
    beta_w = _pop_cov(Y, d_ikt_til) / v_w

    # Group-by-period means of the outcome, treatment, covariates and predicted treatment.
    ybar = _group_time_means(Y, gidx, n_g)
    dbar = _group_time_means(D, gidx, n_g)
    xbar = _group_time_means(X, gidx, n_g)  # (G, T, p)
    pbar = _group_time_means(D - dres, gidx, n_g)

    # Unordered pairs of groups; groups are sorted by first treated period (never last).
    ka, kb = np.triu_indices(g_n, k=1)
    m = len(ka)
    wa = n_g[ka].astype(float)[:, None]
    wb = n_g[kb].astype(float)[:, None]
    wsum = wa + wb

    def pair_within(z: np.ndarray) -> np.ndarray:
        """Two-way demeaning within each pair: (G, T, ...) -> (M, 2, T, ...)."""
        za, zb = z[ka], z[kb]
        extra = (None,) * (z.ndim - 2)
        wa_, wb_, ws_ = (w[(slice(None), slice(None), *extra)] for w in (wa, wb, wsum))
        zt = (wa_ * za + wb_ * zb) / ws_  # period means over the pair's units
        zall = zt.mean(axis=1, keepdims=True)
        za_w = za - za.mean(axis=1, keepdims=True) - zt + zall
        zb_w = zb - zb.mean(axis=1, keepdims=True) - zt + zall
        return np.stack([za_w, zb_w], axis=1)

    yt = pair_within(ybar)  # (M, 2, T)
    dt = pair_within(dbar)
    xt = pair_within(xbar)  # (M, 2, T, p)
    pt = pair_within(pbar)
    wts = np.stack([wa, wb], axis=1).repeat(t_n, axis=2)  # (M, 2, T): units per cell
    sw = np.sqrt(wts).reshape(m, 2 * t_n)
    a_mat = xt.reshape(m, 2 * t_n, p) * sw[:, :, None]
    b_vec = dt.reshape(m, 2 * t_n) * sw
    proj = np.einsum("mij,mj->mi", a_mat, np.einsum("mji,mi->mj", np.linalg.pinv(a_mat), b_vec))
    fitted = proj / sw  # fitted D-tilde from the purged group means of the covariates
    r = dt.reshape(m, 2 * t_n) - fitted
    q = fitted - pt.reshape(m, 2 * t_n)
    w2 = wts.reshape(m, 2 * t_n)
    q = q - (w2 * q).sum(axis=1, keepdims=True) / w2.sum(axis=1, keepdims=True)
    y2 = yt.reshape(m, 2 * t_n)
    n_obs = w2.sum(axis=1)
    v_r = (w2 * r * r).sum(axis=1) / n_obs
    v_q = (w2 * q * q).sum(axis=1) / n_obs
    c_r = (w2 * r * y2).sum(axis=1) / n_obs
    c_q = (w2 * q * y2).sum(axis=1) / n_obs
    est = (c_r + c_q) / (v_r + v_q)
    raw_w = n_obs**2 * (v_r + v_q)
    return twfe, omega, beta_w, ka, kb, est, raw_w


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

    if not covs:
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
        omega = beta_w = beta_b = float("nan")
    else:
        twfe, omega, beta_w, k, u, est, raw_w = _controlled(panel, gidx, n_g)
        weight = raw_w / raw_w.sum()
        types = np.where(
            starts[u] == t_n,
            TYPE_UNTREATED,
            np.where((starts[k] == 0) | (starts[u] == 0), TYPE_ALWAYS, TYPE_BOTH),
        )
        beta_b = float(np.dot(weight, est))

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
