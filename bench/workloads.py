"""The benchmark workloads: data generators, implementations, compared quantities, targets.

A :class:`Workload` names its dataset generator (deterministic, fixed seed; the harness writes
the data once to a CSV file that every implementation reads), the implementations timed on it
(fvdid, the R reference, the Python peers), the quantities compared with fvdid (each with an
absolute tolerance and its reason) and the speed targets of the estimator issues.

Over 500 lines: the table of every workload (and its reasons and targets) reads in one place.

Implementations are identified by ``runner`` ids: Python runners live in
:mod:`bench.impl_python` (``RUNNERS``), R runners are ``bench/impl_r/<runner>.R``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

Kind = Literal["fvdid", "r", "peer"]


@dataclass(frozen=True)
class Impl:
    """One implementation of a workload."""

    name: str  # as shown in the table, e.g. "R did"
    kind: Kind
    runner: str  # bench.impl_python.RUNNERS key, or bench/impl_r/<runner>.R
    package: str  # distribution (Python) or R package whose version is reported
    note: str = ""
    compare: bool = True  # False: a probe (e.g. memory at another B), estimate not compared
    params: tuple[tuple[str, Any], ...] = ()  # overrides of the workload's params for this one


@dataclass(frozen=True)
class Quantity:
    """A compared quantity: |other - fvdid| <= atol + rtol * |fvdid|."""

    name: str
    atol: float
    reason: str
    rtol: float = 0.0
    mc_B: int | None = None  # Monte Carlo p-value: band 4 * sqrt(p (1 - p) / B) added to atol


@dataclass(frozen=True)
class Target:
    """A speed / memory target of an estimator issue, judged from the workload's results.

    kind:
      ``max_seconds``   fvdid seconds <= value
      ``max_rss_mb``    fvdid peak RSS (MB) <= value
      ``min_speedup``   seconds(other) / seconds(fvdid) >= value, ``other`` an implementation name
      ``no_slower``     fvdid seconds <= min(seconds of the available ``others``)
      ``identical``     the implementation ``other`` agrees with fvdid on every compared quantity
      ``rss_flat``      peak RSS of fvdid minus that of the probe ``other`` <= value MB
      ``min_parallel_speedup``  throughput (``key`` per second) of ``other`` (fvdid with more
                        workers) / that of fvdid >= value
    """

    text: str
    kind: Literal["max_seconds", "max_rss_mb", "min_speedup", "no_slower", "identical", "rss_flat",
                  "min_parallel_speedup"]
    value: float = 0.0
    other: str = ""
    others: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    params: Mapping[str, Any]
    impls: tuple[Impl, ...]
    key: str  # the quantity shown as "estimate"
    quantities: tuple[Quantity, ...]
    generate: Callable[[Mapping[str, Any]], pd.DataFrame] | None = None
    targets: tuple[Target, ...] = ()
    notes: tuple[str, ...] = field(default=())
    size: Literal["tiny", "small", "large"] = "large"
    min_timeout: float = 0.0  # per-implementation timeout at least this (s), whatever --timeout


# ------------------------------------------------------------------------------------------
# Data generators (deterministic; values rounded so the CSV text parses to the same doubles in
# R and pandas). The DGPs follow the estimator developers' bench/bench_*.py scripts.
# ------------------------------------------------------------------------------------------
PERIODS = np.arange(2001, 2011)
COHORTS = np.array([0, 2004, 2006, 2008])


def did_panel(p: Mapping[str, Any]) -> pd.DataFrame:
    """Balanced panel: n_units x 10 years, cohorts 2004/2006/2008 + never treated, one covariate."""
    n_units = int(p["n_units"])
    rng = np.random.default_rng(int(p.get("seed", 1)))
    x = rng.normal(size=n_units)
    g = np.where(rng.uniform(size=n_units) < 0.5 + 0.1 * np.tanh(x), rng.choice(COHORTS[1:], n_units), 0)
    a = rng.normal(size=n_units)
    T = PERIODS.size
    rep = np.repeat(np.arange(n_units), T)
    t = np.tile(PERIODS, n_units)
    eff = np.where((g[rep] > 0) & (t >= g[rep]), 1.0, 0.0)
    y = a[rep] + 0.1 * (t - 2000) * (1 + 0.3 * x[rep]) + eff + rng.normal(size=rep.size)
    return pd.DataFrame(
        {"id": rep + 1, "year": t, "g": g[rep], "y": np.round(y, 6), "x": np.round(x[rep], 6)}
    )


def did_rc(p: Mapping[str, Any]) -> pd.DataFrame:
    """Repeated cross-sections: n_rows over 10 years, two covariates."""
    n_rows = int(p["n_rows"])
    rng = np.random.default_rng(int(p.get("seed", 2)))
    t = rng.choice(PERIODS, n_rows)
    x1 = rng.normal(size=n_rows)
    x2 = (rng.uniform(size=n_rows) < 0.4).astype(float)
    g = np.where(rng.uniform(size=n_rows) < 0.5 + 0.1 * np.tanh(x1), rng.choice(COHORTS[1:], n_rows), 0)
    eff = np.where((g > 0) & (t >= g), 1.0, 0.0)
    y = 0.1 * (t - 2000) * (1 + 0.3 * x1 - 0.2 * x2) + eff + rng.normal(size=n_rows)
    return pd.DataFrame(
        {"id": np.arange(1, n_rows + 1), "year": t, "g": g, "y": np.round(y, 6),
         "x1": np.round(x1, 6), "x2": x2}
    )


def cem_children(p: Mapping[str, Any]) -> pd.DataFrame:
    """Children with the protocol's CEM covariates."""
    n = int(p["n"])
    rng = np.random.default_rng(int(p.get("seed", 20240703)))
    treated = rng.binomial(1, 0.4, n)
    eth = rng.choice(np.array(["White", "Mixed", "Asian", "Black", "Other"], dtype=object), n,
                     p=[0.72, 0.07, 0.1, 0.07, 0.04])
    eth[rng.random(n) < 0.03] = None
    prior = rng.binomial(1, 0.12, n).astype(float)
    prior[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "treated": treated,
            "financial_year": rng.choice(np.array(["2019/20", "2020/21", "2021/22"], dtype=object), n),
            "gender": rng.choice([0, 1, 2, 3, 4], n, p=[0.02, 0.48, 0.46, 0.01, 0.03]),
            "age_at_referral": np.clip(np.round(rng.gamma(2.2 + 0.6 * treated, 3.0)), 0, 17).astype(int),
            "ethnicity_major": eth,
            "disabled": rng.binomial(1, 0.06, n),
            "fsm": rng.binomial(1, 0.25 + 0.1 * treated, n),
            "uasc": rng.binomial(1, 0.02, n),
            "prior_cpp": prior,
        }
    )


