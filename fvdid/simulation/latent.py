"""Latent LA x quarter indices: LA fixed effects, trends, COVID shocks, cycles, twins, extract.

Each function takes the generator and the arrays it needs and returns new arrays; the order in
which :func:`fvdid.simulation.las.draw_las` calls them is the order of the draws.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fvdid.simulation.config import Shock, SimConfig
from fvdid.simulation.constants import (
    _COEF,
    _COVID_MEAN,
    _COVID_PROFILE,
    _K,
    _M_COVID,
    _M_CYCLE,
    _M_FE,
    _M_TREND,
    LA,
)

__all__ = ["Components", "adjust_covid", "covid_mean_sd", "covid_profile", "covid_shock", "draw_components", "draw_extract", "draw_twins",
           "latent_index"]  # fmt: skip


def covid_shock(cfg: SimConfig) -> Shock | None:
    """The configured ``"covid"`` shock, or None if COVID is switched off (``shocks`` lacks it)."""
    return next((s for s in cfg.shocks if s.name == "covid"), None)


def covid_mean_sd(cfg: SimConfig) -> tuple[np.ndarray, float]:
    """Mean COVID response per component and the between-LA sd scale (x ``_M_COVID``).

    The defaults (and a switched-off COVID, whose responses are drawn then zeroed, so every
    other draw stays the same) give the historical ``_COVID_MEAN`` and ``covid_sd``.
    """
    sh = covid_shock(cfg)
    mean = _COVID_MEAN
    if sh is not None and sh.mean != _COVID_MEAN[LA]:
        mean = _COVID_MEAN * (sh.mean / _COVID_MEAN[LA])
    sd = cfg.covid_sd if sh is None or sh.sd is None else sh.sd
    return mean, sd


def adjust_covid(cfg: SimConfig, comps: Components, treated: np.ndarray) -> Components:
    """Apply the COVID shock's ``treated_differential`` (looked-after index), or switch it off.

    Called after the twins are made, so twins do not copy the differential. Identity (the same
    object) for the default configuration.
    """
    sh = covid_shock(cfg)
    if sh is not None and sh.treated_differential == 0.0:
        return comps
    covid = np.zeros_like(comps.covid) if sh is None else comps.covid.copy()
    if sh is not None:
        covid[LA, treated] += sh.treated_differential
    return dataclasses.replace(comps, covid=covid)


@dataclass(frozen=True, eq=False)
class Components:
    """LA-level parts of the latent index, shape ``(component, LA)`` (``cyc``: x quarter).

    ``fe`` fixed effects (no intercept), ``trend`` per year, ``covid`` the LA's COVID response,
    ``cyc`` the AR(1) cycle path over latent quarters; ``dur`` the LA's plan-duration multiplier.
    """

    fe: np.ndarray
    trend: np.ndarray
    covid: np.ndarray
    cyc: np.ndarray
    dur: np.ndarray


def draw_components(
    rng: np.random.Generator, cfg: SimConfig, n_la: int, nq: int, treated: np.ndarray
) -> Components:
    """Draw fixed effects, trends, COVID responses and cycles; treatment LAs' excess; durations."""
    nk = len(_K)
    fe = rng.normal(0, 1, (nk, n_la)) * (cfg.la_fe_sd * _M_FE)[:, None]
    trend = rng.normal(0, 1, (nk, n_la)) * (cfg.trend_sd * _M_TREND)[:, None]
    covid_mean, covid_sd = covid_mean_sd(cfg)
    covid = covid_mean[:, None] + rng.normal(0, 1, (nk, n_la)) * (covid_sd * _M_COVID)[:, None]
    sig = cfg.cycle_sd * _M_CYCLE
    eps = rng.normal(0, 1, (nk, n_la, nq)) * sig[:, None, None]
    cyc = np.empty((nk, n_la, nq))
    cyc[:, :, 0] = eps[:, :, 0] / math.sqrt(1 - cfg.cycle_ar**2)
    for t in range(1, nq):
        cyc[:, :, t] = cfg.cycle_ar * cyc[:, :, t - 1] + eps[:, :, t]
    fe[LA, treated] += cfg.treated_excess_looked_after
    trend[LA, treated] += cfg.treated_trend_looked_after
    dur = np.exp(rng.normal(0, 0.15, n_la))
    return Components(fe=fe, trend=trend, covid=covid, cyc=cyc, dur=dur)


