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
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from fvdid.errors import FvdidInputError
from fvdid.estimators._sandwich import cluster_score_sums

__all__ = ["CELL", "CELL_QUARTERS", "THETA", "CellDesign", "Pooled", "cell_design", "common_effect_cr1", "event_cells", "event_year_cells",
           "fv_estimand", "pair_estimates", "pairs_test", "pool_term", "t_inference"]

THETA = "fv_att"
"""Name of the regressor whose coefficient is the FV-child-weighted average of the cell effects."""


@dataclass(frozen=True, eq=False)
class CellDesign:
    """The reparametrised cell regressors of one stacked sample.

    An intermediate design, not an estimate: like :class:`fvdid.estimators.ols.OLSDesign` it
    holds its frame as built, without the read-only copy a result object makes, because the frame
    is the whole stacked sample (with extension dtypes, which :class:`fvdid._results.ResultMixin`
    deep-copies on construction and on every read: at 1M children each imputation's regression
    then held its own deep copy). Nothing writes it: the regressions read it.

    Attributes
    ----------
    data
        The stacked sample with the regressors added (:data:`THETA` and ``fvcell_<k>``).
    terms
        The regressors, :data:`THETA` first.
    cells
        One row per identified cell: ``cell``, ``n_fv`` (weighted FV children), ``weight``.
    n_fv_unidentified
        FV rows (weighted) in periods without comparison children, left out of the estimand.
    """

    data: pd.DataFrame
    terms: tuple[str, ...]
    cells: pd.DataFrame
    n_fv_unidentified: float

    def tidy(self) -> pd.DataFrame:
        return self.cells


def _cell_keys(data: pd.DataFrame, cell: str | Sequence[str]) -> pd.Series:
    cols = [cell] if isinstance(cell, str) else list(cell)
    if len(cols) == 1:
        return data[cols[0]].astype(str)
    return data[cols].astype(str).agg("|".join, axis=1)


def _identified(data: pd.DataFrame, period: str, treatment: str, w: np.ndarray) -> np.ndarray:
    """FV rows with positive weight whose period (within pair) also holds comparison children."""
    fv = data[treatment].to_numpy() == 1
    per = data[period]
    with_comparison = per[(w > 0) & ~fv].unique()
    return fv & (w > 0) & per.isin(with_comparison).to_numpy()


def fv_estimand(
    data: pd.DataFrame,
    *,
    period: str = "pair_time",
    treatment: str = "fv",
    weights: str | None = "weight",
    unit: str = "child_id",
) -> pd.Series:
    """The FV children the interaction-weighted estimate averages over, with their weights.

    FV rows with positive weight in periods (within pair) that also hold comparison children;
    the result maps ``unit`` (child) to its total weight. The simulator's truth of the headline
    is the weighted mean of these children's true effects.
    """
    w = data[weights].to_numpy(dtype=float) if weights else np.ones(len(data))
    keep = _identified(data, period, treatment, w)
    return pd.Series(w[keep], index=data[unit].to_numpy()[keep]).groupby(level=0).sum()