def bacon_panel(p: Mapping[str, Any]) -> pd.DataFrame:
    """LA x quarter panels of the bacon parity fixtures (152 x 28) or the large 1,000 x 40 one."""
    from parity.datasets.bacon import la_quarter, la_quarter_panel

    if p["shape"] == "152x28":
        return la_quarter()
    if p["shape"] == "1000x40":
        cohorts = {3: 60, 6: 70, 9: 80, 12: 90, 15: 100, 18: 50, 21: 60, 24: 70, 27: 80, 30: 90,
                   34: 50, 38: 50}
        return la_quarter_panel(cohorts, n_never=150, n_always=50, seed=99, n_quarters=40)
    raise ValueError(f"unknown bacon shape {p['shape']!r}")


def boot_data(p: Mapping[str, Any]) -> pd.DataFrame:
    """N rows in G clusters, cluster-level treatment."""
    n, g = int(p["n"]), int(p["G"])
    rng = np.random.default_rng(int(p.get("seed", 1)))
    cl = rng.integers(0, g, n)
    treat = (rng.uniform(size=g) < 0.5)[cl].astype(float)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    y = 0.05 * treat + 0.3 * x1 - 0.2 * x2 + rng.normal(0, 0.5, g)[cl] + rng.normal(size=n)
    if treat.min() == treat.max():  # guarantee both arms
        treat[cl == 0] = 1.0 - treat[cl == 0]
    return pd.DataFrame({"g": cl, "treat": treat, "x1": np.round(x1, 8), "x2": np.round(x2, 8),
                         "y": np.round(y, 8)})


