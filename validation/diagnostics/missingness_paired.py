"""Does the multiple imputation attenuate the headline? Paired: default missingness vs none.

Each replication ``r`` of the default study's design scenario is simulated twice from the same
seed (``replication_seed(0, "design", r)``): with the simulator's default missing shares and with
every ``missing_*`` share 0. The masks are drawn as ``rng.random(n) < share`` whatever the share,
so both extracts hold the same children, covariates and outcomes; only which values are missing
(and so imputed) differs. The difference of the errors is the imputation's contribution.

    PYTHONPATH=. python validation/diagnostics/missingness_paired.py OUT.parquet 1 2 3 ...
    PYTHONPATH=. python validation/diagnostics/missingness_paired.py --summary missingness_paired.csv

``missingness_paired.csv`` holds replications 0-14 and 36-48 (28; code at commit 04194f2, OpenBLAS
on one thread as the study's workers).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

ZERO = {k: 0.0 for k in ("missing_disabled", "missing_fsm", "missing_ethnicity",
                         "missing_n_prev_cpp", "missing_outcome")}


def run(out: str, reps: list[int]) -> None:
    """The study's replication under both missingness settings; every record row to ``out``."""
    from fvdid.montecarlo.design import Design, EffectScenario
    from fvdid.montecarlo.engine import replication_seed
    from fvdid.montecarlo.replication import AnalysisReplication

    replicate = AnalysisReplication(
        run_options=(("n_imputations", 2), ("boot_B", 0), ("ri_pool_max", 0),
                     ("extras", {"la_placebo": False, "la_figures": False})),
        secondary=False, sensitivity=False, robustness=False)
    variants = {"default": Design.from_mapping({"n_children": 100000}),
                "nomiss": Design.from_mapping({"n_children": 100000, **ZERO})}
    sc = EffectScenario("design", "design")
    frames = []
    for r in reps:
        for name, design in variants.items():
            frames.append(replicate(replication_seed(0, "design", r), sc, design).assign(rep=r, variant=name))
        pd.concat(frames).to_parquet(out)
        print("replication", r, "done", flush=True)


def summary(path: str) -> None:
    """Error against the matched truth under each setting and the paired difference."""
    d = pd.read_csv(path) if path.endswith(".csv") else pd.read_parquet(path)
    d = d.assign(err=d["estimate"] - d["truth"].fillna(0.0))
    w = d.pivot_table(index="rep", columns=["estimator", "variant"], values="err")
    for e in ("headline", "linear_iw", "logit_ame", "pooled_fv", "pooled_la_fy"):
        a, b = w[(e, "default")], w[(e, "nomiss")]
        ok = a.notna() & b.notna()
        a, b = a[ok], b[ok]
        n = len(a)
        print(f"{e:13s} n={n} default {a.mean():+.5f} ({a.std() / np.sqrt(n):.5f})  "
              f"none missing {b.mean():+.5f} ({b.std() / np.sqrt(n):.5f})  "
              f"difference {(a - b).mean():+.5f} ({(a - b).std() / np.sqrt(n):.5f})")


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        summary(sys.argv[2])
    else:
        run(sys.argv[1], [int(a) for a in sys.argv[2:]])
