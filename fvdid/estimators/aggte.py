"""Aggregations of group-time ATTs: simple, dynamic (event study), group, calendar.

Semantics of R ``did::aggte`` 2.1.2 (``compute.aggte``), including the influence-function term
for the estimated aggregation weights (did's ``wif``), with did's later correction of that term
for the group aggregation (``compat="did-2.1.2"`` restores the old one).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from fvdid._results import ResultMixin, seal
from fvdid.errors import FvdidInputError
from fvdid.estimators._att_gt_inference import _SE_FLOOR, multiplier_bootstrap
from fvdid.estimators._att_gt_prep import _fmt
from fvdid.estimators.att_gt import AttGtResult

__all__ = ["AggteResult", "aggte"]

AggType = Literal["simple", "dynamic", "group", "calendar"]
Compat = Literal["current", "did-2.1.2"]
_KEY = {"dynamic": "event_time", "group": "group", "calendar": "period", "simple": "term"}


@dataclass(frozen=True)
class AggteResult(ResultMixin):
    """An aggregation of ATT(g,t).

    Attributes
    ----------
    type
        ``"simple"``, ``"dynamic"``, ``"group"`` or ``"calendar"``.
    overall_att, overall_se, overall_conf_low, overall_conf_high
        The overall summary and its pointwise interval (as did prints it).
    table
        One row per event time (``event_time``), group (``group``) or period (``period``):
        ``att``, ``se``, ``conf_low``, ``conf_high`` (uniform band when ``cband``). Empty for
        ``"simple"``.
    crit_val
        Critical value of the bands in ``table``.
    influence
        ``n_units × len(table)`` influence functions of the table's estimates.
    overall_influence
        Influence function of the overall summary.
    """

    type: str
    overall_att: float
    overall_se: float
    overall_conf_low: float
    overall_conf_high: float
    table: pd.DataFrame
    crit_val: float
    influence: np.ndarray
    overall_influence: np.ndarray
    min_e: float
    max_e: float
    balance_e: int | None
    bootstrap: bool
    cband: bool
    alpha: float
    notes: tuple[str, ...]

    @property
    def params(self) -> pd.Series:
        """Estimates labelled by event time / group / period (``"overall"`` first)."""
        key = _KEY[self.type]
        idx = ["overall"] + ([_fmt(v) for v in self.table[key]] if key in self.table else [])
        return pd.Series([self.overall_att, *self.table["att"].tolist()], index=idx, name="att")

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors labelled like :attr:`params`."""
        key = _KEY[self.type]
        idx = ["overall"] + ([_fmt(v) for v in self.table[key]] if key in self.table else [])
        return pd.Series([self.overall_se, *self.table["se"].tolist()], index=idx, name="se")

    def tidy(self) -> pd.DataFrame:
        """Overall row plus the table, with a ``term`` column."""
        key = _KEY[self.type]
        rows = [
            {
                "term": "overall",
                "att": self.overall_att,
                "se": self.overall_se,
                "conf_low": self.overall_conf_low,
                "conf_high": self.overall_conf_high,
            }
        ]
        for _, r in self.table.iterrows():
            rows.append(
                {
                    "term": _fmt(r[key]),
                    "att": r["att"],
                    "se": r["se"],
                    "conf_low": r["conf_low"],
                    "conf_high": r["conf_high"],
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        lines = [
            f"AggteResult ({self.type})",
            f"overall ATT = {self.overall_att:.6g} (se {self.overall_se:.6g}), "
            f"[{self.overall_conf_low:.6g}, {self.overall_conf_high:.6g}]",
        ]
        if not self.table.empty:
            band = "simultaneous" if self.cband else "pointwise"
            lines.append(f"{band} bands, critical value {self.crit_val:.4f}")
            with pd.option_context("display.width", 120, "display.max_columns", 20):
                lines.append(self.table.to_string(index=False))
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def plot(self, *, ax: Any = None, title: str | None = None) -> Any:
        """Event-study plot (dynamic): estimates with bands by event time, pre in grey.

        For group / calendar aggregations the same layout is drawn over groups / periods.
        Returns the matplotlib ``Figure``.
        """
        import matplotlib.pyplot as plt

        if self.table.empty:
            raise FvdidInputError("a 'simple' aggregation has no table to plot")
        key = _KEY[self.type]
        if ax is None:
            fig, ax = plt.subplots(figsize=(7, 4))
        else:
            fig = ax.figure
        x = self.table[key].to_numpy(dtype=float)
        est = self.table["att"].to_numpy(dtype=float)
        lo = self.table["conf_low"].to_numpy(dtype=float)
        hi = self.table["conf_high"].to_numpy(dtype=float)
        pre = x < 0 if self.type == "dynamic" else np.zeros(x.size, dtype=bool)
        for mask, colour, name in ((pre, "0.45", "pre"), (~pre, "tab:blue", "post")):
            if mask.any():
                ax.errorbar(
                    x[mask],
                    est[mask],
                    yerr=np.vstack([est[mask] - lo[mask], hi[mask] - est[mask]]),
                    fmt="o",
                    color=colour,
                    capsize=3,
                    label=name,
                )
        ax.axhline(0.0, color="black", lw=0.8)
        if self.type == "dynamic":
            ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
        ax.set_xlabel({"event_time": "event time", "group": "group", "period": "period"}[key])
        ax.set_ylabel("ATT")
        band = "uniform" if self.cband else "pointwise"
        ax.set_title(
            title or f"{self.type} aggregation, {round((1 - self.alpha) * 100)}% {band} bands",
            fontsize=10,
        )
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        return fig


def _weights_if(
    keepers: np.ndarray,
    pg: np.ndarray,
    group_of: np.ndarray,
    unit_w: np.ndarray,
    unit_g: np.ndarray,
    att_k: np.ndarray,
) -> np.ndarray:
    """did's ``wif(keepers, pg, weights.ind, G, group) %*% att[keepers]`` as one n-vector.

    ``pg`` and ``group_of`` are indexed by ``keepers`` exactly as did indexes them.
    """
    p = pg[keepers]
    s = p.sum()
    ind = [unit_w * (unit_g == group_of[k]) - pg[k] for k in keepers]
    num = sum(a * v for a, v in zip(att_k, ind))
    den = sum(ind)
    return num / s - den * float(np.dot(p, att_k)) / s**2


def _stack_columns(cols: list[np.ndarray]) -> np.ndarray:
    """The ``n × k`` matrix whose columns are ``cols``, in column-major order: one contiguous
    write per column (``np.column_stack`` writes row-major, a strided write per element: about
    half of the dynamic aggregation's time on a million rows)."""
    return np.array(cols).T


def aggte(
    result: AttGtResult,
    type: AggType = "simple",
    *,
    min_e: float | None = None,
    max_e: float | None = None,
    balance_e: int | None = None,
    bootstrap: bool | None = None,
    alpha: float | None = None,
    cband: bool | None = None,
    seed: int | None = None,
    na_rm: bool = False,
    compat: Compat = "current",
) -> AggteResult:
    """Aggregate ATT(g,t) into an overall effect, an event study, or group / calendar effects.

    fvdid -> R (``did::aggte`` 2.1.2): ``result`` = ``MP``, ``type`` = ``type``, ``bootstrap`` =
    ``bstrap``, ``alpha`` = ``alp``, ``cband`` = ``cband``, ``na_rm`` = ``na.rm``; the number of
    bootstrap draws ``B`` [``biters``] is the ``att_gt`` fit's.

    Parameters (R ``did::aggte`` 2.1.2 argument in brackets)
    ----------
    result
        An :class:`~fvdid.att_gt.AttGtResult` [``MP``].
    type
        ``"simple"``, ``"dynamic"``, ``"group"``, ``"calendar"`` [``type``].
    min_e, max_e
        Event-time window [``min_e``, ``max_e``]; as in did, ``max_e`` also limits the cells of
        the simple and group aggregations, ``min_e`` only the dynamic one.
    balance_e
        Keep only groups observed for at least ``balance_e`` periods after treatment
        [``balance_e``].
    bootstrap, alpha, cband
        Default to the values used in :func:`~fvdid.att_gt` [``bstrap``, ``alp``, ``cband``].
    seed
        Seed of numpy's generator for the bootstrap draws (default: the ``att_gt`` seed).
    na_rm
        Drop missing ATT(g,t) [``na.rm``]; otherwise missing ones raise, as in did.

    compat
        ``"current"`` (default): the overall influence function of the group aggregation
        counts the estimation of the group probabilities with the indicator of each *group*
        (did after commit 9229716, 23 March 2025: ``wif(..., group = glist)``).
        ``"did-2.1.2"``: did 2.1.2's term, which indexes the ATT(g,t) cohorts ``group[k]``
        for ``k = 1..number of groups`` (ATT(g,t) positions, not groups); its overall SE of
        the group aggregation is 0.25 % low on mpdta. Only ``type="group"``'s overall SE
        depends on it; the pinned did 2.1.2 golden files use it.

    Raises
    ------
    FvdidInputError
        An impossible event-time window (as did, which stops): ``max_e`` below 0 for the
        simple and group aggregations (no post-treatment cell left), a dynamic window without
        event times or without a non-negative one (no overall effect), missing ATT(g,t)
        without ``na_rm``.

    Notes
    -----
    Defaults that differ from R, and why: ``type`` is ``"simple"`` (R: ``"group"``), because
    the headline of this design is the overall ATT of all post-treatment cells weighted by
    group size, which is did's "simple" summary; ``bootstrap`` / ``cband`` follow the
    :func:`~fvdid.att_gt` fit, whose defaults are off (see there).
    """
    if type not in _KEY:
        raise FvdidInputError(
            f"type must be one of 'simple', 'dynamic', 'group', 'calendar'; got {type!r}"
        )
    if compat not in ("current", "did-2.1.2"):
        raise FvdidInputError(f"compat must be 'current' or 'did-2.1.2'; got {compat!r}")
    notes: list[str] = []
    bstrap = result.bootstrap if bootstrap is None else bool(bootstrap)
    alp = result.alpha if alpha is None else float(alpha)
    cb = result.cband if cband is None else bool(cband)
    rng = np.random.default_rng(result.seed if seed is None else seed)
    lo_e = -math.inf if min_e is None else float(min_e)
    hi_e = math.inf if max_e is None else float(max_e)
    zcrit = float(stats.norm.ppf(1 - alp / 2))

    tab = result.table
    group = tab["group"].to_numpy(dtype=float)
    tt = tab["time"].to_numpy(dtype=float)
    att = tab["att"].to_numpy(dtype=float)
    inf1 = result.influence
    glist = np.array(result.groups, dtype=float)

    if na_rm:
        ok = ~np.isnan(att)
        group, tt, att, inf1 = group[ok], tt[ok], att[ok], inf1[:, ok]
        glist = np.unique(group)
        if type == "group":
            keep_g = [g for g in glist if not np.isnan(att[(group == g) & (g <= tt)].mean())]
            ok = np.isin(group, keep_g)
            group, tt, att, inf1 = group[ok], tt[ok], att[ok], inf1[:, ok]
            glist = np.unique(group)
    elif np.isnan(att).any():
        raise FvdidInputError(
            "missing ATT(g,t) values; pass na_rm=True to drop them (did: 'Missing values at "
            "att_gt found')"
        )

    n = result.n_units
    unit_w = result.unit_weights
    unit_g = result.unit_cohort

    # did recodes periods and groups to 1..K over the union of periods and groups
    gt_union = np.unique(np.concatenate([np.array(result.periods, dtype=float), glist]))

    def rec(v: np.ndarray) -> np.ndarray:
        return np.searchsorted(gt_union, v) + 1.0

    t_r, g_r = rec(tt), rec(group)
    pg_g = np.array([np.mean(unit_w * (unit_g == g)) for g in glist])
    pg = pg_g[np.searchsorted(glist, group)]

    def se_of(phi: np.ndarray) -> float:
        if bstrap:
            return float(
                multiplier_bootstrap(
                    phi, B=result.B, alpha=alp, rng=rng, cluster=result.unit_cluster
                )["se"][0]
            )
        return float(np.sqrt(np.mean(phi**2) / n))

    def floor(v: float) -> float:
        return v if (not np.isnan(v) and v > _SE_FLOOR) else float("nan")

    def crit_of(infm: np.ndarray) -> tuple[float, bool]:
        if not cb:
            return zcrit, False
        if not bstrap:
            notes.append("used the multiplier bootstrap to compute the simultaneous band")
        cv = multiplier_bootstrap(
            infm, B=result.B, alpha=alp, rng=rng, cluster=result.unit_cluster
        )["crit_val"]
        if np.isnan(cv) or np.isinf(cv):
            msg = "simultaneous critical value is NA; reporting pointwise intervals"
            notes.append(msg)
            warnings.warn(msg, UserWarning, stacklevel=3)
            return zcrit, False
        if cv < zcrit:
            msg = "simultaneous band narrower than the pointwise one; reporting pointwise intervals"
            notes.append(msg)
            warnings.warn(msg, UserWarning, stacklevel=3)
            return zcrit, False
        if cv >= 7:
            msg = f"simultaneous critical value is arguably too large to be reliable ({cv:.2f})"
            notes.append(msg)
            warnings.warn(msg, UserWarning, stacklevel=3)
        return float(cv), True

    def agg_if(idx: np.ndarray, wts: np.ndarray, with_wif: bool) -> np.ndarray:
        phi = inf1[:, idx] @ wts
        if with_wif:
            phi = phi + _weights_if(idx, pg, group, unit_w, unit_g, att[idx])
        return phi

    def finish(
        key: str,
        labels: np.ndarray,
        est: np.ndarray,
        ses: np.ndarray,
        infm: np.ndarray,
        overall: float,
        overall_phi: np.ndarray,
    ) -> AggteResult:
        crit, used_band = crit_of(infm) if labels.size else (zcrit, False)
        ses = np.array([floor(s) for s in ses])
        table = pd.DataFrame(
            {
                key: labels,
                "att": est,
                "se": ses,
                "conf_low": est - crit * ses,
                "conf_high": est + crit * ses,
            }
        )
        if np.all(np.mod(table[key], 1) == 0):
            table[key] = table[key].astype(np.int64)
        ose = floor(se_of(overall_phi))
        seal(infm, overall_phi)  # fresh stacks / products: kept without a copy
        return AggteResult(
            type=type,
            overall_att=float(overall),
            overall_se=ose,
            overall_conf_low=float(overall - zcrit * ose),
            overall_conf_high=float(overall + zcrit * ose),
            table=table,
            crit_val=crit,
            influence=infm,
            overall_influence=overall_phi,
            min_e=lo_e,
            max_e=hi_e,
            balance_e=balance_e,
            bootstrap=bstrap,
            cband=used_band,
            alpha=alp,
            notes=tuple(notes),
        )

    if type == "simple":
        keep = np.flatnonzero((g_r <= t_r) & (t_r <= g_r + hi_e))
        if keep.size == 0:
            raise FvdidInputError(
                f"no post-treatment ATT(g,t) with event time <= max_e={max_e}: the simple "
                "aggregation is empty (did stops too)"
            )
        wts = pg[keep] / pg[keep].sum()
        est = float(np.sum(att[keep] * wts)) if keep.size else float("nan")
        phi = agg_if(keep, wts, True)
        empty = pd.DataFrame(columns=["att", "se", "conf_low", "conf_high"], dtype=float)
        ose = floor(se_of(phi))
        return AggteResult(
            type=type,
            overall_att=est,
            overall_se=ose,
            overall_conf_low=est - zcrit * ose,
            overall_conf_high=est + zcrit * ose,
            table=empty,
            crit_val=zcrit,
            influence=np.zeros((n, 0)),
            overall_influence=phi,
            min_e=lo_e,
            max_e=hi_e,
            balance_e=balance_e,
            bootstrap=bstrap,
            cband=False,
            alpha=alp,
            notes=tuple(notes),
        )

    if type == "group":
        ests, ses, cols = [], [], []
        for g in glist:
            gg = rec(np.array([g]))[0]
            idx = np.flatnonzero((g_r == gg) & (gg <= t_r) & (t_r <= g_r + hi_e))
            ests.append(float(att[idx].mean()) if idx.size else float("nan"))
            wts = pg[idx] / pg[idx].sum()
            phi = agg_if(idx, wts, False)
            cols.append(phi)
            ses.append(se_of(phi))
        if all(np.isnan(e) for e in ests):
            raise FvdidInputError(
                f"no post-treatment ATT(g,t) with event time <= max_e={max_e} in any group: "
                "the group aggregation is empty (did stops too)"
            )
        infm = _stack_columns(cols)
        est = np.array(ests)
        overall = float(np.sum(est * pg_g) / pg_g.sum())
        ks = np.arange(glist.size)
        if compat == "did-2.1.2":
            # did 2.1.2: wif(keepers = 1:length(glist), pg = pgg, ..., group = group): the
            # cohort of the k-th ATT(g,t), not the k-th group
            wif_att = _weights_if(ks, pg_g, group, unit_w, unit_g, est)
        else:
            wif_att = _weights_if(ks, pg_g, glist, unit_w, unit_g, est)
        overall_phi = infm @ (pg_g / pg_g.sum()) + wif_att
        return finish("group", glist, est, np.array(ses), infm, overall, overall_phi)

    if type == "dynamic":
        e_all = tt - group
        include = np.ones(e_all.size, dtype=bool)
        eseq = np.unique(e_all)
        if balance_e is not None:
            tmax = gt_union[-1]
            include = (tmax - group) >= balance_e
            eseq = np.unique(e_all[include])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - tmax + gt_union[0])]
        eseq = eseq[(eseq >= lo_e) & (eseq <= hi_e)]
        ests, ses, cols = [], [], []
        for e in eseq:
            idx = np.flatnonzero((e_all == e) & include)
            wts = pg[idx] / pg[idx].sum()
            ests.append(float(np.sum(att[idx] * wts)))
            phi = agg_if(idx, wts, True)
            cols.append(phi)
            ses.append(se_of(phi))
        if not cols:
            raise FvdidInputError(
                f"no event times left after min_e={min_e}, max_e={max_e}, balance_e={balance_e}"
            )
        infm = _stack_columns(cols)
        est = np.array(ests)
        epos = eseq >= 0
        if not epos.any():
            raise FvdidInputError(
                f"no event time >= 0 in the window min_e={min_e}, max_e={max_e}: the overall "
                "dynamic effect (the mean over non-negative event times) is undefined"
            )
        overall = float(est[epos].mean())
        overall_phi = infm[:, epos] @ np.full(int(epos.sum()), 1.0 / epos.sum())
        return finish("event_time", eseq, est, np.array(ses), infm, overall, overall_phi)

    # calendar
    tl_r = pd.unique(t_r)
    ming = g_r.min()
    cal = tl_r[tl_r >= ming]
    ests, ses, cols = [], [], []
    for t1 in cal:
        idx = np.flatnonzero((t_r == t1) & (g_r <= t_r))
        wts = pg[idx] / pg[idx].sum()
        ests.append(float(np.sum(att[idx] * wts)))
        phi = agg_if(idx, wts, True)
        cols.append(phi)
        ses.append(se_of(phi))
    infm = _stack_columns(cols)
    est = np.array(ests)
    overall = float(est.mean())
    overall_phi = infm @ np.full(cal.size, 1.0 / cal.size)
    labels = gt_union[cal.astype(int) - 1]
    return finish("period", labels, est, np.array(ses), infm, overall, overall_phi)
