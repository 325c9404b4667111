"""Fixture datasets of the "glm" family: logit, conditional logit, tobit, hurdle, lmer.

Each generator is deterministic (``numpy.random.default_rng`` with a fixed seed) and rounds its
values to 6 decimals, so the CSV text parses to the same doubles in R and pandas. Written to
``fixtures/data/glm/<name>.csv`` by ``python -m parity.datasets build glm``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["DATASETS"]


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit_panel() -> pd.DataFrame:
    """600 rows, 6 clusters ``g``, 8 fixed-effect levels ``la``, positive non-integer weights.

    Seven rows have a missing ``x2`` (dropped and counted on both sides).
    """
    rng = np.random.default_rng(20240611)
    n = 600
    g = rng.integers(1, 7, n)
    la = rng.integers(1, 9, n)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n) + 0.3 * g
    eta = -0.4 + 0.7 * x1 - 0.5 * x2 + 0.15 * la + 0.3 * rng.normal(size=6)[g - 1]
    y = (rng.uniform(size=n) < _expit(eta)).astype(int)
    w = np.round(rng.uniform(0.5, 3.0, n), 6)
    d = pd.DataFrame(
        {"y": y, "x1": np.round(x1, 6), "x2": np.round(x2, 6), "g": g, "la": la, "w": w}
    )
    d.loc[rng.choice(n, 7, replace=False), "x2"] = np.nan
    return d


def clogit_strata() -> pd.DataFrame:
    """Matched sets of several sizes: 1:1 pairs, 1:4 sets, 40 strata of 10-60 rows with several
    cases each, and 6 uninformative strata (singletons, all controls, all cases)."""
    rng = np.random.default_rng(20240612)
    sizes: list[tuple[int, int]] = []  # (rows, cases)
    sizes += [(2, 1)] * 60
    sizes += [(5, 1)] * 40
    for _ in range(40):
        m = int(rng.integers(10, 61))
        sizes.append((m, int(rng.integers(2, m // 2 + 1))))
    sizes += [(1, 1), (1, 0), (4, 0), (3, 3), (1, 0), (6, 0)]
    rows = []
    for s, (m, cases) in enumerate(sizes, start=1):
        x1 = rng.normal(size=m) + rng.normal()
        x2 = rng.binomial(1, 0.4, m)
        k = rng.integers(1, 4, m)
        score = 0.8 * x1 - 0.6 * x2 + 0.3 * (k == 2) - 0.4 * (k == 3) + rng.gumbel(size=m)
        y = np.zeros(m, dtype=int)
        y[np.argsort(-score)[:cases]] = 1
        for i in range(m):
            rows.append((s, y[i], round(float(x1[i]), 6), int(x2[i]), int(k[i])))
    return pd.DataFrame(rows, columns=["stratum", "y", "x1", "x2", "k"])


def tobit_censored() -> pd.DataFrame:
    """500 rows; ``y`` latent normal censored at 0 (about 35% censored); ``y2`` the same latent
    variable censored at 0 and at 4 (two-sided)."""
    rng = np.random.default_rng(20240613)
    n = 500
    x1 = rng.normal(size=n)
    x2 = rng.uniform(0, 2, n)
    ystar = 0.5 + 1.2 * x1 - 0.8 * x2 + 1.5 * rng.normal(size=n)
    y = np.maximum(ystar, 0.0)
    y2 = np.clip(ystar, 0.0, 4.0)
    return pd.DataFrame(
        {"y": np.round(y, 6), "y2": np.round(y2, 6), "x1": np.round(x1, 6), "x2": np.round(x2, 6)}
    )


def hurdle_counts() -> pd.DataFrame:
    """800 rows with two count outcomes sharing a hurdle: ``yp`` zero-truncated Poisson beyond
    the hurdle, ``yn`` zero-truncated negative binomial (theta = 1.5)."""
    rng = np.random.default_rng(20240614)
    n = 800
    x1 = np.round(rng.normal(size=n), 6)
    x2 = rng.binomial(1, 0.5, n)
    cross = rng.uniform(size=n) < _expit(0.2 + 0.9 * x1 - 0.5 * x2)
    mu = np.exp(0.6 + 0.4 * x1 + 0.3 * x2)

    def truncated(draw: Callable[[int], np.ndarray]) -> np.ndarray:
        out = draw(n)
        while (out == 0).any():
            zero = out == 0
            out[zero] = draw(n)[zero]
        return out

    yp = truncated(lambda m: rng.poisson(mu))
    theta = 1.5
    yn = truncated(lambda m: rng.negative_binomial(theta, theta / (theta + mu)))
    return pd.DataFrame(
        {"yp": np.where(cross, yp, 0), "yn": np.where(cross, yn, 0), "x1": x1, "x2": x2}
    )


def lmer_balanced() -> pd.DataFrame:
    """30 groups of 8 rows; random intercept sd 0.8, residual sd 1."""
    rng = np.random.default_rng(20240615)
    G, m = 30, 8
    group = np.repeat(np.arange(1, G + 1), m)
    x1 = rng.normal(size=G * m)
    x2 = rng.binomial(1, 0.5, G * m)
    y = 1.0 + 0.5 * x1 - 0.3 * x2 + 0.8 * rng.normal(size=G)[group - 1] + rng.normal(size=G * m)
    return pd.DataFrame({"y": np.round(y, 6), "x1": np.round(x1, 6), "x2": x2, "group": group})


def lmer_unbalanced() -> pd.DataFrame:
    """45 groups of 1 to 25 rows (string labels), a group-level covariate; 5 rows miss ``y``."""
    rng = np.random.default_rng(20240616)
    sizes = rng.integers(1, 26, 45)
    group = np.repeat([f"s{j:02d}" for j in range(1, 46)], sizes)
    gi = np.repeat(np.arange(45), sizes)
    n = len(group)
    z = rng.normal(size=45)
    x1 = rng.normal(size=n) + 0.5 * z[gi]
    y = 2.0 + 0.7 * x1 + 0.4 * z[gi] + 0.5 * rng.normal(size=45)[gi] + 1.2 * rng.normal(size=n)
    d = pd.DataFrame(
        {"y": np.round(y, 6), "x1": np.round(x1, 6), "z": np.round(z[gi], 6), "group": group}
    )
    d.loc[rng.choice(n, 5, replace=False), "y"] = np.nan
    return d


def firth_sparse() -> pd.DataFrame:
    """400 rows, a rare outcome (about 6 %) and sparse cells, positive non-integer weights ``w``.

    ``cell`` has 8 levels; level 8 (15 rows) has no event, so the maximum likelihood estimate
    does not exist there while Firth's penalised estimate does (the headline logit's case: a
    comparison cell without events). ``x1`` is continuous, ``x2`` binary.
    """
    rng = np.random.default_rng(20261202)
    sizes = [80, 70, 60, 55, 50, 40, 30, 15]
    cell = np.repeat(np.arange(1, 9), sizes)
    n = len(cell)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.35, n)
    eta = -3.2 + 0.6 * x1 + 0.5 * x2 + 0.4 * rng.normal(size=8)[cell - 1]
    y = (rng.uniform(size=n) < _expit(eta)).astype(int)
    y[cell == 8] = 0
    w = np.round(rng.uniform(0.3, 2.5, n), 6)
    return pd.DataFrame({"y": y, "x1": np.round(x1, 6), "x2": x2, "cell": cell, "w": w})


DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "logit_panel": logit_panel,
    "clogit_strata": clogit_strata,
    "tobit_censored": tobit_censored,
    "hurdle_counts": hurdle_counts,
    "lmer_balanced": lmer_balanced,
    "lmer_unbalanced": lmer_unbalanced,
    "firth_sparse": firth_sparse,
}
