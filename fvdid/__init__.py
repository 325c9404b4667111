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
``match_las``             LA matching on pre-period trends            —
``mdes`` / ``cba``        MDES of the clustered design; CBA sums      —
``run``                   the main job (simulate/load → appendix)     —
========================  ==========================================  ==========================

``fvdid.ols`` and its siblings are the functions; the modules of the same name hold the result
classes and helpers (``from fvdid.ols import OLSResult``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from fvdid.aggte import AggteResult, aggte
from fvdid.att_gt import AttGtResult, att_gt
from fvdid.bacon import BaconResult, bacon, bacon_plot
from fvdid.boottest import BoottestResult, boottest
from fvdid.cba import CBAResult, cba
from fvdid.cem import CEMResult, cem
from fvdid.clogit import ClogitResult, clogit
from fvdid.errors import FvdidInputError
from fvdid.hochberg import hochberg
from fvdid.hurdle import HurdleResult, hurdle
from fvdid.imbalance import ImbalanceResult, l1_imbalance
from fvdid.lmer import LmerResult, lmer
from fvdid.logit import LogitResult, logit
from fvdid.match_las import LAMatchResult, PlaceboResult, match_las, placebo_tests, trend_plot
from fvdid.mdes import MDESResult, mdes
from fvdid.ols import OLSResult, ols
from fvdid.pipeline import RunResult, run
from fvdid.random_effects import RandomEffectsResult, random_effects
from fvdid.rubin import RubinResult, rubin
from fvdid.simulate import SimConfig, SimulatedData, simulate
from fvdid.tobit import TobitResult, tobit

__all__ = [
    "AggteResult",
    "AttGtResult",
    "BaconResult",
    "BoottestResult",
    "CBAResult",
    "CEMResult",
    "ClogitResult",
    "FvdidInputError",
    "HurdleResult",
    "ImbalanceResult",
    "LAMatchResult",
    "LmerResult",
    "LogitResult",
    "MDESResult",
    "OLSResult",
    "PlaceboResult",
    "RandomEffectsResult",
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
    "hochberg",
    "hurdle",
    "l1_imbalance",
    "lmer",
    "logit",
    "match_las",
    "mdes",
    "ols",
    "placebo_tests",
    "random_effects",
    "rubin",
    "run",
    "simulate",
    "tobit",
    "trend_plot",
]
