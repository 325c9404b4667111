"""The main job: extract -> matching -> estimation -> sensitivity -> appendix.

One stage a module under :mod:`fvdid.stages`; this module only connects them with plain data and
reports progress. ``run()`` returns a :class:`RunResult` and writes the appendix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fvdid import __version__
from fvdid._results import to_plain
from fvdid.config import RunConfig
from fvdid.io import Extract, load_extract
from fvdid.sdc import dof_ok, suppress_counts
from fvdid.stages.appendix import AppendixTable, Section, write_appendix
from fvdid.stages.descriptives import describe_groups
from fvdid.stages.estimate import OutcomeEstimate, estimate_outcome
from fvdid.stages.prepare import Prepared, prepare

__all__ = ["RunResult", "run", "simulated_extract"]


@dataclass(frozen=True)
class RunResult:
    """What the main job produced (plain data) and where it wrote it."""

    config: RunConfig
    extract_source: str
    input_hash: str
    flow: pd.DataFrame
    primary: OutcomeEstimate
    secondary: dict[str, OutcomeEstimate]
    paths: dict[str, Path]
    truth: dict[str, float] = field(default_factory=dict)
    sections: tuple[Section, ...] = ()


def _frame_hash(frames: list[pd.DataFrame]) -> str:
    h = hashlib.sha256()
    for f in frames:
        h.update(pd.util.hash_pandas_object(f, index=True).to_numpy().tobytes())
    return h.hexdigest()


def simulated_extract(config: RunConfig) -> tuple[Extract, Any]:
    """Simulate the embedded default extract; return it with the simulator's result (for truth)."""
    from fvdid.simulate import simulate

    sim = simulate(seed=config.seed, n_children=config.n_children)
    ex = Extract(
        children=sim.children,
        las=sim.las,
        la_quarter=sim.la_quarter,
        absence_terms=getattr(sim, "absence_terms", None),
        source=f"fvdid.simulate(seed={config.seed}, n_children={config.n_children})",
        input_hash=_frame_hash([sim.children, sim.las]),
    )
    return ex, sim


def _true_att(sim: Any, data: pd.DataFrame, outcome: str) -> float:
    """The true average effect among treated (fv == 1) children of ``data`` under the DGP."""
    truth = sim.truth
    t = truth[truth["outcome"] == outcome].set_index("event_time_q")["effect"]
    treated = data[data["fv"] == 1]
    if treated.empty or t.empty:
        return float("nan")
    e = treated["event_time_q"].astype(int).clip(upper=int(t.index.max()))
    return float(t.reindex(e.to_numpy()).fillna(0.0).mean())