def cell_design(
    data: pd.DataFrame,
    *,
    cell: str | Sequence[str] = "pair_time",
    period: str = "pair_time",
    treatment: str = "fv",
    weights: str | None = "weight",
) -> CellDesign:
    """Add the reparametrised cell regressors of the interaction-weighted estimator to ``data``.

    Parameters
    ----------
    data
        The stacked sample (one row per pair × child) with ``treatment`` and the cell column(s).
    cell
        The column(s) defining a cell of FV rows (pair × period by default; the pipeline uses
        pair × event quarter, :func:`event_cells`).
    period
        The period of the time fixed effects within pair: FV rows in a period without a
        comparison child identify no effect and are left out of the estimand (counted).
    treatment
        The 0/1 FV indicator.
    weights
        Row weights (CEM weights); rows with weight 0 count for nothing. None: all 1.
    """
    w = data[weights].to_numpy(dtype=float) if weights else np.ones(len(data))
    fv = data[treatment].to_numpy() == 1
    ident = _identified(data, period, treatment, w)
    key = _cell_keys(data, cell).to_numpy()
    n_fv = pd.Series(w[ident], index=key[ident]).groupby(level=0).sum()
    if n_fv.empty:
        from fvdid.stages import DataCondition

        raise DataCondition("insufficient_data", "no period within a pair holds both FV and comparison children")
    cells = pd.DataFrame({"cell": n_fv.index, "n_fv": n_fv.to_numpy()})
    cells["weight"] = cells["n_fv"] / cells["n_fv"].sum()
    if "pair_id" in data:  # each cell lies within one pair (its rows share the pair)
        pair_of = pd.Series(data["pair_id"].astype(str).to_numpy()[ident], index=key[ident])
        cells["pair"] = pair_of.groupby(level=0).first().reindex(cells["cell"]).to_numpy()
    r = int(cells["weight"].to_numpy().argmax())
    w_r = float(cells.loc[r, "weight"])
    # each identified row's cell as its position in ``cells`` (-1 elsewhere): integer comparisons
    code = np.where(ident, n_fv.index.get_indexer(key), -1)
    in_ref = (code == r).astype(float)
    new: dict[str, np.ndarray] = {THETA: in_ref / w_r}
    terms = [THETA]
    for k, cw in enumerate(cells["weight"].to_numpy()):
        if k != r:
            new[f"fvcell_{k}"] = (code == k).astype(float) - (float(cw) / w_r) * in_ref
            terms.append(f"fvcell_{k}")
    # FV rows of unidentified periods: a dummy per period absorbs them (no effect on theta).
    un = fv & (w > 0) & ~ident
    if un.any():
        per = data[period].to_numpy()
        for k, c in enumerate(pd.unique(per[un])):
            new[f"fvcell_u{k}"] = (un & (per == c)).astype(float)
            terms.append(f"fvcell_u{k}")
    return CellDesign(data.assign(**new), tuple(terms), cells, float(w[un].sum()))


CELL_QUARTERS: int = 1
"""Event quarters per cell of FV rows in the linear interaction weighting (the logit gives every
FV child its own effect: :func:`fvdid.stages.logit_ame.logit_imputation_ame`).

One quarter: a cell is a pair × quarter since go-live, so each FV child's effect is its own
quarter's and the estimate averages the effects over FV children exactly. Cells of a year
(four quarters) weight a year's quarters by their residual variance of FV rather than by their
FV children; with effects that grow within the year that attenuated the estimate (on the
simulator's true child effects, +0.0006 of −0.0148 with year cells against +0.0001 with
quarter cells, six seeds of the default design).
"""

CELL: str = "pair_event_cell"
"""The column :func:`event_cells` adds by default."""


def event_cells(data: pd.DataFrame, *, quarters: int = CELL_QUARTERS, treatment: str = "fv",
                event_time: str = "event_time_q", name: str = CELL) -> pd.DataFrame:
    """Add ``name``: pair × ``quarters``-quarter block of event time (quarters since go-live).

    FV rows get ``"<pair>:e<k>"`` with ``k = floor(event_time / quarters)``; other rows ``""``.
    Without an event-time column the cell is the pair's period (``pair_time``).
    """
    if int(quarters) < 1:
        raise ValueError(f"quarters must be a positive integer, got {quarters!r}")
    e = pd.to_numeric(data[event_time], errors="coerce") if event_time in data else None
    if e is None:
        return data.assign(**{name: data["pair_time"].astype(str)})
    ey = np.floor(e.to_numpy(dtype=float) / int(quarters))
    fv = data[treatment].to_numpy() == 1
    lab = np.full(len(data), "", dtype=object)
    if fv.any():  # the labels of the FV rows alone
        lab[fv] = (data["pair_id"][fv].astype(str).to_numpy() + ":e"
                   + pd.Series(ey[fv]).astype("Int64").astype(str).to_numpy())
    return data.assign(**{name: lab})


def event_year_cells(data: pd.DataFrame, *, treatment: str = "fv", event_time: str = "event_time_q",
                     name: str = "pair_event_year") -> pd.DataFrame:
    """Add ``name``: pair × year since go-live (event quarters 0–3, 4–7, ...) for FV rows."""
    return event_cells(data, quarters=4, treatment=treatment, event_time=event_time, name=name)


@dataclass(frozen=True)
class Pooled:
    """One coefficient pooled over the completed data sets (Rubin's rules), CR1 with t(G−1)."""

    estimate: float
    std_error: float
    df: float
    p_value: float
    conf_low: float
    conf_high: float


