"""Stage ``inference``: every inference method of the headline side by side, and which to trust.

Only five LAs are treated. Cluster-robust t tests, CR2 and the restricted wild cluster bootstrap
are all known to misbehave when few clusters are treated (MacKinnon & Webb 2017, 2018; Conley &
Taber 2011; Ferman & Pinto 2019). Which of them holds its size *on this design* is a question for
the Monte Carlo study (:mod:`fvdid.montecarlo`): given its summary, a method is marked
*recommended* when its rejection rate under the null lies within the Monte Carlo band of 5 %.
The decision is computed from the study, never hard-coded; without a study no method is marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError

if TYPE_CHECKING:
    from fvdid.pipeline import Analysis

__all__ = ["INFERENCE_ESTIMATORS", "InferenceTable", "inference_table", "load_size_table", "study_mdes"]

#: The estimators of the primary outcome whose inference is compared (records' ``estimator``).
INFERENCE_ESTIMATORS = ("headline", "linear_iw", "pooled_fv", "logit_ame", "logit_ame_pair_time", "pooled_la_fy",
                        "randomization", "conley_taber")

LABELS = {
    "CR1_tG-1": "CR1, t(G−1)",
    "CR1_cell_tG-1": "CR1 of the cell model, t(G−1)",
    "CR2_satterthwaite": "CR2 (Bell–McCaffrey), Satterthwaite df",
    "WCR_webb": "wild cluster bootstrap, restricted (WCR), Webb",
    "WCU_webb": "wild cluster bootstrap, unrestricted (WCU), Webb",
    "IM_pairs_tq-1": "pair-level t test (Ibragimov–Müller), t(q−1)",
    "IM_pairs_equal_tq-1": "pair-level t test of no effect, pairs weighted equally, t(q−1) "
                           "(estimate: unweighted mean of the pairs' effects)",
    "WSCB_webb": "wild subcluster bootstrap (LA × financial year), restricted, Webb",
    "RI_t_pairs": "randomization inference over placebo pairs, pair-level t",
    "CT_pairs": "Conley–Taber over placebo pairs (Ferman–Pinto)",
}


@dataclass(frozen=True)
class InferenceTable(ResultMixin):
    """The primary outcome's methods side by side, with the Monte Carlo verdict where known.

    Attributes
    ----------
    table
        One row per estimator × method: ``method`` (``"<estimator>/<method>"``), ``estimator``,
        ``inference``, estimate, std_error, p_value, conf_low, conf_high, ``mc_size`` and its
        ``mc_size_mcse`` (null rejection rate in the study), ``recommended``.
    sentence
        The recommendation in one plain sentence.
    warnings
        Methods the study finds mis-sized with this number of treated LAs.
    n_treated, n_null_reps
        Treated LAs in the analysis; null replications behind the verdict (0: no study).
    """

    table: pd.DataFrame
    sentence: str
    warnings: tuple[str, ...]
    n_treated: int
    n_null_reps: int

    def tidy(self) -> pd.DataFrame:
        return self.table

    def records(self) -> list[dict[str, Any]]:
        """``primary.inference`` of results.json: one record per method (public contract)."""
        cols = ["method", "estimator", "inference", "estimate", "std_error", "p_value", "conf_low",
                "conf_high", "mc_size", "mc_size_mcse", "recommended"]
        out = []
        for r in self.table[cols].to_dict(orient="records"):
            out.append({k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()})
        return out


def load_size_table(study: str | Path, alpha: float = 0.05) -> pd.DataFrame:
    """The study's 'which inference holds its size' table from ``study/summary.parquet``."""
    from fvdid.montecarlo.report import size_table

    path = Path(study) / "summary.parquet"
    if not path.exists():
        raise FvdidInputError(f"--montecarlo {Path(study).name}: no summary.parquet in that folder; "
                              "expected the output folder of `fvdid montecarlo`")
    return size_table(pd.read_parquet(path), alpha)


def study_mdes(study: str | Path, outcome: str, method: str = "IM_pairs_tq-1") -> float | None:
    """The study's simulation MDES of the headline (80 % power on its effect grid), or None.

    None when the study has no effect grid or the headline's ``method`` never reaches 80 %
    power on it; the appendix's MDES table then has no Monte Carlo row.
    """
    from fvdid.montecarlo.report import simulation_mdes

    path = Path(study) / "summary.parquet"
    if not path.exists():
        return None
    md = simulation_mdes(pd.read_parquet(path), outcome)
    hit = md[md["method"] == method]
    if hit.empty or not np.isfinite(hit["mdes"].iloc[0]):
        return None
    return float(hit["mdes"].iloc[0])


