"""The child extract: referrals, covariates, open-referral days, missingness, the frames.

:func:`draw_children` draws, from one generator and in a fixed order, the referrals
(:func:`draw_referrals`), the true covariates (:func:`draw_covariates`), the potential outcomes
(:func:`fvdid.simulation.outcomes.draw_outcomes`), the open-referral days
(:func:`draw_open_days`), absence (:func:`fvdid.simulation.absence.draw_absence`), missingness
(:func:`draw_missingness`) and age errors (:func:`draw_age_errors`), then assembles the
``children``, ``absence_terms`` and ``child_effects`` frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fvdid.config import OUTCOMES
from fvdid.simulation.absence import absence_terms_frame, draw_absence
from fvdid.simulation.config import SimConfig
from fvdid.simulation.constants import (
    _AGE_BAND,
    _ETH_MAJOR,
    _ETH_OTHER_REL,
    _ETHNICITY,
    _K,
    _P_AGE,
    _P_DIS,
    _P_GENDER_INFANT,
    _P_GENDER_NON_INFANT,
    _P_NEED,
    _P_PRIOR,
    _UASC_FEMALE,
    _UASC_MALE,
    _UASC_MIN_AGE,
    ABS,
)
from fvdid.simulation.las import LAs
from fvdid.simulation.outcomes import (
    child_effects_frame,
    draw_outcomes,
    linear_predictor,
    treatment,
    trial_end_day,
)
from fvdid.simulation.rates import Rates

__all__ = [
    "Covariates",
    "Missingness",
    "Referrals",
    "draw_age_errors",
    "draw_children",
    "draw_covariates",
    "draw_missingness",
    "draw_open_days",
    "draw_referrals",
    "largest_remainder",
]


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (deterministic)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(np.int64)
    rest = total - out.sum()
    if rest > 0:
        order = np.argsort(-(raw - out), kind="stable")
        out[order[:rest]] += 1
    return out


@dataclass(frozen=True, eq=False)
class Referrals:
    """Children sorted by (LA, referral date): LA row, month ordinal, day (days since epoch),
    quarter ordinal, position of the quarter among the latent quarters, (LA, quarter) cell."""

    la_i: np.ndarray
    month: np.ndarray
    day: np.ndarray
    q_abs: np.ndarray
    qpos: np.ndarray
    cell: np.ndarray


def draw_referrals(rng: np.random.Generator, cfg: SimConfig, las: LAs, n: int) -> Referrals:
    """Split ``n`` children over the extract's LAs and draw their referral months and dates.

    Treatment LAs hold ``treated_share`` of ``n`` (split by trial-period volume), the other
    extract LAs the rest; within an LA months follow the monthly volumes, and a share
    ``out_of_period_share`` is dated in the month before or after the trial period.
    """
    cal, vol_m = las.cal, las.volumes.vol_m
    ext = np.flatnonzero(las.in_extract)
    tr = las.go_live.treated[ext]
    mi = np.flatnonzero((cal.months >= cal.trial_m0) & (cal.months <= cal.trial_m1))
    trial_vol = vol_m[ext][:, mi].sum(1)
    n_t = round(cfg.treated_share * n) if tr.any() else 0
    if not (~tr).any():
        n_t = n
    counts = np.zeros(len(ext), dtype=np.int64)
    counts[tr] = largest_remainder(n_t, trial_vol[tr])
    counts[~tr] = largest_remainder(n - n_t, trial_vol[~tr])
    # months: in-trial multinomial by volume; out-of-period share split before / after
    m_all = np.concatenate([[cal.ext_m0], cal.months[mi], [cal.ext_m1]])
    la_parts, m_parts = [], []
    for j, la in enumerate(ext):
        c = int(counts[j])
        if c == 0:
            continue
        n_out = rng.binomial(c, cfg.out_of_period_share)
        n_before = rng.binomial(n_out, 0.5)
        p = vol_m[la, mi] / vol_m[la, mi].sum()
        per_month = np.concatenate([[n_before], rng.multinomial(c - n_out, p), [n_out - n_before]])
        la_parts.append(np.full(c, la, dtype=np.int64))
        m_parts.append(np.repeat(m_all, per_month))
    la_i = np.concatenate(la_parts)
    month = np.concatenate(m_parts)
    # dates (uniform within month), then sort by (la_code, date)
    uniq_m, inv_m = np.unique(month, return_inverse=True)
    starts = pd.PeriodIndex.from_ordinals(uniq_m, freq="M").to_timestamp().to_numpy().astype("datetime64[D]")
    ndays = pd.PeriodIndex.from_ordinals(uniq_m, freq="M").days_in_month.to_numpy()
    day = np.floor(rng.random(n) * ndays[inv_m]).astype(np.int64)
    date_d = starts[inv_m].astype(np.int64) + day  # days since epoch
    order = np.lexsort((date_d, la_i))  # la index order == la_code order
    la_i, month, date_d = la_i[order], month[order], date_d[order]
    q_abs = np.floor_divide(month, 3)
    qpos = q_abs - cal.q[0]
    return Referrals(la_i=la_i, month=month, day=date_d, q_abs=q_abs, qpos=qpos,
                     cell=la_i * len(cal.q) + qpos)  # fmt: skip


@dataclass(frozen=True, eq=False)
class Covariates:
    """True covariates of each child (the DGP uses these; missingness is applied afterwards).

    ``s`` and ``s_wb`` are the LA-quarter FSM and white British shares of the child's cell;
    ``eth_idx`` indexes the CIN census ethnicity codes.
    """

    age: np.ndarray
    band: np.ndarray
    gender: np.ndarray
    uasc: np.ndarray
    disabled: np.ndarray
    prior: np.ndarray
    n_prev: np.ndarray
    need: np.ndarray
    fsm: np.ndarray
    eth_idx: np.ndarray
    s: np.ndarray
    s_wb: np.ndarray

    def x(self) -> dict[str, np.ndarray]:
        """The outcome-relevant covariates, as keyword arguments of ``linear_predictor``."""
        return {"band": self.band, "disabled": self.disabled, "prior": self.prior,
                "need": self.need, "fsm": self.fsm, "uasc": self.uasc}  # fmt: skip


def draw_covariates(
    rng: np.random.Generator, s: np.ndarray, s_wb: np.ndarray, a_band: np.ndarray
) -> Covariates:
    """Draw covariates for children in cells with FSM shares ``s`` and white British shares ``s_wb``.

    Independent given the age band, except FSM (``s`` x relative prevalence ``a_band``) and
    ethnicity (WBRI with probability ``s_wb``, others by the national mix).
    """
    n = len(s)
    age = rng.choice(18, size=n, p=_P_AGE).astype(np.int8)
    band = _AGE_BAND[age]
    ug = rng.random(n)
    cg_inf = np.cumsum(_P_GENDER_INFANT)
    cg = np.cumsum(_P_GENDER_NON_INFANT)
    gender = np.where(
        age == 0, np.searchsorted(cg_inf, ug * cg_inf[-1], side="right"),
        np.searchsorted(cg, ug * cg[-1], side="right"),
    ).astype(np.int8)  # fmt: skip
    p_uasc = np.where(
        age >= _UASC_MIN_AGE,
        np.where(gender == 1, _UASC_MALE, np.where(gender == 2, _UASC_FEMALE, 0.0)),
        0.0,
    )
    # P(uasc | age) = P(male) M + P(female) F for age >= 14: exactly the support's weights
    uasc = (rng.random(n) < p_uasc).astype(np.int8)
    disabled = (rng.random(n) < _P_DIS[band]).astype(np.int8)
    prior = (rng.random(n) < _P_PRIOR[band]).astype(np.int8)
    n_prev = np.where(prior == 1, 1 + rng.poisson(0.35, n), 0)
    need = rng.choice(10, size=n, p=_P_NEED).astype(np.int8)
    p_fsm = np.clip(s * a_band[band], 0, 1)
    fsm = (rng.random(n) < p_fsm).astype(np.int8)
    ue = rng.random(n)
    other_cdf = np.cumsum(_ETH_OTHER_REL) / _ETH_OTHER_REL.sum()
    eth_idx = np.where(
        ue < s_wb, 0,
        1 + np.minimum(np.searchsorted(other_cdf, (ue - s_wb) / (1 - s_wb), side="right"), 18),
    )  # fmt: skip
    return Covariates(age=age, band=band, gender=gender, uasc=uasc, disabled=disabled,
                      prior=prior, n_prev=n_prev, need=need, fsm=fsm, eth_idx=eth_idx, s=s,
                      s_wb=s_wb)  # fmt: skip


def _overlap(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    return np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None)


def draw_open_days(
    rng: np.random.Generator,
    las: LAs,
    la_i: np.ndarray,
    ref_day: np.ndarray,
    y_days: np.ndarray,
    has_go: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Open-referral days within the trial period, and of those on or after go-live.

    The first referral lasts 20 + Gamma days (+ days on plans + 30); 22 % are re-referred.
    """
    n = len(ref_day)
    cal, go = las.cal, las.go_live.go
    t0_day = pd.Period(ordinal=cal.trial_m0, freq="M").start_time.to_datetime64().astype("datetime64[D]").astype(np.int64)
    t1_day = trial_end_day(cal) + 1
    len1 = 20 + np.rint(rng.gamma(1.2, 50.0, n)).astype(np.int64) + np.where(y_days > 0, y_days + 30, 0).astype(np.int64)
    rerefer = rng.random(n) < 0.22
    start2 = ref_day + len1 + 14 + np.rint(rng.exponential(180.0, n)).astype(np.int64)
    len2 = np.where(rerefer, 20 + np.rint(rng.gamma(1.2, 50.0, n)).astype(np.int64), 0)
    open_trial = _overlap(ref_day, ref_day + len1, t0_day, t1_day) + _overlap(start2, start2 + len2, t0_day, t1_day)
    go_day = np.where(
        has_go,
        pd.PeriodIndex.from_ordinals(np.where(has_go, go[la_i], 0), freq="M").start_time.to_numpy().astype("datetime64[D]").astype(np.int64),
        t1_day,
    )
    fv_from = np.maximum(go_day, t0_day)
    open_fv = _overlap(ref_day, ref_day + len1, fv_from, t1_day) + _overlap(start2, start2 + len2, fv_from, t1_day)
    return open_trial, open_fv


