"""fvdid: the matched difference-in-differences evaluation of Family Valued, with R parity.

One estimator per module, each a public function returning a frozen result:

========================  ==========================================  ==========================
function                  what                                        R reference
========================  ==========================================  ==========================
``simulate``              SRS-like synthetic extract                  —
``ols``                   OLS, absorbed FE, iid/HC1/CR1/CR2           lm + sandwich/clubSandwich
``random_effects``        FGLS random effects (Swamy–Arora)           plm
``logit`` / ``clogit``    logit (clustered), conditional logit        glm, survival::clogit
``tobit`` / ``hurdle``    censored and hurdle count models            AER::tobit, pscl::hurdle
``lmer``                  random-intercept LMM (REML)                 lme4::lmer
``hochberg`` / ``rubin``  multiplicity, multiple-imputation pooling   p.adjust, mice::pool
``cem``                   coarsened exact matching                    cem::cem
``l1_imbalance``          multivariate L1 imbalance                   cem::imbalance
``att_gt`` / ``aggte``    Callaway–Sant'Anna                          did (+ DRDID)
``bacon``                 Goodman-Bacon decomposition                 bacondecomp
``boottest``              wild cluster bootstrap                      fwildclusterboot
``randomization_test``    LA-level randomization inference (+ FP)     —
``conley_taber``          Conley–Taber few-treated-groups interval    —
``cluster_diagnostics``   G*, cluster (partial) leverage              summclust
``match_las``             LA matching on pre-period trends            —
``mdes`` / ``cba``        MDES of the clustered design; CBA sums      —
``run``                   the main job (simulate/load → appendix)     —
``montecarlo``            Monte Carlo study of the analysis (dask)    —
========================  ==========================================  ==========================

``fvdid.ols`` and its siblings are the functions; the modules of the same name hold the result
classes and helpers (``from fvdid.estimators.ols import OLSResult``).
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib as _importlib
import sys as _sys

from fvdid.errors import FvdidInputError
from fvdid.estimators.aggte import AggteResult, aggte
from fvdid.estimators.att_gt import AttGtResult, att_gt
from fvdid.estimators.bacon import BaconResult, bacon, bacon_plot
from fvdid.estimators.boottest import BoottestResult, boottest
from fvdid.estimators.cem import CEMResult, cem
from fvdid.estimators.clogit import ClogitResult, clogit
from fvdid.estimators.cluster_diagnostics import ClusterDiagnosticsResult, cluster_diagnostics
from fvdid.estimators.conley_taber import ConleyTaberResult, conley_taber
from fvdid.estimators.hochberg import hochberg
from fvdid.estimators.hurdle import HurdleResult, hurdle
from fvdid.estimators.imbalance import ImbalanceResult, l1_imbalance
from fvdid.estimators.lmer import LmerResult, lmer
from fvdid.estimators.logit import LogitResult, logit
from fvdid.estimators.match_las import LAMatchResult, match_las
from fvdid.estimators.ols import OLSResult, ols
from fvdid.estimators.placebo import PlaceboResult, placebo_tests
from fvdid.estimators.random_effects import RandomEffectsResult, random_effects
from fvdid.estimators.randomization import RandomizationResult, randomization_test
from fvdid.estimators.rubin import RubinResult, rubin
from fvdid.estimators.tobit import TobitResult, tobit
from fvdid.montecarlo.study import MonteCarloResult, montecarlo
from fvdid.pipeline import RunResult, run
from fvdid.reporting.trend_plot import trend_plot
from fvdid.simulation import SimConfig, SimulatedData, simulate
from fvdid.stages.cost_benefit import CBAResult, cba
from fvdid.stages.power import MDESResult, mdes

__all__ = [
    "AggteResult",
    "AttGtResult",
    "BaconResult",
    "BoottestResult",
    "CBAResult",
    "CEMResult",
    "ClogitResult",
    "ClusterDiagnosticsResult",
    "ConleyTaberResult",
    "FvdidInputError",
    "HurdleResult",
    "ImbalanceResult",
    "LAMatchResult",
    "LmerResult",
    "LogitResult",
    "MDESResult",
    "MonteCarloResult",
    "OLSResult",
    "PlaceboResult",
    "RandomEffectsResult",
    "RandomizationResult",
    "RubinResult",
    "RunResult",
    "SimConfig",
    "SimulatedData",
    "TobitResult",
    "__version__",
    "aggte",
    "att_gt",
    "bacon",
    "bacon_plot",
    "boottest",
    "cba",
    "cem",
    "clogit",
    "cluster_diagnostics",
    "conley_taber",
    "hochberg",
    "hurdle",
    "l1_imbalance",
    "lmer",
    "logit",
    "match_las",
    "mdes",
    "montecarlo",
    "ols",
    "placebo_tests",
    "random_effects",
    "randomization_test",
    "rubin",
    "run",
    "simulate",
    "tobit",
    "trend_plot",
]

#: Short module paths kept importable (``from fvdid.ols import OLSResult``): alias -> module.
_MODULE_ALIASES = {
    **{f"fvdid.{m}": f"fvdid.estimators.{m}" for m in (
        "_drdid", "_formula", "_sandwich", "aggte", "att_gt", "bacon", "boottest", "cem", "clogit",
        "cluster_diagnostics", "conley_taber", "hochberg", "hurdle", "imbalance", "lmer", "logit",
        "match_las", "ols", "random_effects", "randomization", "rubin", "tobit")},
    "fvdid.mdes": "fvdid.stages.power",
    "fvdid.cba": "fvdid.stages.cost_benefit",
    "fvdid.sdc": "fvdid.reporting.sdc",
    "fvdid.simulate": "fvdid.simulation",
    "fvdid.stages.appendix": "fvdid.reporting.appendix",
}

for _alias, _target in _MODULE_ALIASES.items():
    _sys.modules.setdefault(_alias, _importlib.import_module(_target))
del _alias, _target