def draw_twins(
    rng: np.random.Generator,
    cfg: SimConfig,
    comps: Components,
    treated_idx: np.ndarray,
    pool: np.ndarray,
    pip_pool: np.ndarray,
    late_pool: np.ndarray,
) -> tuple[Components, np.ndarray, np.ndarray]:
    """Make comparators twins of the treatment LAs; return new components, ``twin_of``, ``decoy``.

    ``pool``, ``pip_pool`` and ``late_pool`` are boolean masks of the LAs that may become twins
    (eligible and large), decoy Partners-in-Practice twins and decoy late-data twins.
    ``twin_of`` is the row of the treatment LA copied (-1 for none).
    """
    fe, trend, covid, cyc = (a.copy() for a in (comps.fe, comps.trend, comps.covid, comps.cyc))
    _, covid_sd = covid_mean_sd(cfg)
    nk, n_la, nq = cyc.shape
    pool_i = np.flatnonzero(pool)
    n_twins = min(cfg.twins_per_treated * len(treated_idx), len(pool_i))
    chosen = rng.choice(pool_i, size=n_twins, replace=False)
    twin_of = np.full(n_la, -1)
    decoy = np.zeros(n_la, bool)
    pairs = [(int(c), int(treated_idx[i // cfg.twins_per_treated])) for i, c in enumerate(chosen)]
    if cfg.decoy_twins:
        pip_i = np.flatnonzero(pip_pool)
        late_i = np.flatnonzero(late_pool)
        if len(pip_i):
            d = int(rng.choice(pip_i))
            pairs.append((d, int(treated_idx[0])))
            decoy[d] = True
        if len(late_i):
            d = int(rng.choice(late_i))
            pairs.append((d, int(treated_idx[min(2, len(treated_idx) - 1)])))
            decoy[d] = True
    for c, t in pairs:
        twin_of[c] = t
        fe[:, c] = fe[:, t] + rng.normal(0, cfg.twin_offset_sd, nk)
        trend[:, c] = trend[:, t] + rng.normal(0, 0.1, nk) * cfg.trend_sd * _M_TREND
        covid[:, c] = covid[:, t] + rng.normal(0, 0.1, nk) * covid_sd * _M_COVID
        cyc[:, c, :] = cyc[:, t, :] + rng.normal(0, cfg.twin_jitter_sd, (nk, nq))
    out = dataclasses.replace(comps, fe=fe, trend=trend, covid=covid, cyc=cyc)
    return out, twin_of, decoy


def covid_profile(q: np.ndarray) -> np.ndarray:
    """COVID profile ``C(q)`` over quarter ordinals (1, .55, .7, .85 in 2020Q2..2021Q1)."""
    return np.array([_COVID_PROFILE.get(str(pd.Period(ordinal=int(x), freq="Q")), 0.0) for x in q])


def latent_index(
    comps: Components, q: np.ndarray, years_q: np.ndarray, innov: np.ndarray
) -> np.ndarray:
    """``eta[k, la, q]`` without intercepts: FE + trend + COVID + cycle + season + innovation."""
    cprof = covid_profile(q)
    season = _COEF["season"][:, (q % 4)]  # (nk, nq); ordinal % 4 == quarter-of-year - 1
    return (
        comps.fe[:, :, None]
        + comps.trend[:, :, None] * years_q[None, None, :]
        + comps.covid[:, :, None] * cprof[None, None, :]
        + comps.cyc
        + season[:, None, :]
        + _COEF["innovation"][:, None, None] * innov[None, :, :]
    )  # (nk, n_la, nq)


def draw_extract(
    rng: np.random.Generator,
    cfg: SimConfig,
    comps: Components,
    pre: np.ndarray,
    treated_idx: np.ndarray,
    always: np.ndarray,
    eligible: np.ndarray,
    big: np.ndarray,
) -> np.ndarray:
    """LAs in the child extract: ``always`` (treatment LAs, trailblazer), nearest comparators, extras.

    Nearness is Euclidean on the standardised DGP parameters (FE, trend, COVID and the cycle
    path over the ``pre`` quarters); only ``eligible`` LAs qualify; extras are ``big`` too.
    """
    nk = len(_K)
    fe, trend, covid, cyc = comps.fe, comps.trend, comps.covid, comps.cyc
    feats = [fe[k] for k in range(nk)] + [trend[k] * 4 for k in range(nk)]
    feats += [covid[k] for k in range(nk)] + [cyc[k][:, pre].T for k in range(nk)]
    feat = np.vstack([np.atleast_2d(f) for f in feats]).T  # (n_la, features)
    feat = (feat - feat.mean(0)) / np.where(feat.std(0) > 0, feat.std(0), 1.0)
    in_extract = always.copy()
    cand = eligible.copy()
    for t in treated_idx:
        d = np.sqrt(((feat - feat[t]) ** 2).sum(1))
        d[~cand | in_extract] = np.inf
        near = np.argsort(d, kind="stable")[: cfg.extract_comparators_per_treated]
        near = near[np.isfinite(d[near])]
        in_extract[near] = True
    extra_pool = np.flatnonzero(cand & ~in_extract & big)
    n_extra = min(cfg.extract_extra_comparators, len(extra_pool))
    if n_extra:
        in_extract[rng.choice(extra_pool, size=n_extra, replace=False)] = True
    return in_extract

