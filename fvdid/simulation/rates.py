"""Expected counterfactual rates: covariate support, intercept calibration, LA x quarter rates.

The counterfactual *expected LA-quarter rate* of each outcome is an exact sum over the support
points of the outcome-relevant covariates (weights linear in the LA-quarter FSM share ``s``).
:func:`expected_rates` first calibrates one intercept per latent component so that national
means equal the configured base rates, then computes the rates (and the variances the panel's
normal approximations need) for every LA x latent quarter cell.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammainc, logit

from fvdid.errors import FvdidInputError
from fvdid.simulation.config import SimConfig
from fvdid.simulation.constants import (
    _ABS_MONTHS_SLOPE,
    _AGE_BAND,
    _COEF,
    _FSM_AGE,
    _K,
    _N_BANDS,
    _P_AGE,
    _P_DIS,
    _P_GENDER_NON_INFANT,
    _P_NEED,
    _P_PRIOR,
    _SHAPE_CIN,
    _SHAPE_CPP,
    _TERM_EFFECT,
    _TERM_SESSIONS,
    _UASC_FEMALE,
    _UASC_MALE,
    _UASC_MIN_AGE,
    ABS,
    CAP_DAYS,
    CIN,
    CPP,
    KIN,
    LA,
    REU,
)
from fvdid.simulation.las import LAs

__all__ = ["Rates", "absence_moments_grid", "expected_rates", "gamma_trunc_moments", "support"]

_BIN_WIDTH = 0.002  # logit-scale bin width of the calibration sums (error of order 1e-7)


def support() -> dict[str, np.ndarray]:
    """Support points of the outcome-relevant covariates with weights linear in the FSM share.

    Keys: ``band``, ``prior``, ``w0``, ``w1`` (weight ``w0 + s * w1``), ``v`` (linear predictor
    per component, shape ``(component, point)``), ``school`` (age band 5-12 or 13-15),
    ``a_band`` (relative FSM prevalence by band) and ``p_uasc_age``.
    """
    band, dis, prior, need, fsm, uasc = np.meshgrid(
        np.arange(_N_BANDS), [0, 1], [0, 1], np.arange(10), [0, 1], [0, 1], indexing="ij"
    )
    band, dis, prior, need, fsm, uasc = (a.ravel() for a in (band, dis, prior, need, fsm, uasc))
    # P(uasc | band): gender-averaged, age-weighted within the band
    p_male = _P_GENDER_NON_INFANT[1]
    p_female = _P_GENDER_NON_INFANT[2]
    p_uasc_age = np.where(
        np.arange(18) >= _UASC_MIN_AGE, p_male * _UASC_MALE + p_female * _UASC_FEMALE, 0.0
    )
    p_uasc_band = np.array(
        [np.sum(_P_AGE[_AGE_BAND == b] * p_uasc_age[_AGE_BAND == b]) / np.sum(_P_AGE[_AGE_BAND == b])
         for b in range(_N_BANDS)]
    )  # fmt: skip
    p_band = np.array([_P_AGE[_AGE_BAND == b].sum() for b in range(_N_BANDS)])
    a_band = _FSM_AGE / np.sum(p_band * _FSM_AGE)
    pb = (
        p_band[band]
        * np.where(dis == 1, _P_DIS[band], 1 - _P_DIS[band])
        * np.where(prior == 1, _P_PRIOR[band], 1 - _P_PRIOR[band])
        * _P_NEED[need]
        * np.where(uasc == 1, p_uasc_band[band], 1 - p_uasc_band[band])
    )
    keep = pb > 0
    band, dis, prior, need, fsm, uasc, pb = (
        a[keep] for a in (band, dis, prior, need, fsm, uasc, pb)
    )
    a = a_band[band]
    w0 = pb * (1 - fsm)
    w1 = pb * a * (2 * fsm - 1)
    v = (
        _COEF["band"][:, band]
        + _COEF["disabled"][:, None] * dis
        + _COEF["prior"][:, None] * prior
        + _COEF["need"][:, need]
        + _COEF["fsm"][:, None] * fsm
        + _COEF["uasc"][:, None] * uasc
    )
    school = (band == 2) | (band == 3)
    return {"band": band, "prior": prior, "w0": w0, "w1": w1, "v": v, "school": school,
            "a_band": a_band, "p_uasc_age": p_uasc_age}  # fmt: skip


def absence_moments_grid(sd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid of E_b[expit(a + b)] and E_b[expit(a + b)^2], b ~ N(0, sd^2) (Gauss-Hermite)."""
    grid = np.linspace(-16.0, 8.0, 4801)
    x, w = np.polynomial.hermite.hermgauss(40)
    z = expit(grid[:, None] + math.sqrt(2.0) * sd * x[None, :])
    w = w / math.sqrt(math.pi)
    return grid, z @ w, (z * z) @ w


