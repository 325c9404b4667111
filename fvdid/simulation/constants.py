"""Constants of the data-generating process: covariate distributions, coefficients, profiles.

Everything here is fixed (not configurable); :mod:`fvdid.simulation.config` holds the knobs.
"""

from __future__ import annotations

import numpy as np

_SCALE = {
    "looked_after_18m": "probability",
    "cpp_12m": "probability",
    "days_cpp_cin_18m": "days",
    "kinship_first_placement": "probability",
    "reunified_18m": "probability",
    "unauth_absence_rate": "percentage_points",
}
CAP_DAYS = 548  # 18 months

# --------------------------------------------------------------------------------------------
# Child-level covariate distributions and outcome coefficients (logit scale)
# --------------------------------------------------------------------------------------------
_P_AGE = np.array(
    [0.10] + [0.045] * 4 + [0.055] * 5 + [0.058] * 6 + [0.055, 0.042], dtype=float
)
_P_AGE = _P_AGE / _P_AGE.sum()
_AGE_BAND = np.array([0] + [1] * 4 + [2] * 8 + [3] * 3 + [4] * 2, dtype=np.int8)  # 0,1-4,5-12,13-15,16-17
_N_BANDS = 5
_P_DIS = np.array([0.03, 0.06, 0.09, 0.09, 0.08])
_P_PRIOR = np.array([0.06, 0.13, 0.18, 0.21, 0.22])
_FSM_AGE = np.array([0.5, 0.7, 1.15, 1.15, 1.0])  # relative FSM prevalence by age band
_P_NEED = np.array([0.12, 0.38, 0.04, 0.02, 0.07, 0.14, 0.03, 0.005, 0.025, 0.17])
_P_NEED = _P_NEED / _P_NEED.sum()
_UASC_MALE, _UASC_FEMALE, _UASC_MIN_AGE = 0.07, 0.015, 14
_P_GENDER_NON_INFANT = np.array([0.005, 0.505, 0.478, 0.002, 0.01])
_P_GENDER_INFANT = np.array([0.25, 0.37, 0.368, 0.002, 0.01])

_ETHNICITY = (
    "WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND",
    "APKN", "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
)  # fmt: skip
_ETH_OTHER_REL = np.array(
    [0.3, 0.3, 5.0, 0.6, 2.2, 0.6, 1.0, 2.0, 1.8, 3.0, 1.2, 1.6, 1.2, 3.6, 0.9, 0.2, 2.4, 1.2, 2.5]
)
_ETH_MAJOR = {
    **dict.fromkeys(("WBRI", "WIRI", "WIRT", "WOTH", "WROM"), "White"),
    **dict.fromkeys(("MWBC", "MWBA", "MWAS", "MOTH"), "Mixed"),
    **dict.fromkeys(("AIND", "APKN", "ABAN", "AOTH"), "Asian"),
    **dict.fromkeys(("BCRB", "BAFR", "BOTH"), "Black"),
    **dict.fromkeys(("CHNE", "OOTH"), "Other"),
}

# component order of the latent indices
_K = ("looked_after_18m", "cpp_12m", "cin_plan", "kinship_first_placement", "reunified_18m",
      "unauth_absence_rate")  # fmt: skip
LA, CPP, CIN, KIN, REU, ABS = range(6)

_COEF: dict[str, np.ndarray] = {
    # rows: components in _K order
    "band": np.array(
        [
            [0.9, 0.1, -0.25, 0.2, -0.1],
            [0.5, 0.3, 0.0, -0.2, -0.6],
            [0.0, 0.1, 0.1, 0.0, -0.2],
            [0.4, 0.3, 0.0, -0.5, -0.9],
            [-0.3, 0.1, 0.1, 0.0, -0.2],
            [0.0, 0.0, 0.0, 0.5, 0.0],
        ]
    ),
    "disabled": np.array([0.3, -0.2, 0.6, -0.4, -0.3, 0.3]),
    "prior": np.array([0.8, 0.7, 0.2, 0.0, -0.3, 0.3]),
    "fsm": np.array([0.3, 0.3, 0.2, 0.0, -0.1, 0.5]),
    "uasc": np.array([3.5, -2.0, 0.0, -3.0, -2.5, 0.0]),
    "need": np.array(
        [
            [-0.6, 0.5, 0.2, 0.3, 0.0, 0.2, 0.4, -0.3, 1.2, -1.5],
            [-0.8, 0.9, -0.8, 0.0, 0.0, 0.4, -0.3, -0.5, 0.0, -2.0],
            [-0.5, 0.2, 1.0, 0.3, 0.2, 0.2, 0.0, 0.0, 0.0, -1.5],
            [0.0, 0.2, -0.5, 0.1, 0.1, 0.1, -0.3, 0.0, 0.5, 0.0],
            [0.0, -0.2, -0.3, 0.2, 0.4, 0.1, -0.1, 0.2, -0.6, 0.2],
            [0.0, 0.1, 0.1, 0.0, 0.2, 0.2, 0.6, 0.1, 0.2, -0.2],
        ]
    ),
    "innovation": np.array([-0.05, -0.05, 0.0, 0.0, 0.0, 0.0]),
    "season": np.array(  # quarter of year Q1..Q4
        [
            [0.03, -0.02, -0.05, 0.04],
            [0.02, -0.01, -0.04, 0.03],
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.02, 0.0, -0.02],
            [0.0, 0.0, 0.0, 0.0],
            [0.05, 0.0, -0.05, 0.0],
        ]
    ),
}
# per-component multipliers of the LA-level sds, and COVID shock means
_M_FE = np.array([1.0, 0.85, 0.8, 1.3, 1.0, 0.7])
_M_TREND = np.array([1.0, 1.0, 0.8, 1.2, 1.0, 0.8])
_M_COVID = np.array([1.0, 1.0, 0.7, 1.2, 1.0, 1.3])
_COVID_MEAN = np.array([-0.05, -0.08, -0.05, 0.05, -0.15, 0.25])
_M_CYCLE = np.array([1.0, 0.7, 0.6, 1.3, 1.3, 0.5])
_COVID_PROFILE = {"2020Q2": 1.0, "2020Q3": 0.55, "2020Q4": 0.7, "2021Q1": 0.85}
_COVID_VOLUME = np.array([0.28, 0.22, 0.12, 0.05, 0.05, 0.03, 0.03, 0.05, 0.08, 0.15, 0.12, 0.0])
_MONTH_SEASON = np.array([1.05, 1.05, 1.08, 0.95, 1.02, 1.02, 1.02, 0.80, 0.98, 1.08, 1.05, 0.90])
_MONTH_SEASON = _MONTH_SEASON / _MONTH_SEASON.mean()

# absence: term effects (autumn, spring, summer), sessions, months-since-referral slope
_TERM_NAMES = ("autumn", "spring", "summer")
_TERM_EFFECT = np.array([-0.1, 0.0, 0.15])
_TERM_SESSIONS = np.array([142, 118, 124])
_TERM_START = ((9, 1), (1, 5), (4, 20))  # (month, day)
_ABS_MONTHS_SLOPE = 0.01
_SHAPE_CPP, _SHAPE_CIN = 2.0, 1.5
