"""One Python implementation of one workload, timed in its own process.

    python bench/impl_python.py RUNNER DATA_CSV PARAMS_JSON OUT_JSON

Runs under fvdid's interpreter (runners ``fvdid_*``) or under the peers' venv (the others), so
this file imports nothing from fvdid or bench at module level: only the standard library,
numpy and pandas. The data are read (untimed), ``prepare`` builds what the timed call needs
(e.g. the regression fitted before a bootstrap), then the timed call runs once; if that took
less than ``FAST_S`` seconds it runs ``FAST_REPEATS - 1`` more times and the minimum is kept.
The process reports its own peak resident set (``VmHWM``) and writes::

    {"status": "ok", "seconds": s, "all_seconds": [...], "n_repeats": k, "peak_rss_mb": m,
     "rss_before_mb": m0, "estimate": {...}, "version": "...", "python": "..."}

or ``{"status": "absent", "reason": ...}`` when the package cannot be imported, or
``{"status": "error", "reason": ...}`` when it fails. A local dask cluster held as state
(the Monte Carlo runner) is closed after the estimate is extracted.

Over 500 lines on purpose: every runner of every interpreter in one self-contained script, so
that each timed process imports a single file with nothing but the standard library, numpy and
pandas at module level.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

FAST_S = 10.0
FAST_REPEATS = 3
CLI_PEAKS: list[tuple[float, float, float]] = []  # (own VmHWM, tree RSS, tree PSS) per fvdid run, MB


class Absent(Exception):
    """The implementation's package is not importable in this interpreter."""