def inference_table(an: Analysis, size: pd.DataFrame | None = None) -> InferenceTable:
    """Every method of the primary outcome, marked recommended where the study finds its size right."""
    po = an.config.primary_outcome
    rec = an.records()
    rec = rec[(rec["outcome"] == po) & rec["estimator"].isin(INFERENCE_ESTIMATORS)].copy()
    rec["inference"] = rec["method"].map(LABELS).fillna(rec["method"])
    rec["method"] = rec["estimator"] + "/" + rec["method"]
    rec["mc_size"] = np.nan
    rec["mc_size_mcse"] = np.nan
    rec["recommended"] = False
    n_null = 0
    warnings: list[str] = []
    n_treated = len(an.treated)
    if size is not None:
        s = size[size["outcome"] == po].assign(key=lambda d: d["estimator"] + "/" + d["method"])
        s = s.set_index("key")
        hit = rec["method"].isin(s.index)
        rec.loc[hit, "mc_size"] = rec.loc[hit, "method"].map(s["rejection_rate"]).to_numpy()
        rec.loc[hit, "mc_size_mcse"] = rec.loc[hit, "method"].map(s["rejection_rate_mcse"]).to_numpy()
        rec.loc[hit, "recommended"] = rec.loc[hit, "method"].map(s["holds_size"]).astype(bool).to_numpy()
        n_null = int(s["n_reps"].max()) if len(s) else 0
        for key, r in s.iterrows():
            if key in set(rec["method"]) and not r["holds_size"] and bool(r.get("judged", True)):
                side = ("below the band (conservative)" if bool(r.get("conservative", False))
                        else "above the band (over-rejects)" if np.isfinite(r["rejection_rate"])
                        else "not measured, outside")
                warnings.append(f"{key}: null rejection rate {r['rejection_rate']:.3f} "
                                f"(MCSE {r['rejection_rate_mcse']:.3f}) {side} "
                                f"{r['band_low']:.3f}–{r['band_high']:.3f} with {n_treated} treated LAs")
    good = rec.loc[rec["recommended"], "method"].tolist()
    conservative: list[str] = []
    unjudged: list[str] = []
    if size is not None and "judged" in size:
        few = size.loc[(size["outcome"] == po) & ~size["judged"].astype(bool)]
        few_keys = dict(zip(few["estimator"] + "/" + few["method"], few["n_reps"], strict=True))
        unjudged = [f"{m} ({int(few_keys[m])} replications)" for m in rec["method"] if m in few_keys]
    if size is not None and "conservative" in size:
        cons = set(size.loc[(size["outcome"] == po) & size["conservative"].astype(bool)]
                   .pipe(lambda d: d["estimator"] + "/" + d["method"]))
        conservative = [m for m in rec["method"] if m in cons]
    if size is None:
        sentence = ("No Monte Carlo study was given (`fvdid run --montecarlo DIR`), so no method is "
                    "marked as recommended for this design.")
    elif good:
        sentence = (f"On this design, with {n_treated} treated LAs, the Monte Carlo study ({n_null} "
                    f"null replications) finds the size within its band of 5 % for {_join(good)}: "
                    "these are the recommended methods."
                    + (f" {_join(conservative)} reject less often than 5 % under the null "
                       "(conservative: valid, with less power)." if conservative else ""))
    else:
        sentence = (f"On this design, with {n_treated} treated LAs, the Monte Carlo study ({n_null} "
                    "null replications) finds no method whose size lies within its band of 5 %"
                    + (f"; {_join(conservative)} reject less often than 5 % (conservative: valid, "
                       "with less power), the others more often." if conservative else
                       ": no p-value below should be read at face value."))
    if unjudged:
        sentence += (f" Too few null replications to judge the size of {_join(unjudged)}: "
                     "not recommended on that evidence.")
    cols = ["method", "estimator", "inference", "estimate", "std_error", "conf_low", "conf_high",
            "p_value", "mc_size", "mc_size_mcse", "recommended"]
    return InferenceTable(rec[cols].reset_index(drop=True), sentence, tuple(warnings), n_treated, n_null)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
