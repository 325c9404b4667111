"""The six outcomes: treatment schedule ``tau``, potential outcomes per child, effects, truth.

Each outcome's counterfactual probability is ``p0 = expit(eta[k, la, q] + x' beta_k)``; under
FV the effect is added on the probability scale in proportion to the child's risk,
``p1 = p0 * (1 + tau(e) / R0[cell])``. Both potential outcomes use the same uniforms (common
random numbers), so each child's individual effect is known. Absence is in
:mod:`fvdid.simulation.absence`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from fvdid.config import OUTCOMES
from fvdid.simulation.config import SimConfig
from fvdid.simulation.constants import (
    _COEF,
    _SCALE,
    _SHAPE_CIN,
    _SHAPE_CPP,
    CAP_DAYS,
    CIN,
    CPP,
    KIN,
    LA,
    REU,
)
from fvdid.simulation.las import Calendar, LAs

__all__ = [
    "PotentialOutcomes",
    "Treatment",
    "child_effects_frame",
    "draw_outcomes",
    "linear_predictor",
    "tau",
    "treatment",
    "trial_end_day",
    "truth_frame",
]


def tau(cfg: SimConfig, outcome: str, e: np.ndarray) -> np.ndarray:
    """True effect of ``outcome`` at event time(s) ``e`` (quarters since go-live); 0 before."""
    e = np.asarray(e, dtype=float)
    if outcome == "looked_after_18m":
        raw = cfg.effect_la + cfg.effect_growth * np.maximum(e, 0)
        lo, hi = sorted((cfg.effect_la, cfg.effect_max))
        val = np.clip(raw, lo, hi)
    else:
        val = np.full(e.shape, float(getattr(cfg, f"effect_{outcome}")))
    return np.where(e >= 0, val, 0.0)


def truth_frame(cfg: SimConfig, las: LAs) -> pd.DataFrame:
    """The ``truth`` frame: nominal effect by outcome and event time over the extract's range."""
    g, cal = las.go_live, las.cal
    has = g.has_go
    lo = int(np.floor_divide(cal.ext_m0 - g.go[has].max(), 3))
    hi = int(np.floor_divide(cal.ext_m1 - g.go[has].min(), 3))
    e = np.arange(lo, hi + 1)
    rows = [
        pd.DataFrame({"outcome": o, "event_time_q": e, "effect": tau(cfg, o, e), "scale": _SCALE[o]})
        for o in OUTCOMES
    ]
    out = pd.concat(rows, ignore_index=True)
    out["event_time_q"] = out["event_time_q"].astype(np.int64)
    return out