def pool_term(fits: Sequence[Any], term: str, n_clusters: int, alpha: float,
              std_errors: Sequence[float] | None = None) -> Pooled:
    """Pool ``term`` over fits by Rubin's rules (complete-data df G − 1) and form its t interval.

    With one fit, the fit's CR1 standard error with t(G − 1). ``std_errors`` replaces the fits'
    own standard errors of ``term`` (e.g. :func:`common_effect_cr1`).
    """
    from fvdid.estimators.rubin import rubin
    from fvdid.stages import DataCondition

    if any(term not in f.params.index for f in fits):
        raise DataCondition("singular_design", f"the coefficient {term!r} is not identified: it is "
                            "collinear with the fixed effects and covariates on these data")
    ses = [float(f.std_errors[term]) for f in fits] if std_errors is None else list(std_errors)
    if len(fits) > 1:
        # Rubin's rules on the one coefficient: imputations of a small outcome sample can leave a
        # covariate level empty in one completed data set, so the full coefficient vectors need
        # not match; the FV coefficient is always estimated.
        pooled = rubin([(pd.Series([float(f.params[term])], index=[term]),
                         pd.Series([se**2], index=[term])) for f, se in zip(fits, ses, strict=True)],
                       dfcom=n_clusters - 1)
        est = float(pooled.params[term])
        se = float(pooled.std_errors[term])
        df = float(min(float(pooled.df[term]), n_clusters - 1))
    else:
        est, se, df = float(fits[0].params[term]), float(ses[0]), float(n_clusters - 1)
    p, lo, hi = t_inference(est, se, df, alpha)
    return Pooled(est, se, df, p, lo, hi)


def t_inference(est: float, se: float, df: float, alpha: float) -> tuple[float, float, float]:
    """(p-value, lower, upper) of a t test and interval; NaN where se or df is not positive."""
    if not (se > 0 and df > 0):
        return float("nan"), float("nan"), float("nan")
    q = float(stats.t.ppf(1 - alpha / 2, df))
    return float(2 * stats.t.sf(abs(est / se), df)), est - q * se, est + q * se


def common_effect_cr1(iw_fit: Any, pooled_fit: Any, data: pd.DataFrame, cluster: str,
                      term: str = THETA) -> float:
    """CR1 standard error of ``term`` with the residuals of the common-effect (pooled) model.

    With one treated LA per pair, every cell dummy of the interaction-weighted regression lies
    within one treated cluster, so its normal equation forces that cluster's residuals in the
    cell to sum to zero: the treated LAs' own deviations vanish from the CR1 meat, and CR1 (and
    CR2) understate the variance. Here the meat is built from the scores of the
    interaction-weighted design evaluated at the residuals of the model with a single FV
    effect, in which each treated LA's deviation from the common effect stays in its residuals
    (exact under homogeneous effects, conservative under heterogeneous ones: the heterogeneity
    enters the meat). Bread and small-sample factor G/(G−1)·(n−1)/(n−K) as CR1.
    """
    des = iw_fit.design
    X = np.asarray(des.X, dtype=float)
    w = np.ones(len(X)) if des.weights is None else np.asarray(des.weights, dtype=float)
    e = pooled_fit.resid.reindex(des.index).to_numpy(dtype=float)
    if np.isnan(e).any():
        from fvdid.stages import DataCondition

        raise DataCondition("singular_design", "the pooled and interaction-weighted fits used different rows")
    g = pd.factorize(data.loc[des.index, cluster])[0]
    G = int(g.max()) + 1
    XtWX = X.T @ (X * w[:, None])
    bread = np.linalg.pinv(XtWX)
    S = cluster_score_sums(w * e, X, g)  # rows added in row order (the floats of np.add.at)
    n, k = X.shape
    K = k + int(des.n_fe)
    c = G / max(G - 1, 1) * (n - 1) / max(n - K, 1)
    V = c * bread @ (S.T @ S) @ bread
    j = list(des.terms).index(term) if term in des.terms else list(iw_fit.params.index).index(term)
    return float(np.sqrt(max(V[j, j], 0.0)))


