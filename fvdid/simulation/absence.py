"""Unauthorised absence over the three school terms that follow a school-age child's referral.

``rate_t = expit(eta_abs + x' beta + b_i + term_t + 0.01 * months_since_referral)`` with an
individual random effect ``b_i``; sessions are binomial. The two potential outcomes are coupled
(thinning when the effect is negative, topping up when positive), so each child's effect is
exact. :func:`absence_terms_frame` builds the ``absence_terms`` frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from fvdid.simulation.config import SimConfig
from fvdid.simulation.constants import (
    _ABS_MONTHS_SLOPE,
    _TERM_EFFECT,
    _TERM_NAMES,
    _TERM_SESSIONS,
    _TERM_START,
)
from fvdid.simulation.outcomes import tau

__all__ = ["Absence", "TermCalendar", "absence_terms_frame", "draw_absence", "term_calendar"]


@dataclass(frozen=True, eq=False)
class TermCalendar:
    """School terms in start order: start day (days since epoch), type (0-2), label."""

    start: np.ndarray
    kind: np.ndarray
    label: np.ndarray


def term_calendar(month: np.ndarray) -> TermCalendar:
    """Every term from the academic year before the first referral month to two years after the last."""
    years = np.arange(1970 + int(month.min()) // 12 - 1, 1970 + int(month.max()) // 12 + 3)
    t_start, t_type, t_ay = [], [], []
    for y in years:
        for ti, (mo, dd) in enumerate(_TERM_START):
            cal_year = y if ti == 0 else y + 1
            t_start.append(np.datetime64(f"{cal_year:04d}-{mo:02d}-{dd:02d}").astype("datetime64[D]").astype(np.int64))
            t_type.append(ti)
            t_ay.append(y)
    label = np.array([f"{y}/{(y + 1) % 100:02d} {_TERM_NAMES[t]}" for y, t in zip(t_ay, t_type)], dtype=object)
    return TermCalendar(start=np.array(t_start), kind=np.array(t_type), label=label)


@dataclass(frozen=True, eq=False)
class Absence:
    """Absence of the children ``ia`` (school age, outcome not missing), three terms each.

    ``tidx`` indexes the :class:`TermCalendar`; ``possible`` and ``unauth`` are sessions
    (realised outcome); ``rate_child`` the child's rate and ``eff_child`` its effect (percent).
    """

    ia: np.ndarray
    terms: TermCalendar
    tidx: np.ndarray
    months_since: np.ndarray
    possible: np.ndarray
    unauth: np.ndarray
    rate_child: np.ndarray
    eff_child: np.ndarray


def draw_absence(
    rng: np.random.Generator,
    cfg: SimConfig,
    age: np.ndarray,
    month: np.ndarray,
    ref_day: np.ndarray,
    lin: np.ndarray,
    rbar: np.ndarray,
    fv: np.ndarray,
    e: np.ndarray,
) -> Absence:
    """Draw absence for the school-age children (5-15) whose outcome is not missing.

    ``lin`` is ``eta_abs + x' beta`` of every child, ``rbar`` the expected counterfactual rate
    (percent) of its cell, ``fv`` and ``e`` its FV status and event time.
    """
    n = len(age)
    school = (age >= 5) & (age <= 15)
    abs_missing = rng.random(n) < cfg.missing_outcome
    ia = np.flatnonzero(school & ~abs_missing)
    terms = term_calendar(month)
    first = np.searchsorted(terms.start, ref_day[ia], side="right")
    tidx = first[:, None] + np.arange(3)[None, :]  # (na, 3)
    months_since = (terms.start[tidx] - ref_day[ia][:, None]) / 30.4375
    b = rng.normal(0, cfg.absence_individual_sd, len(ia))
    lin_i = lin[ia] + b
    kind = terms.kind[tidx]
    r0 = expit(lin_i[:, None] + _TERM_EFFECT[kind] + _ABS_MONTHS_SLOPE * months_since)
    t_abs = np.where(fv[ia], tau(cfg, "unauth_absence_rate", e[ia]), 0.0)
    rb = rbar[ia]
    r1 = np.clip(r0 * (1.0 + (t_abs / rb))[:, None], 0.0, 1.0)
    base_s = _TERM_SESSIONS[kind]
    possible = np.maximum(base_s - rng.binomial(base_s, 0.04), 10)
    # coupled potential outcomes: thinning (effect < 0) or topping up (effect > 0) is exact
    unauth0 = rng.binomial(possible, r0)
    f_abs = np.broadcast_to((1.0 + t_abs / rb)[:, None], r0.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.clip((r1 - r0) / (1.0 - r0), 0.0, 1.0)
    thinned = rng.binomial(unauth0, np.clip(f_abs, 0.0, 1.0))
    topped = unauth0 + rng.binomial(possible - unauth0, np.nan_to_num(up))
    unauth1 = np.where(f_abs <= 1.0, thinned, topped)
    unauth = np.where(fv[ia][:, None], unauth1, unauth0)
    return Absence(
        ia=ia, terms=terms, tidx=tidx, months_since=months_since, possible=possible,
        unauth=unauth,
        rate_child=100.0 * unauth.sum(1) / possible.sum(1),
        eff_child=100.0 * (unauth1.sum(1) - unauth0.sum(1)) / possible.sum(1),
    )  # fmt: skip


def absence_terms_frame(a: Absence, child_id: np.ndarray, la_code: np.ndarray) -> pd.DataFrame:
    """The ``absence_terms`` frame: three rows per child in ``a.ia`` (``la_code`` per child)."""
    na = len(a.ia)
    return pd.DataFrame(
        {
            "child_id": np.repeat(child_id[a.ia], 3),
            "la_code": np.repeat(la_code[a.ia], 3),
            "term": np.tile(np.arange(1, 4, dtype=np.int8), na),
            "term_label": a.terms.label[a.tidx].ravel(),
            "months_since_referral": np.round(a.months_since, 2).ravel(),
            "sessions_possible": a.possible.ravel().astype(np.int16),
            "sessions_unauth": a.unauth.ravel().astype(np.int16),
            "rate": (100.0 * a.unauth / a.possible).ravel(),
        }
    )
