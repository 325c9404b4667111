"""Fixture datasets of the wild cluster bootstrap parity cases (``fixtures/data/boottest/``).

* ``few_clusters``: 8 states (few clusters: full enumeration of 2^8 Rademacher draws), pairs of
  states form 4 regions, a ``half`` indicator crosses the states; individual-level treatment,
  a covariate, and CEM-like weights (coarsened strata on covariate x sex, controls reweighted
  to the treated distribution, unmatched strata weight 0).
* ``twfe_panel``: 10 local authorities x 6 years x 8 children, staggered adoption in 4 LAs,
  LA and year fixed effects (the year effects cross the LA clusters), CEM-like weights.
* ``subcluster_small``: 4 local authorities x 2 periods x 20 children, 2 treated LAs (treated in
  period 2); LA x period shocks. Wild *subcluster* bootstrap with full enumeration: errors
  clustered by LA (G = 4), weights drawn by LA x period (G* = 8, 2^8 = 256 sign vectors).
* ``subcluster_panel``: 12 local authorities x 5 years x 10 children, 3 treated LAs with
  staggered go-live (few treated clusters, the primary design's shape), LA x year shocks,
  CEM-like weights, and a row ``id`` (the bootstrap clustered by observation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DATASETS"]


def _cem_weights(treat: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """CEM weights: treated 1, matched controls (m_C/m_T) (n_T_s/n_C_s), unmatched 0."""
    df = pd.DataFrame({"t": treat, "s": strata})
    n_t = df.groupby("s")["t"].sum()
    n_c = df.groupby("s")["t"].count() - n_t
    matched = (n_t > 0) & (n_c > 0)
    m = df["s"].map(matched).to_numpy()
    m_t = int(((treat == 1) & m).sum())
    m_c = int(((treat == 0) & m).sum())
    ratio = (n_t / n_c.where(n_c > 0)).reindex(df["s"]).to_numpy()
    w = np.where(treat == 1, 1.0, (m_c / m_t) * ratio)
    return np.where(m, w, 0.0)


def few_clusters() -> pd.DataFrame:
    rng = np.random.default_rng(20240611)
    n_states, per = 8, 30
    state = np.repeat(np.arange(1, n_states + 1), per)
    n = state.size
    region = (state + 1) // 2
    half = rng.integers(0, 2, n)
    female = rng.integers(0, 2, n)
    x = rng.normal(0.0, 1.0, n) + 0.15 * state
    p_treat = 1.0 / (1.0 + np.exp(-(-0.3 + 0.5 * x - 0.4 * female)))
    treat = (rng.uniform(size=n) < p_treat).astype(int)
    state_effect = rng.normal(0.0, 0.6, n_states)[state - 1]
    y = 1.0 + 0.25 * treat + 0.4 * x - 0.2 * female + state_effect + rng.normal(0.0, 1.0, n)
    xbin = np.digitize(x, [-1.5, 0.0, 1.0, 2.5])  # 5 bins; the extreme ones rarely match
    w = _cem_weights(treat, xbin * 2 + female)
    return pd.DataFrame(
        {
            "state": state,
            "region": region,
            "half": half,
            "female": female,
            "treat": treat,
            "x": np.round(x, 6),
            "y": np.round(y, 6),
            "w": np.round(w, 10),
        }
    )


def twfe_panel() -> pd.DataFrame:
    rng = np.random.default_rng(20240612)
    n_la, years, per = 10, np.arange(2017, 2023), 8
    la = np.repeat(np.arange(1, n_la + 1), len(years) * per)
    year = np.tile(np.repeat(years, per), n_la)
    n = la.size
    go_live = {2: 2019, 4: 2020, 7: 2021, 9: 2021}
    start = np.array([go_live.get(int(g), 9999) for g in la])
    fv = (year >= start).astype(int)
    female = rng.integers(0, 2, n)
    age = rng.integers(0, 18, n)
    x = rng.normal(0.0, 1.0, n)
    la_eff = rng.normal(0.0, 0.5, n_la)[la - 1]
    yr_eff = rng.normal(0.0, 0.3, len(years))[year - years[0]]
    shock = rng.normal(0.0, 0.4, (n_la, len(years)))[la - 1, year - years[0]]
    y = 0.2 * fv + 0.3 * x + 0.02 * age + la_eff + yr_eff + shock + rng.normal(0.0, 1.0, n)
    agebin = np.digitize(age, [4, 13])
    treated_la = np.isin(la, list(go_live)).astype(int)
    w = _cem_weights(treated_la, agebin * 2 + female)
    return pd.DataFrame(
        {
            "la": la,
            "year": year,
            "fv": fv,
            "female": female,
            "age": age,
            "x": np.round(x, 6),
            "y": np.round(y, 6),
            "w": np.round(w, 10),
        }
    )


def subcluster_small() -> pd.DataFrame:
    rng = np.random.default_rng(20261201)
    n_la, periods, per = 4, np.array([1, 2]), 20
    la = np.repeat(np.arange(1, n_la + 1), len(periods) * per)
    period = np.tile(np.repeat(periods, per), n_la)
    n = la.size
    treated_la = np.isin(la, [1, 3]).astype(int)
    fv = treated_la * (period == 2)
    female = rng.integers(0, 2, n)
    x = rng.normal(0.0, 1.0, n)
    la_eff = rng.normal(0.0, 0.5, n_la)[la - 1]
    shock = rng.normal(0.0, 0.4, (n_la, len(periods)))[la - 1, period - 1]
    y = 0.3 * fv + 0.4 * x - 0.2 * female + 0.1 * period + la_eff + shock
    y = y + rng.normal(0.0, 1.0, n)
    w = _cem_weights(treated_la, rng.integers(0, 3, n) * 2 + female)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "la": la,
            "period": period,
            "treated": treated_la,
            "fv": fv,
            "female": female,
            "x": np.round(x, 6),
            "y": np.round(y, 6),
            "w": np.round(w, 10),
        }
    )


def subcluster_panel() -> pd.DataFrame:
    rng = np.random.default_rng(20261202)
    n_la, years, per = 12, np.arange(2018, 2023), 10
    la = np.repeat(np.arange(1, n_la + 1), len(years) * per)
    year = np.tile(np.repeat(years, per), n_la)
    n = la.size
    go_live = {2: 2020, 5: 2021, 9: 2021}
    start = np.array([go_live.get(int(g), 9999) for g in la])
    fv = (year >= start).astype(int)
    female = rng.integers(0, 2, n)
    age = rng.integers(0, 18, n)
    x = rng.normal(0.0, 1.0, n)
    la_eff = rng.normal(0.0, 0.5, n_la)[la - 1]
    yr_eff = rng.normal(0.0, 0.3, len(years))[year - years[0]]
    shock = rng.normal(0.0, 0.4, (n_la, len(years)))[la - 1, year - years[0]]
    y = 0.25 * fv + 0.3 * x + 0.02 * age + la_eff + yr_eff + shock + rng.normal(0.0, 1.0, n)
    treated_la = np.isin(la, list(go_live)).astype(int)
    w = _cem_weights(treated_la, np.digitize(age, [4, 13]) * 2 + female)
    # the observation-level subcluster cases give R the regressor x as the bootcluster (its
    # check admits model variables only): x must identify each row, as id does
    assert np.unique(np.round(x, 6)).size == n
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "la": la,
            "year": year,
            "fv": fv,
            "female": female,
            "age": age,
            "x": np.round(x, 6),
            "y": np.round(y, 6),
            "w": np.round(w, 10),
        }
    )


DATASETS = {
    "few_clusters": few_clusters,
    "twfe_panel": twfe_panel,
    "subcluster_small": subcluster_small,
    "subcluster_panel": subcluster_panel,
}