@dataclass(frozen=True, eq=False)
class Missingness:
    """Masks of missing recorded values (True = missing); ``outcome`` by outcome name."""

    n_prev_cpp: np.ndarray
    disabled: np.ndarray
    fsm: np.ndarray
    ethnicity: np.ndarray
    outcome: dict[str, np.ndarray]


def draw_missingness(
    rng: np.random.Generator, cfg: SimConfig, la_i: np.ndarray, n_la: int
) -> Missingness:
    """MCAR-within-LA missingness; ``n_prev_cpp`` has an LA-specific missing share.

    The LA share is within -0.04 / +0.06 of the configured share ("where possible to
    collect"), so the overall share stays above 30 % when the default 35 % is configured.
    Absence's missingness is drawn with absence itself.
    """
    n = len(la_i)

    def miss(share: float) -> np.ndarray:
        return rng.random(n) < share

    mp = cfg.missing_n_prev_cpp
    la_miss_prev = np.clip(rng.normal(mp, 0.03, n_la), max(0.0, mp - 0.04), min(1.0, mp + 0.06))
    m_prev = rng.random(n) < la_miss_prev[la_i]
    m_dis, m_fsm, m_eth = miss(cfg.missing_disabled), miss(cfg.missing_fsm), miss(cfg.missing_ethnicity)
    m_out = {o: miss(cfg.missing_outcome) for o in OUTCOMES if o != "unauth_absence_rate"}
    return Missingness(n_prev_cpp=m_prev, disabled=m_dis, fsm=m_fsm, ethnicity=m_eth, outcome=m_out)