def ols_children(p: Mapping[str, Any]) -> pd.DataFrame:
    """N children in n_la LAs x n_q quarters: y on two covariates, LA and quarter effects."""
    n, n_la, n_q = int(p["n"]), int(p["n_la"]), int(p["n_q"])
    rng = np.random.default_rng(int(p.get("seed", 7)))
    la = rng.integers(1, n_la + 1, n)
    q = rng.integers(1, n_q + 1, n)
    x1 = rng.normal(size=n) + 0.2 * rng.normal(size=n_la + 1)[la]
    x2 = (rng.uniform(size=n) < 0.3).astype(float)
    y = (0.4 * x1 - 0.3 * x2 + rng.normal(0, 0.5, n_la + 1)[la] + 0.05 * q
         + rng.normal(0, 0.3, n_la + 1)[la] * x2 + rng.normal(size=n))
    return pd.DataFrame({"la": la, "quarter": q, "x1": np.round(x1, 8), "x2": x2, "y": np.round(y, 8)})


# ------------------------------------------------------------------------------------------
# Implementations
# ------------------------------------------------------------------------------------------
FVDID = "fvdid"


def _did_impls(panel: bool) -> tuple[Impl, ...]:
    return (
        Impl(FVDID, "fvdid", "fvdid_att_gt", "fvdid"),
        Impl("R did", "r", "did", "did"),
        Impl("diff-diff", "peer", "diffdiff_cs", "diff-diff"),
        Impl("csdid", "peer", "csdid_att_gt", "csdid"),
        Impl("differences", "peer", "differences_attgt", "differences"),
    )


_DID_Q = (
    Quantity("dynamic_att", 1e-8, "same DR estimator and data; only summation order differs"),
    Quantity("dynamic_se", 1e-6, "analytic influence-function SE (peers may use other conventions)"),
)
_DID_NOTES = (
    "att_gt with est_method = 'dr', never-treated controls, analytic standard errors (no "
    "bootstrap), universal/varying base period defaults, then the dynamic (event-study) "
    "aggregation; the timed call is att_gt + aggte.",
)


def _did_targets(r_factor: float = 5.0) -> tuple[Target, ...]:
    return (
        Target(f"att_gt >= {r_factor:g}x faster than R did", "min_speedup", r_factor, other="R did"),
        Target("att_gt no slower than the fastest Python peer", "no_slower",
               others=("diff-diff", "csdid", "differences")),
        Target("estimates identical to R did", "identical", other="R did"),
    )


_CEM_IMPLS = (
    Impl(FVDID, "fvdid", "fvdid_cem", "fvdid"),
    Impl("R cem", "r", "cem", "cem"),
    Impl("cem (PyPI)", "peer", "pypi_cem", "cem"),
)
_CEM_Q = (
    Quantity("n_matched", 0.0, "matched counts are exact"),
    Quantity("n_strata", 0.0, "strata are exact"),
)
_CEM_NOTES = (
    "Protocol coarsening: age cut at 0-3 / 4-12 / 13+ (cutpoints 0, 3, 12, 17), gender's four "
    "codes (4 = missing stays its own level), everything else exact (financial year, ethnicity "
    "major group, disability, FSM, UASC, prior CPP).",
)

_BACON_IMPLS = (
    Impl(FVDID, "fvdid", "fvdid_bacon", "fvdid"),
    Impl("R bacondecomp", "r", "bacon", "bacondecomp"),
    Impl("diff-diff", "peer", "diffdiff_bacon", "diff-diff",
         note="diff-diff's Bacon decomposition has no always-treated comparisons (SPEC §3)"),
)
_BACON_Q = (
    Quantity("twfe", 1e-9, "closed form: the weighted sum of the 2x2s is the TWFE coefficient"),
    Quantity("n_2x2", 0.0, "number of 2x2 comparisons, exact"),
)


def _bacon_workload(shape: str, size: str) -> Workload:
    """Goodman-Bacon on the ``shape`` panel (``"152x28"``: LAs x quarters), against R and diff-diff."""
    return Workload(
        name=f"bacon_{shape}",
        title=f"Goodman-Bacon, {size}",
        params={"shape": shape},
        generate=bacon_panel, impls=_BACON_IMPLS, key="twfe", quantities=_BACON_Q,
        targets=(Target("bacon >= 10x faster than R bacondecomp", "min_speedup", 10.0,
                        other="R bacondecomp"),),
        notes=("No covariates; referral_rate ~ fv, id = la, time = quarter.",),
    )


