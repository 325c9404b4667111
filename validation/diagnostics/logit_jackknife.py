"""The split-sample jackknife as the headline logit's finite-sample bias correction.

The headline's AME among FV children (:func:`fvdid.stages.logit_ame.logit_imputation_ame`)
rests on counterfactual predictions ``Λ(x' β̂)`` whose error is O(1/n) in the comparison rows
behind each fixed effect: the second-order (Cox–Snell) correction estimates it analytically and,
on the study's 1,000 design replications, over-shoots (the headline +0.00093 (MCSE 0.00029)
against the matched truth). The split-sample jackknife (Dhaene & Jochmans 2015, *Review of
Economic Studies* 82(3), 991–1030) estimates it from the data instead: the untreated rows are
split at random into two halves within every (treatment-LA-within-pair × period) cell, the
counterfactual model is refitted on each half (every FV child predicted from each), and, since
halving the rows behind every fixed effect doubles an O(1/n) error,

    AME_J = 2 AME − (AME_half1 + AME_half2) / 2

removes its first-order term whatever its source (the MLE's bias, Jensen's gap of the
prediction, the separation rule's losses). ``S`` splits are averaged (``--splits``).

For each replication ``r`` of the default study's design scenario (the harness:
``replication_seed(0, "design", r)``, analysed as in the study), the logit is refitted on the
first imputation with pair × financial-year terms (``fy``, the default) and pair × quarter terms
(``q``), to the observed outcome without (``ync``) and with (``y``) the second-order correction,
and on the halves of each split (``ync_hS_k``, ``y_hS_k``); ``p`` is the noise-free outcome
(misspecification alone). The summary adds the jackknifed estimates ``|Jync`` and ``|Jy``.

    PYTHONPATH=. python validation/diagnostics/logit_jackknife.py OUT.csv 2 3 4 ...
    PYTHONPATH=. python validation/diagnostics/logit_jackknife.py --summary FILE.csv ...

``logit_jackknife.csv`` holds replications 2-35 and 102-134 (67; the run was stopped there, its
answer clear; code at commit 092770c, OpenBLAS on one thread as the study's workers, 2 splits).
Error against the matched truth (MCSE in brackets, SD across replications), and paired
differences against the study's estimate ``fy|y``, which are the informative numbers here::

    67 replications (51 where the rule selected the logit)
    fy|y   -0.00120 (0.00128) SD 0.0105    fy|ync -0.00252 (0.00130)    fy|p -0.00152 (0.00089)
    fy|Jync - fy|y +0.00053 (0.00025)      fy|Jy - fy|y -0.00038 (0.00026)
    fy|ync - fy|y  -0.00132 (0.00009)
    q|y    +0.00116 (0.00107) SD 0.0087    q|Jy +0.00002 (0.00120) SD 0.0097 (65; 2 failed)
    q|p    -0.00056 (0.00028)

The jackknife of the uncorrected AME moves it by +0.0019 against the Cox–Snell correction's
+0.0013: the half samples' error is more than twice the full sample's (their cells hold half
the few comparison events, and separation loses more of them), so it over-shoots further, the
wrong way from the study's +0.00093 (0.00029). Jackknifing the corrected AME moves it by
-0.0004 (0.0003), the right way but by less than the study's bias, and the noise-free error of
the year terms (their misspecification, +0.0008 (0.0006) on ``logit_calibrated.csv``'s 200) is
beyond any finite-sample correction. With quarter terms the halves leave 1,500-3,400 FV children
unidentified per replication (cells without comparison events), so the halves estimate other
AMEs than the full sample. Not adopted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd
from _logit_harness import Y, _fractional, cli, error_table, logit_inputs, print_table, read_rows

import fvdid.errors as ferr

SPLITS = 2
"""Random splits per replication (each gives two half-sample fits)."""


def variants(dl: pd.DataFrame, fe: list[str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Years; quarters."""
    return dl, {"fy": ["C(pair_fy)"], "q": ["C(pair_time)"]}


