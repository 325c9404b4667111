"""Parity cases of the "cem" family: fvdid.cem / fvdid.l1_imbalance against R cem 1.1.31.

Rows are labelled by the ``id`` column (or, for the LaLonde files that have none, by the row
number in the file, 1-based) on both sides. Strata are compared as a partition: ``strata`` is each
row's stratum renumbered 1, 2, ... in order of first appearance along the sorted row labels
(:func:`fvdid.cem.canonical_strata`; ``fv_cem_canonical`` in ``r_reference/cem.R``), so equal
values mean an identical partition whatever ids either side uses. L1 is computed on the raw
covariates with cem's default L1 breaks (Scott + ``pretty``), before matching and with the CEM
weights after it.

k2k cases: cem's default k2k (``method = NULL``) keeps units chosen by R's random numbers, which
fvdid cannot reproduce; they compare the strata, the sample-size table, the number of units kept
per stratum and group (``k2k_kept``, always ``min(n_T, n_C)``) and the L1 before matching.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fvdid.cem import canonical_strata, cem
from fvdid.imbalance import l1_imbalance
from parity import Case, Quantity, Tol, label_str

__all__ = ["CASES"]


def _fvdid_cem(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    ids = data[args["id"]].to_numpy() if args.get("id") else np.arange(1, len(data) + 1)
    d = data.set_axis(pd.Index([label_str(i) for i in ids]), axis=0)
    order_key = pd.Series(ids, index=d.index)
    treat = args["treatment"]
    covs = list(args["covariates"])
    res = cem(
        d,
        treat,
        covariates=covs,
        cutpoints=args.get("cutpoints") or None,
        grouping=args.get("grouping") or None,
        k2k=bool(args.get("k2k", False)),
        baseline=int(args.get("baseline", 1)),
        seed=args.get("seed"),
    )
    # canonical ids along the sorted *original* labels (numbers sort as numbers, as in R)
    canon = canonical_strata(pd.Series(res.strata.to_numpy(), index=order_key.to_numpy()))
    strata = pd.Series(canon.to_numpy(), index=d.index)
    counts = {
        f"{row}:{col}": float(res.counts.loc[row, col])
        for col in res.counts.columns
        for row in res.counts.index
    }
    breaks = {
        f"{col}:{i + 1}": b
        for col, br in res.breaks.items()
        if br is not None
        for i, b in enumerate(br)
    }
    before = l1_imbalance(d, treat, covs)
    out: dict[str, Quantity] = {
        "strata": strata.astype(float),
        "counts": counts,
        "n_strata": res.n_strata,
        "n_matched_strata": res.n_matched_strata,
        "breaks": breaks,
    }
    if res.k2k:
        m = res.matched.to_numpy()
        kept = pd.crosstab(strata[m], d[treat][m]).reindex(columns=[0, 1], fill_value=0)
        out["k2k_kept"] = {
            f"{s}:G{g}": float(kept.loc[s, g]) for g in (0, 1) for s in kept.index
        }
        out["l1"] = {"before": before.l1}
        out["lcs"] = {"before": before.lcs}
    else:
        after = l1_imbalance(d, treat, covs, weights=res.weights)
        out["matched"] = res.matched.astype(float)
        out["weights"] = res.weights
        out["l1"] = {"before": before.l1, "after": after.l1}
        out["lcs"] = {"before": before.lcs, "after": after.lcs}
    return out


_TOL = {
    "strata": Tol.exact("the partition of the units into coarsened cells must be identical"),
    "matched": Tol.exact("which units are matched follows from the partition: no arithmetic"),
    "counts": Tol.exact("sample sizes (All/Matched/Unmatched by group) are counts"),
    "n_strata": Tol.exact("number of coarsened cells: a count"),
    "n_matched_strata": Tol.exact("number of cells holding both groups: a count"),
    "k2k_kept": Tol.exact("k2k keeps min(n_T, n_C) units of each group per stratum: counts"),
    "weights": Tol(
        1e-12,
        "closed form (m_T^s/m_C^s)*(M_C/M_T) from integer counts: at most a few ulps of rounding",
    ),
    "breaks": Tol(
        1e-12,
        "cutpoints from R's seq(min, max, length = k) reproduced operation by operation; the "
        "number k (Sturges/Scott/FD/SS) is an integer and must agree for the values to agree",
    ),
    "l1": Tol(
        1e-12,
        "sums of normalised weights over cells: only the summation order (and R's long-double "
        "accumulator) differs",
    ),
    "lcs": Tol(1e-12, "100 * (cells with both groups) / (non-empty cells): a ratio of counts"),
}

_LL = [
    "age", "education", "black", "married", "nodegree", "re74", "re75", "hispanic", "u74", "u75",
]
_CHILD = [
    "gender", "age_at_referral", "ethnicity_major", "disabled", "fsm", "uasc", "prior_cpp",
]
_MIXED = ["x1", "x2", "x3", "x4", "x5", "x6", "cat"]


def _case(name: str, dataset: str, args: dict[str, Any], description: str) -> Case:
    base: dict[str, Any] = {"treatment": "treated", "id": None}
    return Case(
        name=name,
        family="cem",
        dataset=dataset,
        args={**base, **args},
        fvdid=_fvdid_cem,
        tolerances=_TOL,
        key="row label (id column or file row number); stratum:group; status:group",
        r_packages=("cem",),
        description=description,
    )


CASES = [
    _case(
        "cem_ll_default",
        "shared:cem__LL.csv",
        {"covariates": _LL},
        "LaLonde (cem's LL) as in the cem vignette: every covariate but re78, Sturges' rule",
    ),
    _case(
        "cem_ll_baseline0",
        "shared:cem__LL.csv",
        {"covariates": _LL, "baseline": 0},
        "LL with the controls as baseline group (weights on the treated units)",
    ),
    _case(
        "cem_llvspsid_default",
        "shared:cem__LLvsPSID.csv",
        {"covariates": _LL},
        "LaLonde treated vs the PSID controls (2,787 units, large control reservoir), Sturges",
    ),
    _case(
        "cem_ll_rules",
        "shared:cem__LL.csv",
        {
            "covariates": _LL,
            "cutpoints": {"age": "scott", "education": "fd", "re74": "ss", "re75": 8},
        },
        "LL with Scott (age), Freedman-Diaconis (education), Shimazaki-Shinomoto (re74) and 8 "
        "equally spaced cutpoints (re75); Sturges elsewhere",
    ),
    _case(
        "cem_dw_explicit",
        "shared:cem__DW.csv",
        {
            "covariates": _LL,
            "cutpoints": {
                "age": [17, 20.5, 25, 30, 35, 45, 55],
                "education": [3, 8, 11, 12, 16],
                "re74": [0, 0.5, 5000, 10000, 40000],
                "re75": [0, 0.5, 3000, 8000, 26000],
            },
        },
        "Dehejia-Wahba sample with explicit cutpoints (zero earnings in a cell of their own)",
    ),
    _case(
        "cem_lelonde_missing",
        "shared:cem__LeLonde.csv",
        {"covariates": [*_LL, "q1"]},
        "LeLonde: LL with missing values in every covariate and a 6-level factor q1 with NA; "
        "missing values form their own level, Sturges counts them",
    ),
    _case(
        "cem_lelonde_grouping",
        "shared:cem__LeLonde.csv",
        {
            "covariates": [*_LL, "q1"],
            "grouping": {
                "q1": [
                    ["strongly agree", "agree"],
                    ["neutral", "no opinion", None],
                    ["strongly disagree", "disagree"],
                ],
                "education": [[3, 4, 5, 6, 7, 8], [9, 10, 11], [13, 14, 15, 16]],
            },
            "cutpoints": {"education": 3, "age": [17, 25, 35, 55]},
        },
        "LeLonde with grouping (q1 in three groups, NA merged with neutral; education grouped, "
        "12 and missing left as their own levels, its cutpoints overridden) and explicit age cuts",
    ),
    _case(
        "cem_dw_k2k",
        "shared:cem__DW.csv",
        {"covariates": _LL, "k2k": True, "seed": 1},
        "DW with k2k (cem's default random k-to-k): strata, counts and kept units per stratum",
    ),
    _case(
        "cem_children_protocol",
        "fixtures:cem/children.csv",
        {
            "id": "id",
            "covariates": _CHILD,
            "cutpoints": {"age_at_referral": [0, 3, 12, 17]},
            "grouping": {"gender": [[0], [1], [2], [3]]},
        },
        "Simulated children with the protocol's coarsening: age 0-3 / 4-12 / 13+, gender's four "
        "codes (4 = missing stays a level of its own), ethnicity (NA level), binary flags, prior "
        "CPP with missing values",
    ),
    _case(
        "cem_children_k2k",
        "fixtures:cem/children.csv",
        {
            "id": "id",
            "covariates": _CHILD,
            "cutpoints": {"age_at_referral": [0, 3, 12, 17]},
            "grouping": {"gender": [[0], [1], [2], [3]]},
            "k2k": True,
            "seed": 7,
        },
        "The protocol coarsening with k2k",
    ),
    _case(
        "cem_mixed_auto",
        "fixtures:cem/mixed.csv",
        {
            "id": "id",
            "covariates": _MIXED,
            "cutpoints": {"x1": "scott", "x2": "fd", "x3": "ss", "x4": 5, "x6": 4},
        },
        "Automatic coarsening on continuous, zero-inflated and count data (Scott, FD, SS, 5 and 4 "
        "cutpoints), Sturges with missing values (x5), a string column",
    ),
    _case(
        "cem_mixed_sturges",
        "fixtures:cem/mixed.csv",
        {"id": "id", "covariates": ["x1", "x3", "x5", "cat"]},
        "Default Sturges on the mixed data with missing values in x5",
    ),
]