def _boot_workload(n: int, g: int, label: str, targets: tuple[Target, ...] = (),
                   probe: bool = False) -> Workload:
    B = 99_999
    impls = [
        Impl(FVDID, "fvdid", "fvdid_boottest", "fvdid"),
        Impl("R fwildclusterboot", "r", "boottest", "fwildclusterboot",
             note="R engine, nthreads = 1 (its default)"),
        Impl("pyfixest", "peer", "pyfixest_wildboottest", "pyfixest",
             note="Feols.wildboottest (wildboottest engine)"),
        Impl("wildboottest", "peer", "wildboottest_sm", "wildboottest",
             note="statsmodels OLS + wildboottest()"),
    ]
    if probe:
        impls.insert(1, Impl("fvdid B=9,999", "fvdid", "fvdid_boottest", "fvdid",
                             note="memory probe at B = 9,999 (not compared)", compare=False,
                             params=(("B", 9_999),)))
    return Workload(
        name=f"boottest_{label}",
        title=f"Wild cluster bootstrap, N = {n:,}, G = {g}, B = {B:,}",
        params={"n": n, "G": g, "B": B, "seed": 1},
        generate=boot_data,
        impls=tuple(impls),
        key="p_value",
        quantities=(
            Quantity("p_value", 1e-12, "full enumeration when 2^G <= B, else Monte Carlo band",
                     mc_B=B if 2**g > B else None),
            Quantity("t_stat", 1e-8, "closed form (the CR1 t statistic of the restricted fit)",
                     rtol=1e-8),
        ),
        targets=targets,
        notes=(
            "y ~ treat + x1 + x2, H0: treat = 0, WCR (null imposed), Rademacher weights, "
            "two-tailed p-value and CI by test inversion where the implementation offers it; "
            "the regression is fitted before the clock starts; the timed call is the bootstrap.",
            "With G = 10, 2^10 = 1,024 < B: every implementation that enumerates gives the exact "
            "p-value; with G = 20, p-values agree within 4 sqrt(p(1-p)/B).",
        ),
    )


def _ols_impls() -> tuple[Impl, ...]:
    return (
        Impl(FVDID, "fvdid", "fvdid_ols", "fvdid"),
        Impl("R fixest", "r", "fixest", "fixest",
             note="feols(y ~ x1 + x2 | la + quarter, cluster = ~la, ssc = ssc(K.fixef = 'full')), "
                  "fixest's default threads"),
        Impl("R lm + sandwich", "r", "ols", "sandwich",
             note="lm with factor dummies + sandwich::vcovCL(type = 'HC1')"),
        Impl("pyfixest", "peer", "pyfixest_feols", "pyfixest"),
        Impl("linearmodels", "peer", "linearmodels_absorbing", "linearmodels",
             note="AbsorbingLS, clustered"),
        Impl("statsmodels", "peer", "statsmodels_ols", "statsmodels",
             note="OLS with C() dummies, cov_type='cluster'"),
    )


_OLS_SE_REASON = (
    "CR1 as sandwich::vcovCL(type='HC1'): G/(G-1) (N-1)/(N-K) with K counting the FE dummies "
    "(fvdid's default ssc_k = 'all'); R fixest is called with ssc(K.adj = TRUE, K.fixef = "
    "'full', G.adj = TRUE), the same factor (its default K.fixef = 'nonnested' would leave the "
    "LA effects, nested in the LA clusters, out of K); peers that count K differently differ")


def _ols_workload(n: int, n_la: int, n_q: int, label: str, targets: tuple[Target, ...] = (),
                  tiny: bool = False) -> Workload:
    """y ~ x1 + x2 | la + quarter, CR1 by LA, against R fixest, lm + sandwich and the peers."""
    return Workload(
        name=f"{'tiny_' if tiny else ''}ols_twfe{'' if tiny else '_' + label}",
        title=f"OLS, two fixed effects ({n_la} LAs, {n_q} quarters), CR1 by LA, {n:,} rows",
        params={"n": n, "n_la": n_la, "n_q": n_q, "seed": 7},
        generate=ols_children, impls=_ols_impls(), key="coef_x1",
        quantities=(
            # fixest demeans by alternating projections to its default fixef.tol (1e-6 on the
            # FE coefficients); the design's two FE are crossed at random, so it converges in a
            # few sweeps and the coefficient agrees far inside 1e-9 relative
            Quantity("coef_x1", 1e-9, "closed form, same normal equations", rtol=1e-9),
            Quantity("se_x1", 1e-9, _OLS_SE_REASON, rtol=1e-7),
        ),
        targets=targets,
        notes=("y ~ x1 + x2 | la + quarter, vcov CR1 clustered by la. R fixest's time includes "
               "the clustered vcov (feols computes it when `cluster` is given); it uses "
               "fixest's default number of threads.",),
        size="tiny" if tiny else "large",
    )