def _import(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Absent(f"cannot import {module}: {exc}") from exc


def _status_mb(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _peak_rss_mb() -> float:
    """This process's peak resident set.

    ``VmHWM`` (reset at exec) rather than ``ru_maxrss``: Linux carries the parent's high-water
    mark into ``ru_maxrss`` across fork + exec, so a child of a large harness process would
    report the harness's peak, not its own. ``ru_maxrss`` only where /proc is missing.
    """
    hwm = _status_mb("VmHWM")
    return hwm if hwm == hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    return _status_mb("VmRSS")


# `fvdid run` under a wrapper that writes the command's peak memory (MB) to a file at exit: its
# own VmHWM; the peak of the summed RSS of it and its forked workers (fvdid._parallel), which
# counts pages a fork still shares with its parent once per process (an upper bound); and the
# peak of their summed PSS (smaps_rollup: each shared page split among the processes sharing
# it), the physical memory the process tree holds. Sampled every 0.25 s. The file gets
# "own rss_tree pss_tree" in MB.
_CLI_WRAPPER = (
    "import atexit, os, runpy, sys, threading, time\n"
    "hwm_file, out = sys.argv[1], sys.argv[2]\n"
    "me, tree, pss = os.getpid(), [0.0], [0.0]\n"
    "def _field(path, key):\n"
    "    try:\n"
    "        for l in open(path):\n"
    "            if l.startswith(key):\n"
    "                return int(l.split()[1]) / 1024.0\n"
    "    except OSError:\n"
    "        pass\n"
    "    return 0.0\n"
    "def _kids():\n"
    "    for d in os.listdir('/proc'):\n"
    "        if d.isdigit():\n"
    "            try:\n"
    "                if int(open(f'/proc/{d}/stat').read().rsplit(')', 1)[1].split()[1]) == me:\n"
    "                    yield int(d)\n"
    "            except (OSError, ValueError, IndexError):\n"
    "                pass\n"
    "def _watch():\n"
    "    while True:\n"
    "        procs = [me, *_kids()]\n"
    "        tree[0] = max(tree[0], sum(_field(f'/proc/{q}/status', 'VmRSS:') for q in procs))\n"
    "        pss[0] = max(pss[0], sum(_field(f'/proc/{q}/smaps_rollup', 'Pss:') for q in procs))\n"
    "        time.sleep(0.25)\n"
    "threading.Thread(target=_watch, daemon=True).start()\n"
    "def _hwm():\n"
    "    own = _field('/proc/self/status', 'VmHWM:')\n"
    "    open(hwm_file, 'w').write(f'{own} {max(own, tree[0])} {max(own, pss[0])}')\n"
    "atexit.register(_hwm)\n"
    "sys.argv = ['fvdid', 'run', '--out', out, '--quiet', *sys.argv[3:]]\n"
    "runpy.run_module('fvdid', run_name='__main__', alter_sys=True)\n"
)


def _read(path: str) -> Any:
    import pandas as pd

    return pd.read_csv(path)


def _read_with(module: str, attr: str | None = None) -> Callable[[str, dict], Any]:
    """A ``prepare`` whose state is ``(module or its attr, the data)``."""

    def prepare(path: str, p: dict) -> Any:
        mod = _import(module)
        return (mod if attr is None else getattr(mod, attr)), _read(path)

    return prepare


def _f(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


# Each runner: (distribution for the version, prepare(path, params) -> state,
#               run(state, params) -> obj [timed], extract(obj, state, params) -> {quantity: float})
Runner = tuple[str, Callable[[str, dict], Any], Callable[[Any, dict], Any], Callable[[Any, Any, dict], dict]]


# ------------------------------------------------------------------------------------------
# fvdid
# ------------------------------------------------------------------------------------------
def _fvdid_simulate() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        return _import("fvdid.simulate")

    def run(mod: Any, p: dict) -> Any:
        return mod.simulate(seed=int(p["seed"]), n_children=int(p["n_children"]))

    def extract(sim: Any, state: Any, p: dict) -> dict:
        return {"n_rows": float(len(sim.children))}

    return "fvdid", prepare, run, extract


def _fvdid_att_gt() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        att_gt = _import("fvdid.att_gt").att_gt
        aggte = _import("fvdid.aggte").aggte
        return att_gt, aggte, _read(path)

    def run(state: Any, p: dict) -> Any:
        att_gt, aggte, d = state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = att_gt(d, y="y", time="year", cohort="g", unit="id" if p["panel"] else None,
                       covariates=tuple(p["covariates"]), panel=bool(p["panel"]), method="dr")
            return aggte(r, "dynamic")

    def extract(ag: Any, state: Any, p: dict) -> dict:
        return {"dynamic_att": _f(ag.overall_att), "dynamic_se": _f(ag.overall_se)}

    return "fvdid", prepare, run, extract


CEM_CUTPOINTS = {"age_at_referral": [0, 3, 12, 17]}
CEM_GROUPING = {"gender": [[0], [1], [2], [3]]}
CEM_COVARIATES = ["financial_year", "gender", "age_at_referral", "ethnicity_major", "disabled",
                  "fsm", "uasc", "prior_cpp"]


def _fvdid_cem() -> Runner:
    def run(state: Any, p: dict) -> Any:
        cem, d = state
        return cem(d, "treated", covariates=CEM_COVARIATES, cutpoints=CEM_CUTPOINTS,
                   grouping=CEM_GROUPING)

    def extract(res: Any, state: Any, p: dict) -> dict:
        return {"n_matched": float(res.matched.sum()), "n_strata": float(res.n_strata)}

    return "fvdid", _read_with("fvdid.cem", "cem"), run, extract


def _fvdid_bacon() -> Runner:
    def run(state: Any, p: dict) -> Any:
        bacon, d = state
        return bacon(d, y="referral_rate", treatment="fv", unit="la", time="quarter")

    def extract(res: Any, state: Any, p: dict) -> dict:
        return {"twfe": _f(res.twfe), "n_2x2": float(len(res.two_by_twos))}

    return "fvdid", _read_with("fvdid.bacon", "bacon"), run, extract


def _fvdid_boottest() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        ols = _import("fvdid.ols").ols
        boottest = _import("fvdid.boottest").boottest
        d = _read(path)
        fit = ols("y ~ treat + x1 + x2", d, vcov="CR1", cluster="g")
        # warm-up on a slice (imports, BLAS threads)
        small = d.iloc[:2000]
        boottest(ols("y ~ treat + x1 + x2", small, vcov="CR1", cluster="g"), "treat",
                 small["g"], B=999, seed=1)
        return boottest, fit, d["g"]

    def run(state: Any, p: dict) -> Any:
        boottest, fit, g = state
        return boottest(fit, "treat", g, B=int(p["B"]), seed=1)

    def extract(res: Any, state: Any, p: dict) -> dict:
        lo, hi = res.conf_int if res.conf_int else (float("nan"), float("nan"))
        return {"p_value": _f(res.p_value), "t_stat": _f(res.t_stat), "ci_low": _f(lo),
                "ci_high": _f(hi), "B": float(res.B)}

    return "fvdid", prepare, run, extract


def _fvdid_ols() -> Runner:
    def run(state: Any, p: dict) -> Any:
        ols, d = state
        return ols("y ~ x1 + x2 | la + quarter", d, vcov="CR1", cluster="la")

    def extract(res: Any, state: Any, p: dict) -> dict:
        return {"coef_x1": _f(res.params["x1"]), "se_x1": _f(res.std_errors["x1"])}

    return "fvdid", _read_with("fvdid.ols", "ols"), run, extract


def _find_primary(obj: Any) -> float:
    """The primary effect estimate in fvdid run's results.json (its layout may evolve)."""
    prim = obj.get("primary", {}) if isinstance(obj, dict) else {}
    for k in ("estimate", "att", "coef", "beta", "effect"):
        if isinstance(prim.get(k), (int, float)):
            return float(prim[k])
    for v in prim.values():
        if isinstance(v, dict):
            for k in ("estimate", "att", "coef", "beta", "effect"):
                if isinstance(v.get(k), (int, float)):
                    return float(v[k])
    return float("nan")


def _fvdid_cli_run() -> Runner:
    # The memory sampler is a thread of the command's own process (it lists /proc and reads the
    # tree's smaps_rollup every 0.25 s): it takes the GIL from the run and the kernel's walk of
    # the page tables holds up its page faults, which made the command 2-5 s (10-20 %) slower
    # on the default (paired runs of the plain command against this wrapper, 2026-12-04).
    # With ``memory_run = "separate"`` the timed run is the plain command and the memory is
    # measured on a second, untimed run under the sampler (the same command, the same numbers);
    # otherwise (a run whose target is its memory, at 1M children) the timed run is sampled.
    def prepare(path: str, p: dict) -> Any:
        _import("fvdid.cli")
        return tempfile.mkdtemp(prefix="fvdid-bench-run-")

    def command(out: str, p: dict, sampled: bool) -> None:
        extra = [str(a) for a in p.get("cli_args", [])]
        env = {**os.environ, **{str(k): str(v) for k, v in dict(p.get("env", {})).items()}}
        hwm = Path(out) / ".peak_rss_mb"
        argv = ([sys.executable, "-c", _CLI_WRAPPER, str(hwm), out, *extra] if sampled else
                [sys.executable, "-m", "fvdid", "run", "--out", out, "--quiet", *extra])
        proc = subprocess.run(argv, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"fvdid run exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
        if sampled and hwm.exists():
            own, tree, pss = (float(v) for v in hwm.read_text().split())
            CLI_PEAKS.append((own, tree, pss))

    def separate(p: dict) -> bool:
        return p.get("memory_run") == "separate"

    def run(out: Any, p: dict) -> Any:
        # = `python -m fvdid run --out OUT --quiet` (under the memory sampler unless separate)
        command(out, p, sampled=not separate(p))
        return out

    def extract(out: Any, state: Any, p: dict) -> dict:
        if separate(p):  # the memory of the same command, measured after the clock stopped
            command(tempfile.mkdtemp(prefix="fvdid-bench-run-memory-"), p, sampled=True)
        f = Path(out) / "results.json"
        est = _find_primary(json.loads(f.read_text())) if f.exists() else float("nan")
        return {"primary_att": est}

    return "fvdid", prepare, run, extract


def _lean_config(p: dict) -> Any:
    config = _import("fvdid.config")
    return config.RunConfig.from_mapping({"seed": int(p["seed"]), "n_children": int(p["n_children"]),
                                          "progress": False, "parity_in_appendix": False,
                                          **dict(p.get("run_options", {}))})


def _fvdid_lean_analysis() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        pipeline = _import("fvdid.pipeline")
        cfg = _lean_config(p)
        extract, _ = pipeline.simulated_extract(cfg)  # built before the clock starts
        return pipeline, extract, cfg

    def run(state: Any, p: dict) -> Any:
        pipeline, extract, cfg = state
        return pipeline.analyse(extract, cfg, secondary=False, sensitivity=False, robustness=False,
                                checks=False)

    def extract(an: Any, state: Any, p: dict) -> dict:
        return {"primary_estimate": _f(an.primary.estimate),
                "primary_std_error": _f(an.primary.std_error)}

    return "fvdid", prepare, run, extract


class _Cluster:
    """A warmed-up local dask cluster held open between prepare and extract (closed by execute)."""

    def __init__(self, workers: int, replicate: Any) -> None:
        import contextlib

        self.replicate = replicate
        self.mc = _import("bench.montecarlo")
        self._stack = contextlib.ExitStack()
        self.client = self._stack.enter_context(self.mc.local_client(workers))

    def close(self) -> None:
        self._stack.close()


def _fvdid_montecarlo() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        rep = _import("fvdid.montecarlo.replication")
        replicate = (rep.TextbookReplication() if p.get("textbook") else rep.AnalysisReplication(
            run_options=tuple(sorted(dict(p.get("run_options", {})).items())), secondary=False,
            sensitivity=False, robustness=False, checks=False))
        return _Cluster(int(p["workers"]), replicate)

    def run(cl: Any, p: dict) -> Any:
        res = cl.mc.study(cl.client, int(p["reps"]), cl.replicate, dict(p.get("design", {})),
                          seed=int(p.get("seed", 20)))
        if res["failed"]:
            raise RuntimeError(f"{res['failed']} of {res['reps'] + res['failed']} replications "
                               "failed: a rate over the others would mislead")
        return res

    def extract(res: dict, cl: Any, p: dict) -> dict:
        peaks = cl.client.run(cl.mc.worker_peak_rss_mb)
        return {"reps_per_second": _f(res["reps_per_second"]), "reps": float(res["reps"]),
                "workers": float(p["workers"]),
                "worker_peak_rss_mb": max((_f(v) for v in peaks.values()), default=float("nan"))}

    return "fvdid", prepare, run, extract


# ------------------------------------------------------------------------------------------
# Python peers (run in the peers' venv)
# ------------------------------------------------------------------------------------------
def _dynamic_from_event_study(es: dict[float, tuple[float, float]], vcov: Any = None,
                              index: Any = None) -> dict:
    """Overall dynamic ATT as R's aggte(type = "dynamic"): the mean of ATT(e) over e >= 0."""
    import numpy as np

    post = sorted(e for e in es if e >= 0)
    att = float(np.mean([es[e][0] for e in post])) if post else float("nan")
    se = float("nan")
    if vcov is not None and index is not None:
        idx = [list(index).index(e) for e in post]
        w = np.full(len(idx), 1.0 / len(idx))
        V = np.asarray(vcov)[np.ix_(idx, idx)]
        se = float(np.sqrt(w @ V @ w))
    return {"dynamic_att": att, "dynamic_se": se}


def _diffdiff_cs() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        dd = _import("diff_diff")
        return dd, _read(path)

    def run(state: Any, p: dict) -> Any:
        dd, d = state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = dd.CallawaySantAnna(estimation_method="dr", n_bootstrap=0, cband=False,
                                      panel=bool(p["panel"]))
            res = est.fit(d, outcome="y", unit="id", time="year", first_treat="g",
                          covariates=list(p["covariates"]))
            return res.aggregate("event_study")

    def extract(es: Any, state: Any, p: dict) -> dict:
        import numpy as np

        et = np.asarray(es.event_time, dtype=float)
        ref = np.asarray(getattr(es, "is_reference", np.zeros(len(et), bool)), dtype=bool)
        eff = {float(e): (float(a), float(s)) for e, a, s, r in zip(et, es.att, es.se, ref) if not r}
        vcov = getattr(es, "vcov", None)
        index = getattr(es, "vcov_index", None)
        if index is not None:
            index = [float(i) for i in index]
        return _dynamic_from_event_study(eff, vcov, index)

    return "diff-diff", prepare, run, extract


def _csdid_att_gt() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        mod = _import("csdid.att_gt")
        return mod.ATTgt, _read(path)

    def run(state: Any, p: dict) -> Any:
        ATTgt, d = state
        xf = "y ~ " + "+".join(p["covariates"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):
                out = ATTgt(yname="y", gname="g", idname="id", control_group="nevertreated",
                            tname="year", xformla=xf, data=d, panel=bool(p["panel"]))
                out = out.fit(est_method="dr", bstrap=False)
                out.aggte(typec="dynamic", bstrap=False)
        return out

    def extract(out: Any, state: Any, p: dict) -> dict:
        agg = out.atte
        att = agg.get("overall_att") if isinstance(agg, dict) else getattr(agg, "overall_att", None)
        se = agg.get("overall_se") if isinstance(agg, dict) else getattr(agg, "overall_se", None)
        return {"dynamic_att": _f(att), "dynamic_se": _f(se)}

    return "csdid", prepare, run, extract


def _differences_attgt() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        mod = _import("differences")
        d = _read(path)
        d = d.copy()
        d["cohort"] = d["g"].where(d["g"] > 0)  # differences: NaN = never treated
        d = d.set_index(["id", "year"])
        return mod, d

    def run(state: Any, p: dict) -> Any:
        mod, d = state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            att = mod.ATTgt(data=d, cohort_column="cohort", base_period="varying")
            att.fit(formula="y ~ " + "+".join(p["covariates"]), est_method="dr",
                    control_group="never_treated", progress_bar=False,
                    as_repeated_cross_section=not bool(p["panel"]))
            return att.aggregate("event", overall=True)

    def extract(agg: Any, state: Any, p: dict) -> dict:
        def col(name: str) -> Any:
            c = next((c for c in agg.columns if (c[-1] if isinstance(c, tuple) else c) == name), None)
            return float("nan") if c is None else agg[c].iloc[0]

        return {"dynamic_att": _f(col("ATT")), "dynamic_se": _f(col("std_error"))}

    return "differences", prepare, run, extract


def _pypi_cem() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        import numpy as np
        import pandas as pd

        match = _import("cem.match").match
        d = _read(path)
        # The PyPI cem matches on columns that are already coarsened: apply the protocol's
        # coarsening (age 0-3 / 4-12 / 13+, gender's codes as they are, the rest exact). Missing
        # values become their own level (as a string), as in R cem and fvdid.
        c = d[["treated", *CEM_COVARIATES]].copy()
        c["age_at_referral"] = pd.cut(c["age_at_referral"], [-np.inf, 3, 12, np.inf], labels=False)
        for col in CEM_COVARIATES:
            c[col] = c[col].astype(str)
        return match, c

    def run(state: Any, p: dict) -> Any:
        match, c = state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return match(c, "treated")

    def extract(w: Any, state: Any, p: dict) -> dict:
        import numpy as np

        _, c = state
        keys = c[CEM_COVARIATES].agg("|".join, axis=1)
        return {"n_matched": float((np.asarray(w, dtype=float) > 0).sum()),
                "n_strata": float(keys.nunique())}

    return "cem", prepare, run, extract


# ------------------------------------------------------------------------------------------
def _pyfixest_wildboottest() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        pf = _import("pyfixest")
        _import("wildboottest")
        d = _read(path)
        fit = pf.feols("y ~ treat + x1 + x2", data=d, vcov={"CRV1": "g"})
        return fit

    def run(fit: Any, p: dict) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fit.wildboottest(param="treat", reps=int(p["B"]), seed=1)

    def extract(res: Any, state: Any, p: dict) -> dict:
        get = res.get if hasattr(res, "get") else (lambda k, default=None: default)
        return {"p_value": _f(get("Pr(>|t|)")), "t_stat": _f(get("t value"))}

    return "pyfixest", prepare, run, extract


def _wildboottest_sm() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        sm = _import("statsmodels.api")
        wb = _import("wildboottest.wildboottest")
        d = _read(path)
        X = sm.add_constant(d[["treat", "x1", "x2"]])
        model = sm.OLS(d["y"], X)
        return wb, model, d["g"].to_numpy()

    def run(state: Any, p: dict) -> Any:
        wb, model, g = state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):
                return wb.wildboottest(model, param="treat", cluster=g, B=int(p["B"]), seed=1)

    def extract(res: Any, state: Any, p: dict) -> dict:
        row = res.iloc[0] if hasattr(res, "iloc") else {}
        pv = next((row[k] for k in ("p-value", "pvalue", "p_value") if k in row), float("nan"))
        ts = next((row[k] for k in ("statistic", "t-stat", "t_stat") if k in row), float("nan"))
        return {"p_value": _f(pv), "t_stat": _f(ts)}

    return "wildboottest", prepare, run, extract


def _pyfixest_feols() -> Runner:
    def run(state: Any, p: dict) -> Any:
        pf, d = state
        return pf.feols("y ~ x1 + x2 | la + quarter", data=d, vcov={"CRV1": "la"})

    def extract(fit: Any, state: Any, p: dict) -> dict:
        return {"coef_x1": _f(fit.coef()["x1"]), "se_x1": _f(fit.se()["x1"])}

    return "pyfixest", _read_with("pyfixest"), run, extract


def _linearmodels_absorbing() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        import pandas as pd

        lm = _import("linearmodels.iv.absorbing")
        d = _read(path)
        absorb = pd.DataFrame({"la": pd.Categorical(d["la"]), "quarter": pd.Categorical(d["quarter"])})
        return lm, d, absorb

    def run(state: Any, p: dict) -> Any:
        lm, d, absorb = state
        mod = lm.AbsorbingLS(d["y"], d[["x1", "x2"]], absorb=absorb)
        return mod.fit(cov_type="clustered", clusters=d["la"])

    def extract(fit: Any, state: Any, p: dict) -> dict:
        return {"coef_x1": _f(fit.params["x1"]), "se_x1": _f(fit.std_errors["x1"])}

    return "linearmodels", prepare, run, extract


def _statsmodels_ols() -> Runner:
    def run(state: Any, p: dict) -> Any:
        smf, d = state
        return smf.ols("y ~ x1 + x2 + C(la) + C(quarter)", data=d).fit(
            cov_type="cluster", cov_kwds={"groups": d["la"]})

    def extract(fit: Any, state: Any, p: dict) -> dict:
        return {"coef_x1": _f(fit.params["x1"]), "se_x1": _f(fit.bse["x1"])}

    return "statsmodels", _read_with("statsmodels.formula.api"), run, extract


def _diffdiff_bacon() -> Runner:
    def prepare(path: str, p: dict) -> Any:
        dd = _import("diff_diff")
        d = _read(path)
        first = d.loc[d["fv"] == 1].groupby("la")["quarter"].min()
        d["first_treat"] = d["la"].map(first).fillna(0).astype(int)
        return dd, d

    def run(state: Any, p: dict) -> Any:
        dd, d = state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dd.BaconDecomposition().fit(d, outcome="referral_rate", unit="la",
                                               time="quarter", first_treat="first_treat")

    def extract(res: Any, state: Any, p: dict) -> dict:
        return {"twfe": _f(res.twfe_estimate), "n_2x2": float(len(res.comparisons))}

    return "diff-diff", prepare, run, extract


RUNNERS: dict[str, Callable[[], Runner]] = {
    "fvdid_simulate": _fvdid_simulate,
    "fvdid_att_gt": _fvdid_att_gt,
    "fvdid_cem": _fvdid_cem,
    "fvdid_bacon": _fvdid_bacon,
    "fvdid_boottest": _fvdid_boottest,
    "fvdid_ols": _fvdid_ols,
    "fvdid_cli_run": _fvdid_cli_run,
    "fvdid_lean_analysis": _fvdid_lean_analysis,
    "fvdid_montecarlo": _fvdid_montecarlo,
    "diffdiff_cs": _diffdiff_cs,
    "csdid_att_gt": _csdid_att_gt,
    "differences_attgt": _differences_attgt,
    "pypi_cem": _pypi_cem,
    "pyfixest_wildboottest": _pyfixest_wildboottest,
    "wildboottest_sm": _wildboottest_sm,
    "pyfixest_feols": _pyfixest_feols,
    "linearmodels_absorbing": _linearmodels_absorbing,
    "statsmodels_ols": _statsmodels_ols,
    "diffdiff_bacon": _diffdiff_bacon,
}


def _version(dist: str) -> str | None:
    if dist == "fvdid":
        try:
            import fvdid

            return str(fvdid.__version__)
        except Exception:
            return None
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def execute(runner: str, data: str, params: dict) -> dict[str, Any]:
    """Run one implementation; never raises (the outcome is in ``status``)."""
    out: dict[str, Any] = {"python": platform.python_version(), "executable": sys.executable}
    state: Any = None
    try:
        dist, prepare, run, extract = RUNNERS[runner]()
        out["version"] = _version(dist)
        state = prepare(data, params)
        out["rss_before_mb"] = round(_current_rss_mb(), 1)
        times: list[float] = []
        while True:
            t0 = time.perf_counter()
            obj = run(state, params)
            times.append(time.perf_counter() - t0)
            if times[0] >= FAST_S or len(times) >= FAST_REPEATS:
                break
        est = extract(obj, state, params)
        out.update(status="ok", seconds=min(times), all_seconds=times, n_repeats=len(times),
                   estimate={k: _f(v) for k, v in est.items()})
    except Absent as exc:
        out.update(status="absent", reason=str(exc))
    except Exception as exc:  # a failing implementation must not stop the benchmark
        tb = traceback.format_exc(limit=4)
        out.update(status="error", reason=f"{type(exc).__name__}: {exc}"[:600], traceback=tb[-2000:])
    finally:
        if isinstance(state, _Cluster):
            state.close()
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    if runner == "fvdid_cli_run":
        def peak(i: int) -> float:
            return round(max(c[i] for c in CLI_PEAKS), 1) if CLI_PEAKS else float("nan")

        out["peak_rss_mb"], out["peak_rss_own_mb"], out["peak_rss_tree_sum_mb"] = peak(2), peak(0), peak(1)
        out["peak_rss_note"] = ("peak_rss_mb: peak of the summed PSS of the `fvdid run` process and "
                                "its forked workers (each shared page split among its sharers: the "
                                "physical memory the tree holds; sampled every 0.25 s, at least the "
                                "process's own VmHWM, peak_rss_own_mb); peak_rss_tree_sum_mb: the "
                                "summed RSS, which counts a page a fork shares with its parent in "
                                "both (an upper bound)")
    return out


def main(argv: list[str]) -> int:
    runner, data, params_json, out_path = argv
    res = execute(runner, data, json.loads(params_json))
    Path(out_path).write_text(json.dumps(res, indent=1, allow_nan=True) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main(sys.argv[1:]))
