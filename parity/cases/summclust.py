"""Parity cases of fvdid.cluster_diagnostics against summclust::summclust() (r_reference/summclust.R).

summclust 0.7.2 defines the leverage of cluster ``g`` as ``tr(X_g'X_g (X'X)^{-1})`` on
``sqrt(w) X`` and the partial leverage of a coefficient from the residual of its column on the
other regressors. fvdid works on the design after absorbing the fixed effects, so the cases are
the two settings where the two designs span the same space: ``lm`` without fixed effects (the
year effects as ``C(year)`` / ``factor(year)`` regressors) and ``feols`` with the cluster
variable as fixed effect (summclust projects it out, ``absorb_cluster_fixef = TRUE``; fvdid
absorbs it, ``| la``) and the year effects entered as regressors on both sides. Leverage and
partial leverage are invariant to the basis of the other regressors, so the different dummy
codings do not matter. summclust does not compute G*: it has no R reference.

The R packages live outside the default library on this machine; record with
``R_LIBS=/opt/rlib``. The live test is skipped where summclust or fixest is absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fvdid import cluster_diagnostics, ols
from parity import Case, Quantity, Tol

TWFE = "fixtures:boottest/twfe_panel.csv"
FEW = "fixtures:boottest/few_clusters.csv"


def _fvdid(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    fit = ols(args["formula"], data, weights=args.get("weights"), vcov="CR1",
              cluster=args["cluster"])
    res = cluster_diagnostics(fit, args["param"], args["cluster"], data=data)
    return {
        "leverage": res.leverage,
        "partial_leverage": res.partial_leverage,
        "n_clusters": res.n_clusters,
    }


_TOLS = {
    "leverage": Tol(
        1e-10,
        "closed form: traces of the cluster blocks of the hat matrix (R: ginv of X'X on the "
        "dummy design; fvdid: pinv on the within design, FWL); rounding of O(k^2) products",
    ),
    "partial_leverage": Tol(
        1e-10,
        "closed form: shares of the squared residual of the column on the others; rounding",
    ),
    "n_clusters": Tol.exact("the number of clusters is an integer count"),
}


def _case(name: str, dataset: str, description: str, packages: tuple[str, ...],
          **args: Any) -> Case:
    full = {"weights": None, **args}
    return Case(
        name=name,
        family="summclust",
        dataset=dataset,
        args=full,
        fvdid=_fvdid,
        key="cluster",
        tolerances=_TOLS,
        r_packages=packages,
        description=description,
    )


CASES = [
    _case(
        "summclust_lm_twfe",
        TWFE,
        "lm with year dummies, 10 LA clusters (4 treated): leverage and partial leverage of fv",
        ("summclust",),
        engine="lm",
        formula="y ~ fv + x + age + C(year)",
        formula_r="y ~ fv + x + age + factor(year)",
        cluster="la",
        param="fv",
    ),
    _case(
        "summclust_feols_cluster_fe",
        TWFE,
        "feols with LA fixed effects (= clusters, projected out) and year effects as regressors",
        ("summclust", "fixest"),
        engine="feols",
        formula="y ~ fv + x + age + C(year) | la",
        formula_r="y ~ fv + x + age | la + year",
        cluster="la",
        param="fv",
    ),
    _case(
        "summclust_lm_weighted",
        FEW,
        "weighted lm (CEM-like weights, zero weights dropped), 8 state clusters, param treat",
        ("summclust",),
        engine="lm",
        formula="y ~ treat + x + female",
        formula_r="y ~ treat + x + female",
        cluster="state",
        param="treat",
        weights="w",
    ),
]