def _simulate_workload(n: int, label: str, limit_s: float, tiny: bool = False) -> Workload:
    return Workload(
        name=f"simulate_{label}",
        title=f"fvdid.simulate, n_children = {n:,}",
        params={"n_children": n, "seed": 0},
        impls=(Impl(FVDID, "fvdid", "fvdid_simulate", "fvdid"),),
        key="n_rows",
        quantities=(Quantity("n_rows", 0.0, "rows of the child-level extract"),),
        targets=() if tiny else (
            Target(f"simulate {label} < {limit_s:g} s", "max_seconds", limit_s),
            Target("simulate peak memory < 4 GB", "max_rss_mb", 4096.0),
        ),
        notes=("No reference implementation: the simulator is fvdid's own.",),
        size="tiny" if tiny else "large",
    )


# The Monte Carlo's lean analysis path: validation/montecarlo-100k-imp/run.toml (placebo-pair
# randomization inference off, no LA placebo tests or figures per replication).
LEAN_RUN_OPTIONS: dict[str, Any] = {"n_imputations": 2, "boot_B": 399, "ri_pool_max": 0,
                                    "extras": {"la_placebo": False, "la_figures": False}}
MC_STUDY_REPS = 1000  # the default study: 500 replications under the null, 500 under the effect


def _montecarlo_workload(reps: int, tiny: bool = False) -> Workload:
    """Replications per second of the Monte Carlo study, 1 and 2 local workers."""
    design = {"n_children": 2_000} if tiny else {}
    label = "tiny_montecarlo" if tiny else "montecarlo_throughput"
    two = f"{FVDID}, 2 workers"
    return Workload(
        name=label,
        title=(f"Monte Carlo study, {reps} replications of the "
               f"{'tiny' if tiny else 'default'} design per worker count, 1 and 2 workers"),
        params={"reps": reps, "design": design, "run_options": LEAN_RUN_OPTIONS, "workers": 1,
                "seed": 20, "textbook": tiny},
        impls=(Impl(FVDID, "fvdid", "fvdid_montecarlo", "fvdid", note="1 worker"),
               Impl(two, "fvdid", "fvdid_montecarlo", "fvdid", note="2 workers", compare=False,
                    params=(("workers", 2),))),
        key="reps_per_second",
        quantities=(Quantity("reps_per_second", 0.0, "fvdid only: replications saved per second"),),
        targets=(Target("2 workers on 2 cores: >= 1.6x the replications/s of 1 worker (the "
                        "bench's own check, not an issue target)", "min_parallel_speedup", 1.6,
                        other=two),),
        notes=(("fvdid.montecarlo(effects='null') with "
                + ("TextbookReplication() (OLS with known answers: the engine's own overhead)"
                   if tiny else
                   "AnalysisReplication(secondary=False, sensitivity=False, robustness=False, "
                   "checks=False), as `fvdid montecarlo --primary-only --no-robustness "
                   "--no-checks` builds it (the headline's inference alone), run options "
                   + ", ".join(f"{k} = {v}" for k, v in LEAN_RUN_OPTIONS.items()))
                + "; the study's LocalCluster (fvdid.montecarlo.engine.local_cluster: "
                "single-threaded worker processes, one BLAS thread and one malloc arena each, "
                "dask's monitors quietened), started and warmed up "
                "(fvdid imported on every worker) before the clock starts; seconds = the study "
                f"call; the projection is {MC_STUDY_REPS:,} replications at the 2-worker rate. "
                "Peak RSS is the driver's; the workers' peak (worker_peak_rss_mb) is in the JSON."),),
        size="tiny" if tiny else "large",
    )


