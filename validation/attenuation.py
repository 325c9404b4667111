"""The attenuation of issue 20, decomposed on a study's design replications.

Every estimator's mean estimate against the two truths the simulator reports (the mean true
effect among the FV children CEM matched, ``truth``, and among all FV children, ``truth_all_fv``),
under the design's effects (which grow with event time) and under the null, with Monte Carlo SEs;
then the regression of each estimator's error on the truth across all scenarios (a slope below 0
is an attenuation proportional to the effect, the intercept an error that does not scale with it).

    PYTHONPATH=. python validation/attenuation.py validation/montecarlo-100k-imp
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ESTIMATORS = (("pooled_la_fy", "protocol-literal pooled FV coefficient, LA + FY effects"),
              ("pooled_fv", "pooled FV coefficient in the stacked matched pairs"),
              ("linear_iw", "linear interaction-weighted (FV-child weights)"),
              ("logit_ame", "logit AME, every FV child its own effect (where the rule chose it)"),
              ("headline", "headline (the rule's model)"))


def _mean(x: pd.Series) -> str:
    return f"{x.mean():+.4f} ({x.std() / np.sqrt(len(x)):.4f})"


def main(study: Path) -> None:
    """Print the decomposition of ``study`` (a folder with ``replications.parquet``)."""
    r = pd.read_parquet(study / "replications.parquet")
    r = r[r["outcome"] == "looked_after_18m"].drop_duplicates(["effect", "replication", "estimator"])
    des = r[r["effect"] == "design"]
    h = des[des["estimator"] == "headline"]
    print(f"design: {h['replication'].nunique()} replications; truth among the matched FV children "
          f"{_mean(h['truth'])}, among all FV children {_mean(h['truth_all_fv'])}; "
          f"the estimand's gap {_mean(h['truth_all_fv'] - h['truth'])}\n")
    print("| estimator | mean estimate (design) | minus the matched truth | minus the all-FV truth "
          "| null: mean estimate | error on truth: slope | intercept | replications |")
    print("|---|---|---|---|---|---|---|---|")
    for est, label in ESTIMATORS:
        x = des[des["estimator"] == est].dropna(subset=["estimate"])
        n = r[(r["effect"] == "null") & (r["estimator"] == est)].dropna(subset=["estimate"])
        a = r[r["estimator"] == est].dropna(subset=["estimate", "truth"])
        err = (a["estimate"] - a["truth"]).to_numpy()
        X = np.column_stack([np.ones(len(a)), a["truth"].to_numpy()])
        xtx = np.linalg.inv(X.T @ X)
        b = xtx @ X.T @ err
        u = err - X @ b
        v = xtx @ ((X * u[:, None] ** 2).T @ X) @ xtx * len(a) / (len(a) - 2)  # HC1
        print(f"| {label} | {_mean(x['estimate'])} | {_mean(x['estimate'] - x['truth'])} | "
              f"{_mean(x['estimate'] - x['truth_all_fv'])} | {_mean(n['estimate'])} | "
              f"{b[1]:+.3f} ({np.sqrt(v[1, 1]):.3f}) | {b[0]:+.4f} ({np.sqrt(v[0, 0]):.4f}) | "
              f"{len(x)} + {len(n)} (+ {len(a) - len(x) - len(n)} grid) |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
