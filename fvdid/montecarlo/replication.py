"""Replications: one simulated dataset analysed, returned as one row per outcome × estimator × method.

A replication is any picklable callable ``replicate(seed, scenario, design) -> DataFrame`` whose
frame has the columns :data:`RECORD_COLUMNS`. Two ship here:

:class:`AnalysisReplication`
    the study's own: ``fvdid.simulate`` under the scenario, the extract built as
    :func:`fvdid.pipeline.simulated_extract` builds it, then the lean analysis path
    ``fvdid.pipeline.analyse(extract, config).records()``.
:class:`TextbookReplication`
    OLS of ``y = a + b x + e`` on ``n`` normal observations with known ``b``: its t interval
    covers exactly 95 % and its t test has size exactly 5 %; the normal ("z") interval under-covers
    by a known amount. The engine's known-answer check, and a cheap replication for tests and the
    benchmark.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from fvdid.errors import FvdidInputError
from fvdid.montecarlo.design import Design, EffectScenario

__all__ = ["RECORD_COLUMNS", "AnalysisReplication", "TextbookReplication", "check_records"]

RECORD_COLUMNS = ("outcome", "estimator", "method", "estimate", "std_error", "conf_low",
                  "conf_high", "p_value", "truth")
"""Columns a replication returns (the engine adds ``replication``, ``effect``, ``effect_value``)."""


#: Optional columns kept when a replication returns them: the true effect among all FV children
#: (before CEM) and the model the protocol's rule made the headline.
EXTRA_COLUMNS = ("truth_all_fv", "headline_model")


def check_records(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check a replication's frame: every column of :data:`RECORD_COLUMNS`, no duplicate rows."""
    if not isinstance(frame, pd.DataFrame):
        raise FvdidInputError(f"{where}: a replication must return a DataFrame, got {type(frame).__name__}")
    missing = [c for c in RECORD_COLUMNS if c not in frame.columns]
    if missing:
        raise FvdidInputError(f"{where}: replication rows lack column(s) {missing}; expected {list(RECORD_COLUMNS)}")
    key = ["outcome", "estimator", "method"]
    dup = frame.duplicated(key, keep=False)
    if dup.any():
        raise FvdidInputError(
            f"{where}: replication rows repeat outcome × estimator × method: "
            f"{frame.loc[dup, key].drop_duplicates().to_dict('records')[:5]}"
        )
    extra = [c for c in EXTRA_COLUMNS if c in frame.columns]
    out = frame.loc[:, [*RECORD_COLUMNS, *extra]].copy()
    for c in key:
        out[c] = out[c].astype(str)
    for c in [*RECORD_COLUMNS[3:], *(c for c in extra if c != "headline_model")]:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class TextbookReplication:
    """OLS slope of ``y = 1 + b x + e``, ``x, e ~ N(0, 1)`` i.i.d., ``n`` observations.

    ``b`` is 0 under ``null``, ``slope`` under ``design`` and the grid value otherwise. Methods:
    ``t`` (interval and test on t(n − 2): exact) and ``z`` (normal quantiles: too narrow).
    """

    n: int = 30
    slope: float = 0.5
    alpha: float = 0.05

    def true_slope(self, scenario: EffectScenario) -> float:
        if scenario.kind == "null":
            return 0.0
        return self.slope if scenario.kind == "design" else float(scenario.value)

    def __call__(self, seed: int, scenario: EffectScenario, design: Design) -> pd.DataFrame:
        b = self.true_slope(scenario)
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(self.n)
        y = 1.0 + b * x + rng.standard_normal(self.n)
        xc = x - x.mean()
        bhat = float(xc @ (y - y.mean()) / (xc @ xc))
        resid = y - y.mean() - bhat * xc
        se = float(np.sqrt(resid @ resid / (self.n - 2) / (xc @ xc)))
        rows = []
        for method, dist in (("t", stats.t(self.n - 2)), ("z", stats.norm())):
            q = float(dist.ppf(1 - self.alpha / 2))
            rows.append({"outcome": "y", "estimator": "headline", "method": method,
                         "estimate": bhat, "std_error": se, "conf_low": bhat - q * se,
                         "conf_high": bhat + q * se,
                         "p_value": float(2 * dist.sf(abs(bhat / se))), "truth": b})
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class AnalysisReplication:
    """Simulate the design under the scenario and run the lean analysis path.

    ``run_options`` are :class:`fvdid.config.RunConfig` options (for example ``boot_B``); the
    replication's seed seeds both the simulator and the analysis (imputations, bootstrap).
    ``secondary`` and ``sensitivity`` are ``analyse``'s switches: ``False`` studies the primary
    outcome alone (every inference method), the issue's timed default study; ``robustness``
    ``False`` also leaves out the robustness models (FGLS random effects, tobit, hurdle, LMM);
    ``checks`` ``False`` leaves out the primary's specification checks (the protocol-literal
    pooled specification, ``pooled_la_fy``, and the logit with the other period terms,
    ``logit_ame_pair_time``), which are not inference methods of the headline.
    """

    run_options: tuple[tuple[str, object], ...] = ()
    secondary: bool = True
    sensitivity: bool = True
    robustness: bool = True
    checks: bool = True

    def __repr__(self) -> str:
        # study.json identifies a study by this text: ``checks`` appears only when it is off, so
        # a study begun before the switch existed (every check on) resumes as the same study
        shown = [f"{f}={getattr(self, f)!r}" for f in ("run_options", "secondary", "sensitivity",
                                                        "robustness")]
        if not self.checks:
            shown.append("checks=False")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __call__(self, seed: int, scenario: EffectScenario, design: Design) -> pd.DataFrame:
        from fvdid import pipeline
        from fvdid._memory import tune_malloc
        from fvdid.config import RunConfig
        from fvdid.io import Extract
        from fvdid.simulation import simulate

        tune_malloc()  # once per worker process: freed arrays reused, not faulted in again

        analyse = getattr(pipeline, "analyse", None)
        if analyse is None:
            raise FvdidInputError(
                "fvdid.pipeline.analyse (the lean analysis path) is not available in this "
                "version; pass replicate=TextbookReplication() or another replication callable"
            )
        sim = simulate(seed=seed, n_children=int(design.n_children), config=scenario.config(design))
        cfg = RunConfig.from_mapping({"seed": int(seed), "n_children": int(design.n_children),
                                      "progress": False, "parity_in_appendix": False,
                                      **dict(self.run_options)})
        params = inspect.signature(pipeline.simulated_extract).parameters
        if "input_hash" in params:  # no sha256 of an extract that is never published
            ex = pipeline.simulated_extract(cfg, sim=sim, input_hash=False)[0]
        elif "sim" in params:
            ex = pipeline.simulated_extract(cfg, sim=sim)[0]
        else:  # the extract exactly as simulated_extract builds it, from this scenario's sim
            ex = Extract(children=sim.children, las=sim.las, la_quarter=sim.la_quarter,
                         absence_terms=getattr(sim, "absence_terms", None),
                         source=f"fvdid.simulate(seed={seed}, n_children={design.n_children})",
                         input_hash="")
        switches = {k: v for k, v in (("secondary", self.secondary),
                                      ("sensitivity", self.sensitivity),
                                      ("robustness", self.robustness),
                                      ("checks", self.checks),
                                      ("workers", 1))  # the study's workers are the parallelism
                    if k in inspect.signature(analyse).parameters}
        return analyse(ex, cfg, **switches).records()
