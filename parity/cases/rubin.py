"""Parity cases of fvdid.rubin against mice::pool (r_reference/rubin.R)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fvdid.ols import ols
from fvdid.rubin import rubin
from parity import Case, Quantity, Tol

MI = "fixtures:regression/mi_long.csv"


def _fvdid_rubin(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    fits = [ols(args["formula"], g) for _, g in data.groupby(".imp", sort=True)]
    res = rubin(fits, dfcom=args.get("dfcom"))
    return {
        "qbar": res.params,
        "ubar": res.ubar,
        "b": res.b,
        "t": res.t,
        "riv": res.riv,
        "lambda": res.lambda_,
        "fmi": res.fmi,
        "df": res.df,
        "dfcom": res.dfcom,
        "m": res.m,
    }


_CF = "closed form: means, variances and ratios of m = 5 lm estimates (QR least squares)"
_TOLS = {
    "qbar": Tol(1e-10, _CF),
    "ubar": Tol(1e-10, _CF),
    "b": Tol(1e-10, _CF),
    "t": Tol(1e-10, _CF),
    "riv": Tol(1e-9, _CF + "; ratio b/ubar amplifies rounding of a small b"),
    "lambda": Tol(1e-9, _CF + "; ratio b/t"),
    "fmi": Tol(1e-9, _CF + "; built from riv and df"),
    "df": Tol(
        0.0, "Barnard-Rubin df ~ (m-1)/lambda^2 is large when lambda is small, so relative",
        rtol=1e-8,
    ),
    "dfcom": Tol.exact("residual df of the first fit: an integer"),
    "m": Tol.exact("number of imputations"),
}


def _case(name: str, description: str, **args: Any) -> Case:
    return Case(
        name=name,
        family="rubin",
        dataset=MI,
        args=args,
        fvdid=_fvdid_rubin,
        key="term",
        tolerances=_TOLS,
        r_packages=("mice",),
        description=description,
    )


CASES = [
    _case("rubin_m5_lm", "m = 5 lm fits, dfcom from the first fit", formula="y ~ x1 + x2 + g"),
    _case(
        "rubin_m5_factor",
        "m = 5 lm fits with a factor and an interaction",
        formula="y ~ x1 + x2 + C(g) + x1:x2",
    ),
    _case(
        "rubin_m5_dfcom",
        "m = 5, complete-data df given explicitly (pool(dfcom = 40))",
        formula="y ~ x1 + x2",
        dfcom=40,
    ),
]
