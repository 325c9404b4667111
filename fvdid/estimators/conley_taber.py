"""Conley–Taber confidence intervals for a DiD coefficient with few treated groups.

Conley & Taber ("Inference with 'difference in differences' with a small number of policy
changes", REStat 93(1), 2011). In the group × period model

    y_jt = alpha d_jt + x_jt' beta + theta_j + gamma_t + eta_jt,

with ``N1`` treated groups fixed and ``N0`` control groups growing, the two-way fixed-effects
estimate satisfies ``alpha_hat - alpha -> W = sum_l sum_t dt_lt eta_lt / sum_l sum_t dt_lt^2``
(``l`` over the treated groups, ``dt_lt = d_lt - dbar_l`` the treatment demeaned within the
group): its error depends on the treated groups' errors only, which cannot be estimated
consistently, but whose distribution can be learnt from the control groups' residuals when the
``eta_j`` are identically distributed across groups. The estimate of the distribution of
``W`` puts each treated group's treatment pattern ``dt_l`` (its own go-live period, so
staggered adoption is handled as in the paper) on the residual series of a control group,

    W(j_1, ..., j_N1) = sum_l sum_t dt_lt eta_hat_{j_l t} / sum_l sum_t dt_lt^2,

over all ``N0^N1`` tuples of control groups (drawn with replacement, the paper's
``Gamma_hat``), enumerated when there are at most ``enumerate_max`` of them, otherwise ``B``
tuples drawn uniformly with a seeded ``numpy`` generator. The interval is

    [alpha_hat - Q_hi, alpha_hat - Q_lo],   Q_lo = inf{w : Gamma_hat(w) >= a/2},
                                            Q_hi = sup{w : 1 - Gamma_hat(w-) >= a/2},

(``Q_lo`` is the paper's ``Gamma_hat^{-1}(a/2)``; ``Q_hi`` is the upper-tail analogue, which
differs from ``Gamma_hat^{-1}(1 - a/2)`` by at most one draw and makes both tails symmetric),
and the two-sided p-value of ``H0: alpha = r`` is
``min(1, 2 min(Gamma_hat(alpha_hat - r), 1 - Gamma_hat((alpha_hat - r)-)))``: the interval is
exactly ``{r : p(r) >= a}`` (``Gamma_hat(s) >= a/2`` iff ``s >= Q_lo``, and likewise above). With
few control groups the p-value can be 0 (no control tuple as extreme): the method is asymptotic in
``N0``.

Simplification (documented): the paper's baseline assumes the ``eta_j`` identically
distributed across groups, which fails when LAs of different sizes have residuals of different
variance (Ferman & Pinto 2019). No size correction is made here; use
:func:`fvdid.randomization_test` with ``ferman_pinto=True`` for that. The residuals are those
of the full two-way fixed-effects regression (controls' residuals do not involve ``alpha``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin, to_plain
from fvdid.errors import FvdidInputError, check_binary, describe_rows, require_columns
from fvdid.estimators.ols import ols

__all__ = ["ConleyTaberResult", "conley_taber"]


@dataclass(frozen=True, eq=False)
class ConleyTaberResult(ResultMixin):
    """Result of :func:`conley_taber`.

    Attributes
    ----------
    estimate
        Two-way fixed-effects DiD estimate ``alpha_hat``.
    conf_int
        ``(lower, upper)`` at level ``1 - alpha``.
    p_value
        Two-sided p-value of ``H0: alpha = null``.
    n_combinations
        ``N0^N1`` control tuples there are; ``n_draws`` used; ``enumerated`` whether all.
    contrasts
        ``sum_t dt_lt eta_hat_jt / sum_l sum_t dt_lt^2``: rows treated groups, columns control
        groups (labels as strings); ``W`` of a tuple is the sum of one entry per row.
    draws
        The ``W`` of every tuple used (not in ``to_dict()``).
    """

    estimate: float
    conf_int: tuple[float, float]
    p_value: float
    null: float
    alpha: float
    n_treated: int
    n_controls: int
    n_periods: int
    n_combinations: int
    n_draws: int
    enumerated: bool
    seed: int | None
    contrasts: pd.DataFrame
    notes: tuple[str, ...]
    draws: np.ndarray = field(repr=False)

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "term": "treatment",
                    "estimate": self.estimate,
                    "p_value": self.p_value,
                    "conf_low": self.conf_int[0],
                    "conf_high": self.conf_int[1],
                    "method": "conley-taber",
                    "n_draws": self.n_draws,
                    "enumerated": self.enumerated,
                }
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """Every public field as plain data, except ``draws``."""
        d = super().to_dict()
        d.pop("draws", None)
        d["contrasts"] = to_plain(self.contrasts.reset_index())
        return d

    def p_value_at(self, r: float) -> float:
        """Two-sided p-value of ``H0: alpha = r`` from the same distribution."""
        return _pvalue(self.draws, self.estimate - float(r))


def _pvalue(draws: np.ndarray, s: float) -> float:
    lo = float(np.mean(draws <= s))
    hi = float(np.mean(draws >= s))
    return min(1.0, 2.0 * min(lo, hi))


def _label(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def conley_taber(
    data: pd.DataFrame,
    *,
    y: str,
    unit: str,
    time: str,
    treat: str,
    covariates: Sequence[str] = (),
    estimate: float | None = None,
    residual: str | None = None,
    alpha: float = 0.05,
    null: float = 0.0,
    B: int = 99_999,
    enumerate_max: int = 1_000_000,
    seed: int | None = None,
) -> ConleyTaberResult:
    """Conley–Taber (2011) interval for the DiD coefficient from an LA × period panel.

    Parameters
    ----------
    data
        One row per unit and period (a balanced panel, e.g. LA × quarter means).
    y, unit, time
        Outcome, group (LA) and period columns.
    treat
        0/1 treatment indicator ``d_jt`` (1 in a treated LA from its go-live period on). Groups
        with ``d_jt = 1`` in some period are treated; the others are controls.
    covariates
        Time-varying covariates ``x_jt`` added to the regression.
    estimate, residual
        Both or neither. Given, no regression is run: ``estimate`` is ``alpha_hat`` of the
        caller's own estimator and ``residual`` the column of ``data`` holding its residuals
        ``eta_hat_jt`` (only the control groups' are used); ``y`` and ``covariates`` are then
        not read.
    alpha
        1 - level of the interval.
    null
        Null value of ``p_value``.
    B, enumerate_max, seed
        Tuples of control groups drawn when ``N0^N1 > enumerate_max``, and the seed.

    Returns
    -------
    ConleyTaberResult

    Notes
    -----
    There is no R reference package; the formula is the paper's (module docstring). The
    regression is :func:`fvdid.ols` ``y ~ treat + covariates | unit + time``.
    """
    if (estimate is None) != (residual is None):
        raise FvdidInputError("give both estimate= and residual=, or neither")
    own = residual is None
    cols = [y, unit, time, treat, *covariates] if own else [unit, time, treat, str(residual)]
    require_columns(data, cols, what="data")
    if not 0 < alpha < 1:
        raise FvdidInputError(f"alpha must be in (0, 1); got {alpha!r}")
    na = data[cols].isna().any(axis=1)
    if na.any():
        raise FvdidInputError(
            f"columns {cols} have missing values in {describe_rows(data.index[na])}; "
            "conley_taber needs a complete balanced panel"
        )
    d = check_binary(data, treat, what="data")
    dup = data.duplicated([unit, time], keep=False)
    if dup.any():
        raise FvdidInputError(
            f"more than one row per ({unit!r}, {time!r}) in {describe_rows(data.index[dup])}; "
            "aggregate to one row per LA and period first"
        )
    units = pd.unique(data[unit])
    periods = pd.unique(data[time])
    if len(data) != len(units) * len(periods):
        counts = data.groupby(unit, sort=False)[time].count()
        short = counts[counts < len(periods)]
        raise FvdidInputError(
            f"the panel is unbalanced: {len(short)} {unit!r} value(s) (e.g. "
            f"{[_label(u) for u in short.index[:5]]}) lack some of the {len(periods)} periods"
        )
    if not d.any():
        raise FvdidInputError(f"no treated group: {treat!r} is 0 in every row")
    if own:
        fit = ols(
            f"{y} ~ {' + '.join([treat, *covariates])} | {unit} + {time}", data, vcov="iid"
        )
        if treat not in fit.params.index:
            raise FvdidInputError(
                f"treatment {treat!r} is collinear with the fixed effects or covariates"
            )
        est = float(fit.params[treat])
        resid = fit.resid.reindex(data.index).to_numpy()
    else:
        est = float(estimate)  # type: ignore[arg-type]
        if not np.isfinite(est):
            raise FvdidInputError(f"estimate must be finite; got {estimate!r}")
        resid = data[str(residual)].to_numpy(dtype=float)
    frame = pd.DataFrame(
        {"u": data[unit].to_numpy(), "t": data[time].to_numpy(), "d": d.astype(float)},
        index=data.index,
    )
    frame["e"] = resid
    D = frame.pivot(index="u", columns="t", values="d")
    E = frame.pivot(index="u", columns="t", values="e")
    is_tr = D.max(axis=1) > 0
    tr_units = list(D.index[is_tr])
    ct_units = list(D.index[~is_tr])
    n1, n0 = len(tr_units), len(ct_units)
    if n1 == 0:
        raise FvdidInputError(f"no treated group: {treat!r} is 0 in every row")
    if n0 < 2:
        raise FvdidInputError(f"{n0} control group(s): the Conley–Taber interval needs several")
    Dt = D.loc[tr_units].to_numpy()
    Dt = Dt - Dt.mean(axis=1, keepdims=True)
    denom = float((Dt**2).sum())
    C = Dt @ E.loc[ct_units].to_numpy().T / denom  # n1 x n0
    notes: list[str] = []
    n_comb = n0**n1
    if n_comb <= enumerate_max:
        draws = C[0]
        for row in C[1:]:
            draws = (draws[:, None] + row[None, :]).ravel()
        enumerated = True
    else:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n0, size=(int(B), n1))
        draws = C[np.arange(n1)[None, :], idx].sum(axis=1)
        enumerated = False
    draws = np.sort(draws)
    q_lo = float(np.quantile(draws, alpha / 2, method="inverted_cdf"))
    q_hi = -float(np.quantile(-draws, alpha / 2, method="inverted_cdf"))
    ci = (est - q_hi, est - q_lo)
    if n_comb * alpha / 2 < 1:
        notes.append(
            f"only {n_comb} control tuples: the {alpha / 2:g} tail quantiles are the extreme "
            "draws; the interval cannot reach its nominal level"
        )
    contrasts = pd.DataFrame(
        C,
        index=pd.Index([_label(u) for u in tr_units], name="treated"),
        columns=pd.Index([_label(u) for u in ct_units], name="control"),
    )
    return ConleyTaberResult(
        estimate=est,
        conf_int=ci,
        p_value=_pvalue(draws, est - float(null)),
        null=float(null),
        alpha=float(alpha),
        n_treated=n1,
        n_controls=n0,
        n_periods=len(periods),
        n_combinations=int(n_comb),
        n_draws=int(draws.size),
        enumerated=enumerated,
        seed=seed,
        contrasts=contrasts,
        notes=tuple(notes),
        draws=draws,
    )