WORKLOADS: tuple[Workload, ...] = (
    _simulate_workload(100_000, "100k", 5.0),
    _simulate_workload(1_000_000, "1m", 40.0),
    Workload(
        name="did_panel_200k",
        title="Callaway-Sant'Anna, balanced panel, 20,000 units x 10 years = 200k rows",
        params={"n_units": 20_000, "seed": 1, "panel": True, "covariates": ["x"]},
        generate=did_panel, impls=_did_impls(True), key="dynamic_att", quantities=_DID_Q,
        targets=_did_targets(), notes=_DID_NOTES,
    ),
    Workload(
        name="did_panel_1m",
        title="Callaway-Sant'Anna, balanced panel, 100,000 units x 10 years = 1M rows",
        params={"n_units": 100_000, "seed": 1, "panel": True, "covariates": ["x"]},
        generate=did_panel, impls=_did_impls(True), key="dynamic_att", quantities=_DID_Q,
        notes=_DID_NOTES,
    ),
    Workload(
        name="did_rc_1m",
        title="Callaway-Sant'Anna, repeated cross-sections, 1M rows",
        params={"n_rows": 1_000_000, "seed": 2, "panel": False, "covariates": ["x1", "x2"]},
        generate=did_rc, impls=_did_impls(False), key="dynamic_att", quantities=_DID_Q,
        targets=_did_targets(), notes=_DID_NOTES,
    ),
    Workload(
        name="cem_100k",
        title="CEM, protocol coarsening, 100,000 children",
        params={"n": 100_000, "seed": 20240703},
        generate=cem_children, impls=_CEM_IMPLS, key="n_matched", quantities=_CEM_Q,
        notes=_CEM_NOTES,
    ),
    Workload(
        name="cem_1m",
        title="CEM, protocol coarsening, 1,000,000 children",
        params={"n": 1_000_000, "seed": 20240703},
        generate=cem_children, impls=_CEM_IMPLS, key="n_matched", quantities=_CEM_Q,
        targets=(
            Target("cem 1M < 5 s", "max_seconds", 5.0),
            Target("cem >= 10x faster than R cem", "min_speedup", 10.0, other="R cem"),
            Target("strata and matched counts identical to R cem", "identical", other="R cem"),
        ),
        notes=_CEM_NOTES,
    ),
    _bacon_workload("152x28", "152 LAs x 28 quarters (never- and always-treated, 9 cohorts)"),
    _bacon_workload("1000x40", "1,000 units x 40 periods (12 cohorts)"),
    _boot_workload(100_000, 10, "100k_g10"),
    _boot_workload(100_000, 20, "100k_g20"),
    _boot_workload(1_000_000, 10, "1m_g10"),
    _boot_workload(
        1_000_000, 20, "1m_g20", probe=True,
        targets=(
            Target("boottest N=1M, G=20, B=99,999 no slower than fwildclusterboot", "no_slower",
                   others=("R fwildclusterboot",)),
            Target("memory not growing with B x N: peak RSS at B=99,999 minus at B=9,999 < 256 MB "
                   "(B x N doubles would be 745 GiB)", "rss_flat", 256.0, other="fvdid B=9,999"),
        ),
    ),
    _ols_workload(1_000_000, 150, 28, "1m", targets=(
        Target("OLS two-way FE + CR1, 1M rows: no slower than R fixest", "no_slower",
               others=("R fixest",)),
        Target("coefficient and CR1 SE identical to R fixest (ssc K.fixef = 'full')", "identical",
               other="R fixest"),
    )),
    Workload(
        name="fvdid_run_default",
        title="`python -m fvdid run --out DIR --quiet` end to end on the embedded default",
        params={"memory_run": "separate"},
        impls=(Impl(FVDID, "fvdid", "fvdid_cli_run", "fvdid",
                    note="wall clock of the command, interpreter start-up included"),),
        key="primary_att",
        quantities=(Quantity("primary_att", 0.0, "fvdid only"),),
        targets=(Target("fvdid run default <= 20 s", "max_seconds", 20.0),),
        notes=("Timed from outside the command (wall clock, interpreter start-up included), with "
               "no memory sampler in it; peak memory: the summed PSS of the command's process and "
               "its forked workers (peak_rss_own_mb: the process's own VmHWM), sampled every "
               "0.25 s on a second, untimed run of the same command (the sampler, a thread of the "
               "command's process, slowed it by 10-20 %).",),
    ),
    Workload(
        name="lean_analysis_100k",
        title="fvdid.pipeline.analyse, lean path (primary outcome only), default extract 100k",
        params={"seed": 0, "n_children": 100_000, "run_options": LEAN_RUN_OPTIONS},
        impls=(Impl(FVDID, "fvdid", "fvdid_lean_analysis", "fvdid",
                    note="analyse(extract, cfg, secondary=False, sensitivity=False, "
                         "robustness=False, checks=False)"),),
        key="primary_estimate",
        quantities=(Quantity("primary_estimate", 0.0, "fvdid only: the primary headline"),),
        notes=("The Monte Carlo's lean path: "
               + ", ".join(f"{k} = {v}" for k, v in LEAN_RUN_OPTIONS.items())
               + ", progress and the parity appendix off; the extract "
               "(fvdid.pipeline.simulated_extract) is built before the clock starts; the timed "
               "call is analyse() alone.",),
    ),
    _montecarlo_workload(reps=4),
    Workload(
        name="fvdid_run_1m",
        title="`python -m fvdid run --n-children 1000000 --out DIR --quiet` end to end",
        params={"cli_args": ["--n-children", "1000000"], "env": {"FVDID_MEMORY_LIMIT": "8G"}},
        impls=(Impl(FVDID, "fvdid", "fvdid_cli_run", "fvdid",
                    note="wall clock of the command, interpreter start-up included"),),
        key="primary_att",
        quantities=(Quantity("primary_att", 0.0, "fvdid only"),),
        targets=(Target("fvdid run on 1M children fits in 8 GB (peak PSS of the process tree)",
                        "max_rss_mb", 8192.0),),
        notes=("Not in the default run (long). Run with FVDID_MEMORY_LIMIT=8G, the budget an 8 GB "
               "machine's MemAvailable would give (the run then plans its workers within it); "
               "peak_rss_mb is the peak of the summed PSS of the `fvdid run` process and its "
               "forked workers (shared pages counted once), peak_rss_own_mb the process's own "
               "VmHWM, peak_rss_tree_sum_mb the summed RSS (an upper bound).",),
        min_timeout=7200.0,
    ),
)