def gamma_trunc_moments(shape: float, mean: np.ndarray, cap: float) -> tuple[np.ndarray, np.ndarray]:
    """E[min(cap, D)] and E[min(cap, D)^2] for D ~ Gamma(shape, mean / shape)."""
    theta = mean / shape
    x = cap / theta
    tail = 1.0 - gammainc(shape, x)
    m1 = shape * theta * gammainc(shape + 1, x) + cap * tail
    m2 = shape * (shape + 1) * theta**2 * gammainc(shape + 2, x) + cap**2 * tail
    return m1, m2


# ---------------------------------------------------------------------------- calibration sums
def _cell_weights(
    w0: np.ndarray, w1: np.ndarray, s: np.ndarray, wcell: np.ndarray, extra: np.ndarray | None = None
) -> np.ndarray:
    """(cell, support point) weights: volume x (w0 + s w1) x ``extra``."""
    W = w0[None, :] + s[:, None] * w1[None, :]
    W *= wcell[:, None]
    if extra is not None:
        W *= extra
    return W


def _binned(eta_k: np.ndarray, v_k: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin the (cell, point) pairs on x = eta + v: bin centres and summed weights (non-empty)."""
    x = eta_k[:, None] + v_k[None, :]
    lo = float(x.min())
    np.subtract(x, lo, out=x)  # in place: the floats of rint((x - lo) / width), no float temporaries
    np.divide(x, _BIN_WIDTH, out=x)
    idx = np.rint(x, out=x).astype(np.int64).ravel()
    wb = np.bincount(idx, weights=W.ravel())
    centers = lo + _BIN_WIDTH * np.arange(len(wb))
    nz = wb != 0
    return centers[nz], wb[nz]


def _newton(target: float, f: Callable[[float], float], df: Callable[[float], float]) -> float:
    """Solve f(m) = target by damped Newton steps from logit(target)."""
    m = float(logit(min(max(target, 1e-4), 1 - 1e-4)))
    for _ in range(50):
        step = (f(m) - target) / df(m)
        m -= float(np.clip(step, -2.0, 2.0))
        if abs(step) < 1e-12:
            break
    return m


def _calibrate_binary(c: np.ndarray, wb: np.ndarray, target: float, denom: float) -> float:
    """Intercept m with sum(wb * expit(c + m)) / denom == target."""

    def f(m: float) -> float:
        return float(wb @ expit(c + m)) / denom

    def df(m: float) -> float:
        p = expit(c + m)
        return float(wb @ (p * (1 - p))) / denom

    return _newton(target, f, df)


def _term_mean(x: np.ndarray, shift: np.ndarray, grid: np.ndarray, tab: np.ndarray) -> np.ndarray:
    """Mean over the three terms of the tabulated absence moment at x + term shift."""
    return np.interp(x[None, :] + shift, grid, tab).mean(0)


def _wmean(M: np.ndarray, w0: np.ndarray, w1: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Support-weighted sum per cell: M @ w0 + s * (M @ w1)."""
    return M @ w0 + s * (M @ w1)


def calibrate_intercepts(
    cfg: SimConfig, las: LAs, sup: dict[str, np.ndarray]
) -> np.ndarray:
    """Intercepts ``mu[k]`` matching the configured national base rates over the panel.

    The national mean is a sum over (cell, support point) pairs of weight x f(x), with
    x = eta + v. The pairs are binned on x once per component, so the Newton steps are cheap.
    """
    return _calibrate(cfg, las, sup)[0]


def _calibrate(
    cfg: SimConfig, las: LAs, sup: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`calibrate_intercepts`, with the looked-after and CPP probabilities per (cell,
    support point) at the calibrated intercepts, which :func:`expected_rates` needs as well
    (the same floats: ``expit((eta + mu) + v)``)."""
    in_panel = np.isin(las.cal.q, las.cal.panel_q)
    wcell = (las.volumes.vol_q * in_panel[None, :]).ravel()
    s = las.share_fsm.ravel()
    w0, w1, V = sup["w0"], sup["w1"], sup["v"]
    nk = len(_K)
    eta = las.eta.reshape(nk, -1)

    mu = np.zeros(nk)
    W = _cell_weights(w0, w1, s, wcell)
    total = float(wcell.sum())
    mu[LA] = _calibrate_binary(*_binned(eta[LA], V[LA], W), cfg.base_looked_after_18m, total)
    mu[CPP] = _calibrate_binary(*_binned(eta[CPP], V[CPP], W), cfg.base_cpp_12m, total)
    P_la = eta[LA][:, None] + mu[LA] + V[LA][None, :]
    expit(P_la, out=P_la)  # in place: the same floats, no second 2.4M-element array
    P_cpp = eta[CPP][:, None] + mu[CPP] + V[CPP][None, :]
    expit(P_cpp, out=P_cpp)
    if cfg.base_any_plan_18m <= cfg.base_cpp_12m:
        raise FvdidInputError(
            "config base_any_plan_18m must exceed base_cpp_12m (CPP children have a plan)"
        )
    # any plan: E[p_cpp] + E[(1 - p_cpp) q] = target
    rest = cfg.base_any_plan_18m - cfg.base_cpp_12m
    W_cin = _cell_weights(w0, w1, s, wcell, 1 - P_cpp)
    mu[CIN] = _calibrate_binary(*_binned(eta[CIN], V[CIN], W_cin), rest, total)
    del W_cin
    W_la = _cell_weights(w0, w1, s, wcell, P_la)
    total_la = float(W_la.sum())
    mu[KIN] = _calibrate_binary(*_binned(eta[KIN], V[KIN], W_la), cfg.base_kinship_first_placement, total_la)
    mu[REU] = _calibrate_binary(*_binned(eta[REU], V[REU], W_la), cfg.base_reunified_18m, total_la)
    del W, W_la

    # absence (percent): school-age support points only
    grid, F, _ = absence_moments_grid(cfg.absence_individual_sd)
    dF = np.gradient(F, grid)
    js = np.flatnonzero(sup["school"])
    shift = _TERM_EFFECT[:, None] + _ABS_MONTHS_SLOPE * 6.0  # ~6 months after referral on average
    Ws = _cell_weights(w0[js], w1[js], s, wcell)
    c, wb = _binned(eta[ABS], V[ABS][js], Ws)
    total_s = float(Ws.sum())
    mu[ABS] = _newton(
        cfg.base_unauth_absence_rate / 100.0,
        lambda m: float(wb @ _term_mean(c + m, shift, grid, F)) / total_s,
        lambda m: float(wb @ _term_mean(c + m, shift, grid, dF)) / total_s,
    )
    return mu, P_la, P_cpp


#: Cells per block of :func:`expected_rates` (x 560 support points: 2.3 MB per array).
_ROW_BLOCK = 512


@dataclass(frozen=True, eq=False)
class Rates:
    """Calibrated latent indices and expected counterfactual rates per (LA, latent quarter).

    ``eta`` includes the intercepts ``mu``; ``R[outcome]`` is the expected counterfactual rate
    (probability, mean days, percent); ``V_days`` and ``V_abs`` the child-level variances of
    days and absence; ``p_school`` the share of referred children of school age (5-15).
    """

    mu: np.ndarray
    eta: np.ndarray
    R: dict[str, np.ndarray]
    V_days: np.ndarray
    V_abs: np.ndarray
    p_school: float


def expected_rates(cfg: SimConfig, las: LAs, sup: dict[str, np.ndarray]) -> Rates:
    """Calibrate the intercepts, then compute expected counterfactual rates per cell.

    The (cell, support point) arrays are formed :data:`_ROW_BLOCK` cells at a time (each row's
    floats as with the whole array; a block stays in cache instead of a 2.4M-element temporary
    per step).
    """
    mu, P_la, P_cpp = _calibrate(cfg, las, sup)
    nk = len(_K)
    eta3 = las.eta + mu[:, None, None]
    eta = eta3.reshape(nk, -1)
    s = las.share_fsm.ravel()
    w0, w1, V = sup["w0"], sup["w1"], sup["v"]
    n_la, nq = las.n_la, len(las.cal.q)
    shape = (n_la, nq)
    n_cell = eta.shape[1]
    # days: truncated gamma moments depend on (LA, prior) only
    dur = las.components.dur[:, None] * np.array([1.0, 1.1])[None, :]  # (n_la, prior)
    c1, c2 = gamma_trunc_moments(_SHAPE_CPP, cfg.mean_days_cpp * dur, CAP_DAYS)
    n1, n2 = gamma_trunc_moments(_SHAPE_CIN, cfg.mean_days_cin * dur, CAP_DAYS)
    cell_la = np.repeat(np.arange(n_la), nq)
    pr = sup["prior"]
    # absence mean and variance among school-age children
    grid, F, F2 = absence_moments_grid(cfg.absence_individual_sd)
    js = np.flatnonzero(sup["school"])
    shift = _TERM_EFFECT[:, None] + _ABS_MONTHS_SLOPE * 6.0
    w0s, w1s, Vs = w0[js], w1[js], V[ABS][js]
    out = {k: np.empty(n_cell) for k in ("la", "kin", "reu", "cpp", "e1", "e2", "abs", "sq")}
    for lo in range(0, n_cell, _ROW_BLOCK):
        b = slice(lo, min(lo + _ROW_BLOCK, n_cell))
        sb, Pla, Pcpp = s[b], P_la[b], P_cpp[b]
        R_la = _wmean(Pla, w0, w1, sb)
        out["la"][b] = R_la
        P_kin = expit(eta[KIN][b, None] + V[KIN][None, :])
        out["kin"][b] = _wmean(Pla * P_kin, w0, w1, sb) / R_la
        P_reu = expit(eta[REU][b, None] + V[REU][None, :])
        out["reu"][b] = _wmean(Pla * P_reu, w0, w1, sb) / R_la
        out["cpp"][b] = _wmean(Pcpp, w0, w1, sb)
        Q = expit(eta[CIN][b, None] + V[CIN][None, :])
        noplan = (1 - Pcpp) * Q
        cl = cell_la[b]
        out["e1"][b] = _wmean(Pcpp * c1[cl][:, pr] + noplan * n1[cl][:, pr], w0, w1, sb)
        out["e2"][b] = _wmean(Pcpp * c2[cl][:, pr] + noplan * n2[cl][:, pr], w0, w1, sb)
        xs = eta[ABS][b, None] + Vs[None, :]
        mean_t = np.zeros_like(xs)
        for sh in shift[:, 0]:
            mean_t += np.interp(xs + sh, grid, F)
        mean_t /= len(shift)
        sch = w0s.sum() + sb * w1s.sum()
        out["abs"][b] = _wmean(mean_t, w0s, w1s, sb) / sch
        out["sq"][b] = _wmean(np.interp(xs + _TERM_EFFECT.mean(), grid, F2), w0s, w1s, sb) / sch
    R = {
        "looked_after_18m": out["la"].reshape(shape),
        "cpp_12m": out["cpp"].reshape(shape),
        "kinship_first_placement": out["kin"].reshape(shape),
        "reunified_18m": out["reu"].reshape(shape),
    }
    e1, e2 = out["e1"], out["e2"]
    R["days_cpp_cin_18m"] = e1.reshape(shape)
    V_days = np.maximum(e2 - e1**2, 0.0).reshape(shape)
    mean_abs, sq = out["abs"], out["sq"]
    binom_var = mean_abs * (1 - mean_abs) / _TERM_SESSIONS.sum()
    R["unauth_absence_rate"] = (100.0 * mean_abs).reshape(shape)
    V_abs = (1e4 * (np.maximum(sq - mean_abs**2, 0.0) + binom_var)).reshape(shape)
    return Rates(mu=mu, eta=eta3, R=R, V_days=V_days, V_abs=V_abs, p_school=float(_P_AGE[5:16].sum()))
