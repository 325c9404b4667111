"""Parity cases of fvdid.random_effects against plm (r_reference/random_effects.R)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fvdid.random_effects import random_effects
from parity import Case, Quantity, Tol

BAL = "fixtures:regression/re_balanced.csv"
UNBAL = "fixtures:regression/re_unbalanced.csv"
PANEL = "fixtures:regression/panel_twfe.csv"


def _fvdid_re(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    fit = random_effects(
        args["formula"], data, unit=args["unit"], time=args.get("time"), vcov=args["vcov"]
    )
    return {
        "coef": fit.params,
        "se": fit.std_errors,
        "pvalue": fit.pvalues,
        "theta": fit.theta,
        "sigma2_idios": fit.sigma2_idios,
        "sigma2_unit": fit.sigma2_unit,
        "nobs": fit.nobs,
        "n_dropped": fit.n_dropped,
    }


# Swamy-Arora FGLS is a closed form: two least-squares fits (within, between), the variance
# components from their quadratic forms, and one GLS fit on quasi-demeaned data. fvdid and plm
# agree to <= 1e-14 on every case (worst: re_swar_balanced_timefe coefficients), which is the
# 15 significant digits R writes into the golden file plus summation order. 1e-12 leaves a
# 100x margin for other BLAS builds, and is still ~1e9 below the error of a wrong degrees-of-
# freedom count (1e-2 on the time-dummy case before the rank fix).
_FGLS = (
    "closed-form FGLS (within + between least squares, GLS); observed <= 1e-14, i.e. the "
    "golden file's 15 significant digits and summation order; 100x margin"
)
_TOLS = {
    "coef": Tol(1e-12, _FGLS),
    "se": Tol(1e-12, _FGLS),
    "pvalue": Tol(1e-12, "t tail probability of the statistics above (n-k df), as smooth"),
    "theta": Tol(1e-12, _FGLS),
    "sigma2_idios": Tol(1e-12, _FGLS),
    "sigma2_unit": Tol(1e-12, _FGLS),
    "nobs": Tol.exact("row counts are integers"),
    "n_dropped": Tol.exact("row counts are integers"),
}


def _case(name: str, dataset: str, description: str, **args: Any) -> Case:
    return Case(
        name=name,
        family="random_effects",
        dataset=dataset,
        args=args,
        fvdid=_fvdid_re,
        key="term / unit",
        tolerances=_TOLS,
        r_packages=("plm",),
        description=description,
    )


CASES = [
    _case(
        "re_swar_balanced", BAL, "Swamy-Arora RE, balanced panel, time-invariant z",
        formula="y ~ x1 + x2 + z", unit="id", time="t", vcov="iid",
    ),
    _case(
        "re_swar_unbalanced", UNBAL, "Swamy-Arora RE, unbalanced panel (plm's dfcor = 3 variant)",
        formula="y ~ x1 + x2 + z", unit="id", time="t", vcov="iid",
    ),
    _case(
        "re_swar_balanced_cr1", BAL, "balanced RE, vcovHC(arellano, sss, cluster = group)",
        formula="y ~ x1 + x2 + z", unit="id", time="t", vcov="CR1",
    ),
    _case(
        "re_swar_unbalanced_cr1", UNBAL, "unbalanced RE, vcovHC(arellano, sss, cluster = group)",
        formula="y ~ x1 + x2 + z", unit="id", time="t", vcov="CR1",
    ),
    _case(
        "re_swar_balanced_timefe", BAL,
        "balanced RE with time dummies: their unit means are constant, so the between "
        "regression is rank deficient (plm takes its df from the rank)",
        formula="y ~ x1 + x2 + z + C(t)", unit="id", time="t", vcov="iid",
    ),
    _case(
        "re_swar_panel_cat", PANEL,
        "unbalanced RE with C() dummies and missing x2 rows dropped, clustered",
        formula="y ~ treat + x1 + x2 + C(cat)", unit="unit", time="time", vcov="CR1",
    ),
]