def trial_end_day(cal: Calendar) -> int:
    """Last day of the trial period (days since the epoch)."""
    return (
        pd.Period(ordinal=cal.trial_m1, freq="M").end_time.normalize().to_datetime64()
        .astype("datetime64[D]").astype(np.int64)
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class Treatment:
    """Per child: under FV (``fv``), event time ``e`` (0 if never treated), ``e_out`` (NaN if never)."""

    has_go: np.ndarray
    fv: np.ndarray
    e: np.ndarray
    e_out: np.ndarray


def treatment(las: LAs, la_i: np.ndarray, month: np.ndarray) -> Treatment:
    """FV status and month-based event time ``floor((month - go_live) / 3)`` of each child."""
    g = las.go_live
    has_go = g.has_go[la_i]
    since = month - np.where(has_go, g.go[la_i], 0)
    fv = has_go & (since >= 0)
    e = np.where(has_go, np.floor_divide(since, 3), 0).astype(float)
    return Treatment(has_go=has_go, fv=fv, e=e, e_out=np.where(has_go, e, np.nan))


def linear_predictor(
    k: int,
    band: np.ndarray,
    disabled: np.ndarray,
    prior: np.ndarray,
    need: np.ndarray,
    fsm: np.ndarray,
    uasc: np.ndarray,
) -> np.ndarray:
    """Covariate part ``x' beta_k`` of component ``k`` (true covariate values)."""
    return (
        _COEF["band"][k][band] + _COEF["disabled"][k] * disabled + _COEF["prior"][k] * prior
        + _COEF["need"][k][need] + _COEF["fsm"][k] * fsm + _COEF["uasc"][k] * uasc
    )  # fmt: skip


def _scaled(p: np.ndarray, t: np.ndarray, rbar: np.ndarray) -> np.ndarray:
    """p * (1 + t / rbar), clipped to [0, 1] (unchanged where rbar is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(rbar > 0, 1.0 + t / rbar, 1.0)
    return np.clip(p * f, 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class PotentialOutcomes:
    """Per child: probabilities (``p0``/``p1``), realised outcomes and both potential day counts.

    ``p0`` holds the counterfactual probability of the components looked-after, CPP, CIN plan,
    kinship and reunification (keys :data:`LA` ...); ``y_*`` are the realised (true) outcomes;
    ``reu_ok`` marks looked-after children in the reunification sample.
    """

    p0: dict[int, np.ndarray]
    p1_la: np.ndarray
    p1_cpp: np.ndarray
    p1_kin: np.ndarray
    p1_reu: np.ndarray
    y_la: np.ndarray
    y_cpp: np.ndarray
    kin: np.ndarray
    reu: np.ndarray
    days0: np.ndarray
    days1: np.ndarray
    y_days: np.ndarray
    reu_ok: np.ndarray


def draw_outcomes(
    rng: np.random.Generator,
    cfg: SimConfig,
    las: LAs,
    eta: np.ndarray,
    R: dict[str, np.ndarray],
    cell: np.ndarray,
    x: dict[str, np.ndarray],
    treat: Treatment,
    ref_day: np.ndarray,
    age: np.ndarray,
) -> PotentialOutcomes:
    """Draw the binary outcomes, days on plans and the reunification sample of every child.

    ``eta`` is the calibrated latent index reshaped to ``(component, cell)``, ``R`` the expected
    counterfactual rates per cell, ``cell`` each child's (LA, latent quarter) cell, ``x`` the
    true covariates (band, disabled, prior, need, fsm, uasc) and ``la_i`` among them.
    """
    n = len(cell)
    fv, e = treat.fv, treat.e
    cov = {k: x[k] for k in ("band", "disabled", "prior", "need", "fsm", "uasc")}
    p0 = {k: expit(eta[k][cell] + linear_predictor(k, **cov)) for k in (LA, CPP, CIN, KIN, REU)}
    Rc = {o: R[o].ravel()[cell] for o in OUTCOMES}

    def t_of(outcome: str) -> np.ndarray:
        return np.where(fv, tau(cfg, outcome, e), 0.0)

    p1_la = _scaled(p0[LA], t_of("looked_after_18m"), Rc["looked_after_18m"])
    p1_cpp = _scaled(p0[CPP], t_of("cpp_12m"), Rc["cpp_12m"])
    p1_kin = _scaled(p0[KIN], t_of("kinship_first_placement"), Rc["kinship_first_placement"])
    p1_reu = _scaled(p0[REU], t_of("reunified_18m"), Rc["reunified_18m"])

    u_la, u_cpp, u_kin, u_reu = (rng.random(n) for _ in range(4))
    la0, la1 = u_la < p0[LA], u_la < p1_la
    y_la = np.where(fv, la1, la0)
    cpp0, cpp1 = u_cpp < p0[CPP], u_cpp < p1_cpp
    y_cpp = np.where(fv, cpp1, cpp0)
    kin = np.where(fv, u_kin < p1_kin, u_kin < p0[KIN])
    reu = np.where(fv, u_reu < p1_reu, u_reu < p0[REU])

    # days on CPP / CIN plans (common random numbers for both potential outcomes)
    q_cin = p0[CIN]
    plan0 = u_cpp < p0[CPP] + (1 - p0[CPP]) * q_cin
    plan1 = u_cpp < p1_cpp + (1 - p1_cpp) * q_cin
    dur = las.components.dur[x["la_i"]] * np.where(x["prior"] == 1, 1.1, 1.0)
    g_c = rng.gamma(_SHAPE_CPP, 1.0, n) * cfg.mean_days_cpp * dur / _SHAPE_CPP
    g_n = rng.gamma(_SHAPE_CIN, 1.0, n) * cfg.mean_days_cin * dur / _SHAPE_CIN
    t_days = t_of("days_cpp_cin_18m")
    kf = np.maximum(0.0, 1.0 + t_days / np.maximum(Rc["days_cpp_cin_18m"], 1e-9))
    days0 = _days(g_c, g_n, cpp0, plan0, 1.0)
    days1 = _days(g_c, g_n, cpp1, plan1, kf)
    y_days = np.where(fv, days1, days0)

    # reunification sample: care start, episode end, 18th birthday
    care_start = ref_day + np.rint(CAP_DAYS * rng.beta(0.7, 1.6, n)).astype(np.int64)
    reun_len = 14 + np.rint(rng.random(n) * (CAP_DAYS - 14)).astype(np.int64)
    stay_len = CAP_DAYS + np.rint(rng.exponential(400.0, n)).astype(np.int64)
    birthday18 = ref_day + np.rint((18 - age - rng.random(n)) * 365.25).astype(np.int64)
    end = care_start + np.where(reu, reun_len, stay_len)
    reu_ok = (birthday18 >= end) & (care_start <= trial_end_day(las.cal))
    return PotentialOutcomes(
        p0=p0, p1_la=p1_la, p1_cpp=p1_cpp, p1_kin=p1_kin, p1_reu=p1_reu, y_la=y_la, y_cpp=y_cpp,
        kin=kin, reu=reu, days0=days0, days1=days1, y_days=y_days, reu_ok=reu_ok,
    )  # fmt: skip


def _days(
    g_c: np.ndarray, g_n: np.ndarray, cpp: np.ndarray, plan: np.ndarray, factor: np.ndarray | float
) -> np.ndarray:
    """Days on plans: CPP or CIN-plan gamma draw x factor, rounded, in [1, 548]; 0 without a plan."""
    raw = np.where(cpp, g_c, g_n) * factor
    d = np.clip(np.rint(raw), 1, CAP_DAYS)
    return np.where(plan, d, 0.0)


def child_effects_frame(
    child_id: np.ndarray, fv: np.ndarray, po: PotentialOutcomes, eff_abs: np.ndarray
) -> pd.DataFrame:
    """The ``child_effects`` frame (0 when not under FV, NaN where the outcome is undefined)."""
    p0 = po.p0
    return pd.DataFrame(
        {
            "child_id": child_id,
            "looked_after_18m": np.where(fv, po.p1_la - p0[LA], 0.0),
            "cpp_12m": np.where(fv, po.p1_cpp - p0[CPP], 0.0),
            "days_cpp_cin_18m": np.where(fv, po.days1 - po.days0, 0.0),
            "kinship_first_placement": np.where(po.y_la, np.where(fv, po.p1_kin - p0[KIN], 0.0), np.nan),
            "reunified_18m": np.where(po.y_la & po.reu_ok, np.where(fv, po.p1_reu - p0[REU], 0.0), np.nan),
            "unauth_absence_rate": np.where(fv, eff_abs, np.where(np.isnan(eff_abs), np.nan, 0.0)),
        }
    )