def pair_estimates(iw_fit: Any, design: CellDesign) -> pd.DataFrame:
    """Each pair's own effect from the interaction-weighted fit: θ_p = Σ_{c∈p} w_c β_c / W_p.

    The cell effects are recovered from the reparametrised coefficients (β_c of ``fvcell_k``;
    the reference cell's from θ = Σ_c w_c β_c). Returns ``pair``, ``weight`` (W_p, the pair's
    share of the estimand's FV children) and ``estimate``; Σ_p W_p θ_p equals θ exactly.
    """
    cells = design.cells
    if "pair" not in cells:
        from fvdid.stages import DataCondition

        raise DataCondition("insufficient_data", "the cells carry no pair: pair estimates need pair_id")
    w = cells["weight"].to_numpy(dtype=float)
    r = int(w.argmax())
    beta = np.empty(len(cells))
    for k in range(len(cells)):
        if k != r:
            beta[k] = float(iw_fit.params.get(f"fvcell_{k}", np.nan))
    others = np.arange(len(cells)) != r
    beta[r] = (float(iw_fit.params[THETA]) - float(w[others] @ beta[others])) / w[r]
    if not np.isfinite(beta).all():
        from fvdid.stages import DataCondition

        raise DataCondition("singular_design", "a cell effect of the interaction-weighted model is not identified")
    frame = pd.DataFrame({"pair": cells["pair"].astype(str).to_numpy(), "w": w, "wb": w * beta})
    agg = frame.groupby("pair", sort=True)[["w", "wb"]].sum()
    return pd.DataFrame({"pair": agg.index.to_numpy(), "weight": agg["w"].to_numpy(),
                         "estimate": (agg["wb"] / agg["w"]).to_numpy()})


def pairs_test(tables: Sequence[pd.DataFrame], data: pd.DataFrame, *, alpha: float = 0.05,
               pair: str = "pair_id", la: str = "la_code",
               weighting: Literal["fv", "equal"] = "fv") -> Any:
    """Ibragimov–Müller t test over the independent pairs (:func:`fvdid.estimators.group_t`).

    ``tables`` hold each completed data set's pair estimates (:func:`pair_estimates`, or the
    logit's per-pair AMEs): estimates and weights are averaged over the imputations (the spread
    across pairs then carries the imputation noise too). Pairs that share an LA are merged into one
    group. With one treatment LA per pair the test's variance comes from the spread of the pair
    effects, which contains each treatment LA's own shocks; cluster-robust variances of the cell
    models cannot see them.

    ``weighting="fv"`` tests the FV-weighted effect Σ_g W_g θ_g: the t statistic of the
    x_g = q W_g θ̂_g. With unequal FV shares its power is bounded: when every pair has the same
    effect θ the x_g still differ by θ q W_g, so |t| tends to √q · mean(qW) / sd(qW) however large
    θ is (2.6–3.0 on replications 1–3 of the default design, against t(4)'s 2.78 at 5 %).
    ``weighting="equal"`` weights the groups equally: the t test of the θ̂_g themselves, a test of
    no effect in any pair (Ibragimov & Müller 2010, for independent, normal group estimates
    centred at their effects) without that bound; its estimate is the unweighted mean of the
    groups' effects. In the default study (``validation/montecarlo-100k-imp``) it holds its size
    for the linear estimate (5.2 %, MCSE 1.1, 407 null replications) but not for the logit's pair
    AMEs (8.9 %, 1.5), whose counterfactuals are not centred under the null.
    """
    from fvdid.estimators.group_t import group_t_test, independent_groups

    both = pd.concat([t.assign(_m=m) for m, t in enumerate(tables)], ignore_index=True)
    avg = both.groupby("pair", sort=True)[["weight", "estimate"]].mean()
    las = data.groupby(data[pair].astype(str))[la].unique()
    group = independent_groups({p: [str(x) for x in las.get(p, [])] for p in avg.index})
    avg["group"] = [group[p] for p in avg.index]
    avg["wb"] = avg["weight"] * avg["estimate"]
    g = avg.groupby("group", sort=True)[["weight", "wb"]].sum()
    if weighting not in ("fv", "equal"):
        raise FvdidInputError(f"pairs_test: weighting must be 'fv' or 'equal', got {weighting!r}")
    w = g["weight"] if weighting == "fv" else pd.Series(1.0, index=g.index)
    return group_t_test(g["wb"] / g["weight"], w, alpha=alpha)
