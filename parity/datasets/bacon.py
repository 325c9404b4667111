"""Fixture datasets of the "bacon" family: simulated LA x quarter panels.

152 local authorities (LAs) x 28 quarters (2017/18 Q1 to 2023/24 Q4), balanced, with a binary
absorbing treatment rolled out in staggered cohorts, a never-treated group AND an always-treated
group (LAs treated from the first quarter), two time-varying LA covariates that trend
differently by cohort (so the covariate-adjusted decomposition has between-group covariate
variation), and an outcome with LA and quarter effects and a treatment effect that grows with
event time and differs by cohort (so the 2x2s disagree, as they do when the decomposition
matters).

Each generator is deterministic (``numpy.random.default_rng`` with a fixed seed) and rounds its
values to 6 decimals, so the CSV text parses to the same doubles in R and pandas. Written to
``fixtures/data/bacon/<name>.csv`` by ``python -m parity.datasets build bacon``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["DATASETS", "la_quarter_panel"]

N_LA = 152
N_QUARTERS = 28


def la_quarter_panel(
    cohorts: dict[int, int],
    *,
    n_never: int,
    n_always: int,
    seed: int,
    n_quarters: int = N_QUARTERS,
    time_codes: np.ndarray | None = None,
) -> pd.DataFrame:
    """A balanced LA x quarter panel with staggered adoption.

    Parameters
    ----------
    cohorts
        ``{first treated quarter index (1-based, > 1): number of LAs}``.
    n_never, n_always
        LAs never treated / treated from the first quarter.
    seed
        numpy seed.
    n_quarters
        Number of quarters.
    time_codes
        Values of the ``quarter`` column (default ``1..n_quarters``).
    """
    rng = np.random.default_rng(seed)
    first = np.concatenate(
        [np.full(n_never, 0), np.full(n_always, 1)]
        + [np.full(n, q) for q, n in sorted(cohorts.items())]
    )
    n_la = len(first)
    t = np.arange(1, n_quarters + 1)
    treated = (first[:, None] > 0) & (t[None, :] >= first[:, None])
    event = np.where(treated, t[None, :] - first[:, None], -1)

    # Cohort position in [0, 1]: 0 = earliest adopter, 1 = never treated.
    pos = np.where(first == 0, n_quarters + 1, first) / (n_quarters + 1)
    la_fe = rng.normal(0.0, 6.0, n_la) + 4.0 * pos
    q_fe = 2.0 * np.sin(2 * np.pi * t / 4) + 0.15 * t + np.cumsum(rng.normal(0.0, 0.4, n_quarters))
    covid = (t >= 12) & (t <= 16)
    q_fe = q_fe - 3.0 * covid

    log_pop = (
        rng.normal(10.5, 0.6, n_la)[:, None]
        + (0.002 + 0.004 * pos)[:, None] * t[None, :]
        + rng.normal(0.0, 0.01, (n_la, n_quarters))
    )
    deprivation = (
        rng.normal(22.0, 6.0, n_la)[:, None]
        - (0.05 + 0.1 * (1 - pos))[:, None] * t[None, :]
        + 0.8 * treated
        + rng.normal(0.0, 0.7, (n_la, n_quarters))
    )
    cohort_effect = rng.normal(-2.0, 1.5, n_la)
    effect = np.where(treated, cohort_effect[:, None] - 0.25 * event, 0.0)
    y = (
        140.0
        + la_fe[:, None]
        + q_fe[None, :]
        + 3.0 * (log_pop - 10.5)
        + 0.4 * deprivation
        + effect
        + rng.normal(0.0, 2.5, (n_la, n_quarters))
    )
    codes = t if time_codes is None else np.asarray(time_codes)
    la = np.array([f"LA{i + 1:03d}" for i in range(n_la)])
    perm = rng.permutation(n_la)  # cohorts are not in LA-code order
    return pd.DataFrame(
        {
            "la": np.repeat(la[perm], n_quarters),
            "quarter": np.tile(codes, n_la),
            "fv": treated.astype(int).ravel(),
            "referral_rate": np.round(y, 6).ravel(),
            "log_child_pop": np.round(log_pop, 6).ravel(),
            "deprivation": np.round(deprivation, 6).ravel(),
        }
    ).sort_values(["la", "quarter"], ignore_index=True)


def la_quarter() -> pd.DataFrame:
    """152 LAs x 28 quarters (``quarter`` = 1..28): 38 never, 10 always treated, 9 cohorts."""
    cohorts = {4: 12, 9: 14, 12: 16, 17: 18, 18: 1, 20: 10, 22: 15, 25: 10, 28: 8}
    return la_quarter_panel(cohorts, n_never=38, n_always=10, seed=20240701)


def la_quarter_yq() -> pd.DataFrame:
    """152 LAs x 28 quarters coded ``year * 10 + q`` (20171 ... 20234: gaps between years).

    6 never treated, 40 always treated, cohorts of very unequal sizes (one of a single LA), so
    the always-treated comparisons carry real weight.
    """
    yq = np.array([y * 10 + q for y in range(2017, 2024) for q in range(1, 5)])
    cohorts = {2: 3, 6: 30, 11: 1, 15: 45, 16: 7, 23: 20}
    return la_quarter_panel(cohorts, n_never=6, n_always=40, seed=20240702, time_codes=yq)


DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "la_quarter": la_quarter,
    "la_quarter_yq": la_quarter_yq,
}