def halves(dl: pd.DataFrame, cell: str, rng: np.random.Generator) -> np.ndarray:
    """0/1 per row: the half of each untreated row, alternating within (pair_tla × ``cell``) cells
    in a random order; FV rows get -1 (they are in both halves)."""
    untreated = (dl["fv"] != 1).to_numpy()
    key = dl["pair_tla"].astype(str) + "|" + dl[cell].astype(str)
    order = rng.permutation(len(dl))
    rank = pd.Series(np.arange(len(dl)), index=order).sort_index().to_numpy()
    within = pd.Series(rank).groupby(key.to_numpy()).rank(method="first").to_numpy().astype(int)
    h = within % 2
    return np.where(untreated, h, -1)


def fit(d: pd.DataFrame, terms: list[str], fe: list[str], n_clusters: int, bc: bool) -> tuple[float, int]:
    from fvdid.stages.logit_ame import logit_imputation_ame

    lg = logit_imputation_ame(d, Y, terms, n_clusters=n_clusters, fixed_effects=fe, bias_correction=bc)
    return float(lg.ame), int(lg.n_fv_unidentified)


def run(out: str, reps: Sequence[int], splits: int = SPLITS) -> None:
    rows = []
    for rep in reps:
        p, r, dl, covs, terms_of, pc = logit_inputs(rep, variants)
        rng = np.random.default_rng([rep, 20261203])
        for name, per in terms_of.items():
            fe = [*per, "C(pair_tla)"]
            terms = [*covs, *fe]
            cell = per[0][2:-1]
            jobs: list[tuple[str, pd.DataFrame, bool]] = [("ync", dl, False), ("y", dl, True)]
            for s in range(splits):
                h = halves(dl, cell, rng)
                for k in (0, 1):
                    part = dl[h != 1 - k]
                    jobs += [(f"ync_h{s}_{k}", part, False), (f"y_h{s}_{k}", part, True)]
            for kind, d, bc in jobs:
                try:
                    r[f"{name}|{kind}"], r[f"{name}|unid_{kind}"] = fit(d, terms, fe, p.n_clusters, bc)
                except Exception as exc:  # a failed fit is recorded, not fatal
                    r[f"{name}|{kind}"] = np.nan
                    r[f"{name}|{kind}|err"] = str(exc)[:80]
            real = ferr.check_binary
            ferr.check_binary = _fractional
            try:
                r[f"{name}|p"] = fit(dl.assign(**{Y: pc}), terms, fe, p.n_clusters, False)[0]
            except Exception as exc:
                r[f"{name}|p"] = np.nan
                r[f"{name}|p|err"] = str(exc)[:80]
            finally:
                ferr.check_binary = real
        rows.append(r)
        print({k: v for k, v in r.items() if "|unid" not in k and "_h" not in k}, flush=True)
        pd.DataFrame(rows).to_csv(out, index=False)


def jackknifed(d: pd.DataFrame) -> pd.DataFrame:
    """Adds ``name|Jync`` and ``name|Jy``: 2 x full − the mean of every half-sample fit."""
    out = d.copy()
    for name in ("fy", "q"):
        for kind in ("ync", "y"):
            hs = [c for c in d.columns if c.startswith(f"{name}|{kind}_h") and "|err" not in c]
            if hs:
                out[f"{name}|J{kind}"] = 2 * d[f"{name}|{kind}"] - d[hs].mean(axis=1, skipna=False)
    return out


def summary(files: Sequence[str], reference: str = "fy|y") -> None:
    d = jackknifed(read_rows(files))
    cols = [c for n in ("fy", "q") for c in (f"{n}|ync", f"{n}|y", f"{n}|Jync", f"{n}|Jy", f"{n}|p")]
    print_table(error_table(d, cols, reference))


if __name__ == "__main__":
    cli(sys.argv[1:], run, summary)