def draw_age_errors(rng: np.random.Generator, cfg: SimConfig, age: np.ndarray) -> np.ndarray:
    """Recorded age: a share ``age_error_share`` of the children carries 18 (a data error)."""
    n = len(age)
    age_rec = age.copy()
    n_err = round(cfg.age_error_share * n)
    if n_err:
        age_rec[rng.choice(n, size=min(n_err, n), replace=False)] = 18
    return age_rec


def _fy_label(month_ordinal: np.ndarray) -> np.ndarray:
    year = 1970 + month_ordinal // 12
    month = month_ordinal % 12 + 1
    start = np.where(month >= 4, year, year - 1)
    return np.array([f"{y}/{(y + 1) % 100:02d}" for y in start], dtype=object)


def draw_children(
    rng: np.random.Generator,
    cfg: SimConfig,
    las: LAs,
    rates: Rates,
    a_band: np.ndarray,
    n: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Draw the child extract: ``children``, ``absence_terms`` and ``child_effects`` frames."""
    g = las.go_live
    ref = draw_referrals(rng, cfg, las, n)
    la_i, month, qpos, cell = ref.la_i, ref.month, ref.qpos, ref.cell
    s = las.share_fsm[la_i, qpos]
    cov = draw_covariates(rng, s, las.share_wb[la_i, qpos], a_band)
    eta = rates.eta.reshape(len(_K), -1)
    treat = treatment(las, la_i, month)
    po = draw_outcomes(rng, cfg, las, eta, rates.R, cell, {**cov.x(), "la_i": la_i}, treat,
                       ref.day, cov.age)  # fmt: skip
    open_trial, open_fv = draw_open_days(rng, las, la_i, ref.day, po.y_days, treat.has_go)
    lin_abs = eta[ABS][cell] + linear_predictor(ABS, **cov.x())
    ab = draw_absence(rng, cfg, cov.age, month, ref.day, lin_abs,
                      rates.R["unauth_absence_rate"].ravel()[cell], treat.fv, treat.e)  # fmt: skip
    m = draw_missingness(rng, cfg, la_i, las.n_la)
    age_rec = draw_age_errors(rng, cfg, cov.age)

    fv = treat.fv
    f_la = np.where(m.outcome["looked_after_18m"], np.nan, po.y_la.astype(float))
    f_cpp = np.where(m.outcome["cpp_12m"], np.nan, po.y_cpp.astype(float))
    f_days = np.where(m.outcome["days_cpp_cin_18m"], np.nan, po.y_days)
    la_obs = f_la == 1
    f_kin = np.where(la_obs & ~m.outcome["kinship_first_placement"], po.kin.astype(float), np.nan)
    f_reu = np.where(la_obs & po.reu_ok & ~m.outcome["reunified_18m"], po.reu.astype(float), np.nan)
    y_abs = np.full(n, np.nan)
    y_abs[ab.ia] = ab.rate_child

    child_id = np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 7)).astype(object)
    eth_codes = np.array(_ETHNICITY, dtype=object)
    major_of = np.array([_ETH_MAJOR.get(c, np.nan) for c in _ETHNICITY], dtype=object)
    eth = eth_codes[cov.eth_idx].copy()
    eth[m.ethnicity] = np.nan
    major = major_of[cov.eth_idx].copy()
    major[m.ethnicity] = np.nan
    in_trial = (month >= las.cal.trial_m0) & (month <= las.cal.trial_m1)
    tl_la = g.treated[la_i]
    emb = tl_la & (month >= g.fgc[la_i]) & (month < g.go[la_i])
    uniq_m2, inv_m2 = np.unique(month, return_inverse=True)
    fy = _fy_label(uniq_m2)[inv_m2]
    codes = g.codes.astype(object)
    children = pd.DataFrame(
        {
            "child_id": child_id,
            "la_code": codes[la_i],
            "la_name": g.table["la_name"].to_numpy(dtype=object)[la_i],
            "referral_date": ref.day.astype("datetime64[D]").astype("datetime64[ns]"),
            "referral_month": pd.PeriodIndex.from_ordinals(month, freq="M"),
            "referral_quarter": pd.PeriodIndex.from_ordinals(ref.q_abs, freq="Q-DEC"),
            "financial_year": fy,
            "in_trial_period": in_trial,
            "treated_la": tl_la,
            "trailblazer_la": g.trail[la_i],
            "fv": fv.astype(np.int8),
            "event_time_q": treat.e_out,
            "days_open_trial": open_trial.astype(np.int32),
            "days_open_under_fv": open_fv.astype(np.int32),
            "in_embedding_period": emb,
            "gender": cov.gender,
            "ethnicity": eth,
            "ethnicity_major": major,
            "age_at_referral": age_rec,
            "disabled": np.where(m.disabled, np.nan, cov.disabled.astype(float)),
            "fsm": np.where(m.fsm, np.nan, cov.fsm.astype(float)),
            "uasc": cov.uasc,
            "n_prev_cpp": np.where(m.n_prev_cpp, np.nan, cov.n_prev.astype(float)),
            "prior_cpp": np.where(m.n_prev_cpp, np.nan, cov.prior.astype(float)),
            "main_need": cov.need,
            "la_share_fsm": s,
            "la_share_white_british": cov.s_wb,
            "la_other_innovation": las.innov[la_i, qpos].astype(np.int8),
            "looked_after_18m": f_la,
            "cpp_12m": f_cpp,
            "days_cpp_cin_18m": f_days,
            "kinship_first_placement": f_kin,
            "reunified_18m": f_reu,
            "unauth_absence_rate": y_abs,
        }
    )
    eff_abs = np.full(n, np.nan)
    eff_abs[ab.ia] = ab.eff_child
    effects = child_effects_frame(child_id, fv, po, eff_abs)
    terms = absence_terms_frame(ab, child_id, codes[la_i])
    return children, terms, effects
