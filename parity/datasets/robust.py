"""Fixture datasets for the cluster-robust cases of tobit, hurdle and lmer ("robust" family).

Each generator is deterministic (``numpy.random.default_rng`` with a fixed seed) and rounds its
values to 6 decimals, so the CSV text parses to the same doubles in R and pandas. Written to
``fixtures/data/robust/<name>.csv`` by ``python -m parity.datasets build robust``. Every dataset
has clusters of unequal size with a shared cluster shock (so the cluster-robust and model-based
standard errors differ visibly) and positive non-integer weights ``w``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["DATASETS"]


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _clusters(rng: np.random.Generator, n_clusters: int, lo: int, hi: int) -> np.ndarray:
    sizes = rng.integers(lo, hi + 1, n_clusters)
    return np.repeat(np.arange(1, n_clusters + 1), sizes)


def tobit_clustered() -> pd.DataFrame:
    """30 clusters ``g`` of 8-30 rows; latent normal with a cluster shock and heteroskedastic
    noise, censored at 0 (``y``, ~40% censored); weights ``w``; 4 rows miss ``x2``."""
    rng = np.random.default_rng(20261201)
    g = _clusters(rng, 30, 8, 30)
    n = len(g)
    shock = rng.normal(0, 0.8, 30)[g - 1]
    x1 = rng.normal(size=n) + 0.5 * rng.normal(size=30)[g - 1]
    x2 = rng.uniform(0, 2, n)
    ystar = 0.3 + 1.1 * x1 - 0.7 * x2 + shock + (0.8 + 0.6 * x2) * rng.normal(size=n)
    w = rng.uniform(0.4, 2.5, n)
    d = pd.DataFrame(
        {
            "y": np.round(np.maximum(ystar, 0.0), 6),
            "x1": np.round(x1, 6),
            "x2": np.round(x2, 6),
            "g": g,
            "w": np.round(w, 6),
        }
    )
    d.loc[rng.choice(n, 4, replace=False), "x2"] = np.nan
    return d


def hurdle_clustered() -> pd.DataFrame:
    """40 clusters ``g`` of 10-35 rows; a cluster shock enters the hurdle and the count mean;
    ``yp`` Poisson and ``yn`` negative binomial (theta = 2) beyond the hurdle; weights ``w``."""
    rng = np.random.default_rng(20261202)
    g = _clusters(rng, 40, 10, 35)
    n = len(g)
    shock = rng.normal(0, 0.5, 40)[g - 1]
    x1 = np.round(rng.normal(size=n) + 0.4 * rng.normal(size=40)[g - 1], 6)
    x2 = rng.binomial(1, 0.5, n)
    cross = rng.uniform(size=n) < _expit(0.3 + 0.8 * x1 - 0.4 * x2 + shock)
    mu = np.exp(0.5 + 0.35 * x1 + 0.25 * x2 + 0.6 * shock)

    def truncated(draw: Callable[[], np.ndarray]) -> np.ndarray:
        out = draw()
        while (out == 0).any():
            zero = out == 0
            out[zero] = draw()[zero]
        return out

    yp = truncated(lambda: rng.poisson(mu))
    theta = 2.0
    yn = truncated(lambda: rng.negative_binomial(theta, theta / (theta + mu)))
    w = rng.uniform(0.5, 2.0, n)
    return pd.DataFrame(
        {
            "yp": np.where(cross, yp, 0),
            "yn": np.where(cross, yn, 0),
            "x1": x1,
            "x2": x2,
            "g": g,
            "w": np.round(w, 6),
        }
    )


def lmer_nested() -> pd.DataFrame:
    """12 regions, each with 3-6 schools (``school``, nested), each with 2-15 rows; random
    school intercept, a region shock and heteroskedastic noise (so the model is misspecified
    and cluster-robust errors differ); a school-level covariate ``z``; 3 rows miss ``x1``."""
    rng = np.random.default_rng(20261203)
    rows = []
    school = 0
    for region in range(1, 13):
        r_shock = rng.normal(0, 0.5)
        for _ in range(int(rng.integers(3, 7))):
            school += 1
            u = rng.normal(0, 0.7)
            z = rng.normal()
            for _ in range(int(rng.integers(2, 16))):
                x1 = rng.normal() + 0.3 * z
                e = rng.normal() * (0.6 + 0.5 * abs(x1))
                y = 1.0 + 0.5 * x1 - 0.3 * z + r_shock + u + e
                rows.append((round(y, 6), round(x1, 6), round(z, 6), f"sch{school:03d}", region))
    d = pd.DataFrame(rows, columns=["y", "x1", "z", "school", "region"])
    d.loc[rng.choice(len(d), 3, replace=False), "x1"] = np.nan
    return d


DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "tobit_clustered": tobit_clustered,
    "hurdle_clustered": hurdle_clustered,
    "lmer_nested": lmer_nested,
}
