"""Cost–benefit analysis of the protocol (Cost Benefit Analysis section).

Un-monetised benefit per LA and year = ATE × children in the sample per LA per year (children
*not* entering care when the ATE is a reduction). Monetised benefit per LA::

    sum_{i=0}^{years-1}  unmonetised benefit × benefit per child × discount factor_i,
    discount factor_i = 1 / (1 + r)^i

(HM Treasury Green Book rate ``r`` = 3.5 % by default). With costs (per LA, per year, in the
base year's prices and the same discounting) the benefit–cost ratio and the net present social
value follow. As the protocol says, benefits are computed only when the effect is statistically
significant; otherwise the result says why it stops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError
from fvdid.reporting.appendix import AppendixTable, Section

__all__ = ["CBAResult", "cba", "cost_benefit", "cost_benefit_section"]


@dataclass(frozen=True)
class CBAResult(ResultMixin):
    """Benefits (and, with costs, BCR and NPSV) per LA."""

    computed: bool
    reason: str
    ate: float
    p_value: float
    children_per_la_year: float
    unmonetised_per_la_year: float
    benefit_per_child: float | None
    discount_rate: float
    years: int
    pv_benefit_per_la: float
    pv_cost_per_la: float
    bcr: float
    npsv_per_la: float
    by_year: pd.DataFrame

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "quantity": ["computed", "reason", "ATE", "p-value", "children per LA per year",
                             "un-monetised benefit per LA per year (children)", "benefit per child (£)",
                             "discount rate", "years", "PV benefit per LA (£)", "PV cost per LA (£)",
                             "benefit-cost ratio", "NPSV per LA (£)"],
                "value": [self.computed, self.reason, self.ate, self.p_value, self.children_per_la_year,
                          self.unmonetised_per_la_year, self.benefit_per_child, self.discount_rate,
                          self.years, self.pv_benefit_per_la, self.pv_cost_per_la, self.bcr,
                          self.npsv_per_la],
            }
        )


def cba(
    *,
    ate: float,
    p_value: float,
    children_per_la_year: float,
    benefit_per_child: float | None,
    years: int = 6,
    discount_rate: float = 0.035,
    costs_per_la: Sequence[float] | None = None,
    alpha: float = 0.05,
    benefit_sign: float = -1.0,
) -> CBAResult:
    """The protocol's cost–benefit calculation.

    Parameters
    ----------
    ate
        The primary analysis's effect on the probability of becoming looked after.
    p_value
        Its p-value: benefits are computed only when ``p_value < alpha``.
    children_per_la_year
        Average number of children in the sample per LA per year.
    benefit_per_child
        £ saved per child who does not enter care (None: benefits are not monetised).
    years
        Years of benefits, ``i = 0 .. years-1`` (the protocol's sum runs over i = 0..5).
    discount_rate
        Annual discount rate.
    costs_per_la
        Programme cost per LA for each year (base-year prices), discounted like the benefits.
    alpha
        Significance level.
    benefit_sign
        -1 when a reduction in the outcome is the benefit (becoming looked after).
    """
    if years < 1:
        raise FvdidInputError(f"years must be at least 1, got {years}")
    if discount_rate < 0:
        raise FvdidInputError(f"discount_rate must be non-negative, got {discount_rate}")
    if children_per_la_year <= 0:
        raise FvdidInputError(f"children_per_la_year must be positive, got {children_per_la_year}")
    if costs_per_la is not None and len(costs_per_la) != years:
        raise FvdidInputError(f"costs_per_la needs one cost per year ({years}), got {len(costs_per_la)}")
    unmon = benefit_sign * ate * children_per_la_year
    df = 1.0 / (1.0 + discount_rate) ** np.arange(years)
    nan = float("nan")
    by_year = pd.DataFrame({"year": np.arange(years), "discount_factor": df})
    if not (p_value < alpha):
        return CBAResult(False, f"effect not statistically significant (p = {p_value:.3g} >= {alpha})",
                         ate, p_value, children_per_la_year, unmon, benefit_per_child, discount_rate,
                         years, nan, nan, nan, nan, by_year)
    if benefit_per_child is None:
        return CBAResult(False, "no benefit per child given (cba_benefit_per_child): benefits not monetised",
                         ate, p_value, children_per_la_year, unmon, None, discount_rate, years,
                         nan, nan, nan, nan, by_year)
    by_year["benefit"] = unmon * benefit_per_child * df
    pv_b = float(by_year["benefit"].sum())
    pv_c, bcr, npsv = nan, nan, nan
    if costs_per_la is not None:
        by_year["cost"] = np.asarray(costs_per_la, dtype=float) * df
        pv_c = float(by_year["cost"].sum())
        bcr = pv_b / pv_c if pv_c > 0 else nan
        npsv = pv_b - pv_c
    return CBAResult(True, "", ate, p_value, children_per_la_year, unmon, benefit_per_child,
                     discount_rate, years, pv_b, pv_c, bcr, npsv, by_year)


def cost_benefit(analytic: pd.DataFrame, estimate: float, p_value: float, cfg: Any) -> CBAResult:
    """The protocol's cost-benefit sums for the primary effect (per treatment LA and year)."""
    from fvdid.stages.power import matched_sample

    d = matched_sample(analytic)
    years = max(d["financial_year"].nunique(), 1)
    treated = d[d["treated_la"].astype(bool)]
    per_la_year = len(treated) / max(treated["la_code"].nunique(), 1) / years
    return cba(ate=estimate, p_value=p_value, children_per_la_year=per_la_year,
               benefit_per_child=cfg.cba_benefit_per_child, years=cfg.cba_years,
               discount_rate=cfg.cba_discount_rate, costs_per_la=cfg.cba_costs_per_la, alpha=cfg.alpha)


def cost_benefit_section(c: CBAResult) -> Section:
    """The appendix section of the cost-benefit analysis."""
    return Section(
        "Cost-benefit analysis",
        ("Un-monetised benefit per LA = ATE × children in the sample per treatment LA per year; "
         "monetised with the benefit per child not entering care and a discount factor per year; "
         "computed only when the primary effect is statistically significant."
         + (f" Not computed: {c.reason}." if not c.computed else ""),),
        (AppendixTable("cba", "Cost-benefit analysis", c.tidy().assign(value=lambda t: t["value"].map(
            lambda v: f"{v:,.4g}" if isinstance(v, float) else str(v)))),),
    )