# Tiny workloads for the smoke test (not part of the default run).
TINY: tuple[Workload, ...] = (
    Workload(
        name="tiny_did_panel",
        title="Callaway-Sant'Anna, tiny balanced panel (300 units x 10 years)",
        params={"n_units": 300, "seed": 1, "panel": True, "covariates": ["x"]},
        generate=did_panel, impls=_did_impls(True), key="dynamic_att", quantities=_DID_Q,
        targets=_did_targets(), notes=_DID_NOTES, size="tiny",
    ),
    Workload(
        name="tiny_cem",
        title="CEM, 2,000 children",
        params={"n": 2_000, "seed": 20240703},
        generate=cem_children, impls=_CEM_IMPLS, key="n_matched", quantities=_CEM_Q,
        targets=(Target("cem tiny < 5 s", "max_seconds", 5.0),), notes=_CEM_NOTES, size="tiny",
    ),
    _ols_workload(5_000, 30, 8, "5,000", tiny=True, targets=(
        Target("coefficient and CR1 SE identical to R fixest", "identical", other="R fixest"),)),
    _montecarlo_workload(reps=2, tiny=True),
)

ALL: dict[str, Workload] = {w.name: w for w in WORKLOADS + TINY}
# The default run, cheapest first (partial results are written after each workload), the
# 1M-row Callaway-Sant'Anna runs of R and the peers last.
_ORDER = ("simulate_100k", "simulate_1m", "cem_100k", "cem_1m", "bacon_152x28", "bacon_1000x40",
          "boottest_100k_g10", "boottest_100k_g20", "boottest_1m_g10", "boottest_1m_g20",
          "ols_twfe_1m", "lean_analysis_100k", "montecarlo_throughput", "fvdid_run_default",
          "did_panel_200k", "did_rc_1m", "did_panel_1m")
# Long workloads left out of the default run (`python -m bench fvdid_run_1m`).
NOT_DEFAULT = ("fvdid_run_1m",)
DEFAULT: tuple[str, ...] = tuple(sorted((w.name for w in WORKLOADS if w.name not in NOT_DEFAULT),
                                        key=_ORDER.index))