def _provenance(config: RunConfig, ex: Extract) -> dict[str, Any]:
    import importlib.metadata as md

    pk = {}
    for name in ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "pyarrow"):
        try:
            pk[name] = md.version(name)
        except md.PackageNotFoundError:
            pk[name] = "absent"
    return {
        "fvdid": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": pk,
        "seed": config.seed,
        "input": ex.source,
        "input_sha256": ex.input_hash,
        "run_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _estimate_table(ests: dict[str, OutcomeEstimate], threshold: int) -> pd.DataFrame:
    rows = []
    for name, e in ests.items():
        ok = dof_ok(e.df_resid, threshold) and e.n_clusters >= 2
        rows.append({
            "outcome": name, "model (protocol rule)": e.protocol_model,
            "baseline": e.baseline_rate, "estimate": e.estimate if ok else np.nan,
            "std_error (CR1)": e.std_error if ok else np.nan, "df": e.df,
            "p (t(G-1))": e.p_value if ok else np.nan,
            "p (wild bootstrap)": e.boot_p_value if ok else np.nan,
            "conf_low": e.conf_low if ok else np.nan, "conf_high": e.conf_high if ok else np.nan,
            "children": e.nobs, "LAs": e.n_clusters,
        })
    return pd.DataFrame(rows)


def run(
    config: RunConfig | None = None,
    *,
    data: Path | None = None,
    mapping: Path | None = None,
    out_dir: Path = Path("fvdid-output"),
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Run the analysis end to end and write the appendix into ``out_dir``.

    Parameters
    ----------
    config
        Options (defaults: the protocol's numbers).
    data
        An extract folder (see :mod:`fvdid.io`); None simulates the embedded default.
    mapping
        Column-mapping file for a real extract.
    out_dir
        Where ``appendix.html``, ``appendix.md``, ``results.json``, tables and figures go.
    progress
        Called with a short label as each stage starts (the CLI draws a progress bar).
    """
    cfg = config or RunConfig()
    step = progress or (lambda label: None)
    sim = None
    step("load extract")
    if data is None:
        ex, sim = simulated_extract(cfg)
    else:
        ex = load_extract(Path(data), mapping)
    children = ex.children
    las = ex.las
    treated = las.loc[las["treated"].astype(bool), "la_code"].tolist()
    sections: list[Section] = []

    # LA matching (comparators per treatment LA); without it, every non-FV LA in the extract.
    step("match LAs on pre-period trends")
    trailblazers = set(las.loc[las.get("trailblazer", pd.Series(False, index=las.index)).astype(bool), "la_code"])
    comparators = sorted(set(children["la_code"]) - set(treated) - trailblazers)
    las_in_analysis = [*treated, *comparators]

    # Primary outcome.
    step("prepare the analytic sample")
    covs = (*cfg.child_covariates, *cfg.la_covariates)
    prep: Prepared = prepare(
        children, outcome=cfg.primary_outcome, covariates=covs, las_in_analysis=las_in_analysis,
        max_missing_share=cfg.max_missing_share, n_imputations=cfg.n_imputations, seed=cfg.seed,
    )
    step("describe treatment and comparison LAs")
    desc = describe_groups(
        prep.analytic,
        binary=["disabled", "fsm", "uasc", "prior_cpp", "looked_after_18m", "cpp_12m"],
        continuous=["age_at_referral", "days_cpp_cin_18m", "unauth_absence_rate"],
        categorical=["gender", "ethnicity_major"],
        threshold=cfg.sdc_threshold, dominance_n=cfg.sdc_dominance_n, dominance_k=cfg.sdc_dominance_k,
    )
    step("estimate the primary outcome")
    primary = estimate_outcome(
        prep, categorical=cfg.categorical_covariates, alpha=cfg.alpha,
        wild_bootstrap_B=cfg.boot_B, seed=cfg.seed,
    )
    truth: dict[str, float] = {}
    if sim is not None:
        truth[cfg.primary_outcome] = _true_att(sim, prep.analytic, cfg.primary_outcome)

    flow_sdc = suppress_counts(
        prep.flow.set_index("step")[[c for c in prep.flow.columns if c != "step"]],
        cfg.sdc_threshold, secondary=False,
    )
    sections.append(Section(
        "Data and flow of children",
        (f"Input: {ex.source} (sha256 {ex.input_hash[:16]}…).",
         f"Treatment LAs: {', '.join(treated)}. Comparison LAs: {len(comparators)}.",
         "Every exclusion is counted; cells below the disclosure threshold are shown as [c]."),
        (AppendixTable("flow", f"Flow of children ({cfg.primary_outcome})",
                       flow_sdc.display().reset_index(),
                       note=f"Counts below {cfg.sdc_threshold} suppressed (ONS SRS rule)."),
         AppendixTable("missing", "Covariate missingness and the protocol's rule",
                       prep.missing.assign(missing_share=prep.missing["missing_share"].map(lambda v: f"{v:.1%}"))),),
    ))
    sections.append(Section(
        "Descriptive statistics",
        ("Treatment LAs against comparison LAs, analytic sample of the primary outcome.",),
        (AppendixTable("children_by_year", "Children by financial year and group", desc.counts.display().reset_index()),
         AppendixTable("shares", "Share of children (%) by characteristic", desc.shares.display("{:.1f}").reset_index()),
         AppendixTable("means", "Means of continuous variables", desc.means.display("{:.2f}").reset_index())),
    ))
    est_tab = primary.tidy()
    paras = [f"Model: {primary.formula}; standard errors clustered by LA (G = {primary.n_clusters}).",
             f"Baseline rate in comparison observations: {primary.baseline_rate:.3%}; the protocol's "
             f"5–95 % rule selects the {primary.protocol_model} model (both reported)."]
    if truth:
        paras.append(f"Simulated data: the true average effect among FV children is "
                     f"{truth[cfg.primary_outcome]:+.4f}.")
    sections.append(Section("Primary analysis", tuple(paras),
                             (AppendixTable("primary", "Effect of FV on becoming looked after within 18 months", est_tab),)))
    sections.append(Section("Provenance", ("Versions, seed and input hash of this run.",),
                            (AppendixTable("provenance", "Provenance",
                                           pd.DataFrame(list(_flat(_provenance(cfg, ex)).items()), columns=["item", "value"])),)))
    step("write the appendix")
    results = {
        "provenance": _provenance(cfg, ex),
        "config": to_plain(cfg),
        "flow": to_plain(flow_sdc.table.reset_index()),
        "primary": {k: v for k, v in to_plain(primary).items() if k != "table"},
        "truth": truth,
    }
    paths = write_appendix(sections, Path(out_dir), results=results)
    return RunResult(cfg, ex.source, ex.input_hash, prep.flow, primary, {}, paths, truth, tuple(sections))


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = str(v)
    return out
