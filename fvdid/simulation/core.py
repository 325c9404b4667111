"""SRS-like synthetic data for the Family Valued matched difference-in-differences evaluation.

:func:`simulate` draws, for one seed, everything the pipeline needs: the 151 English local
authorities (LAs), a child-level analytic extract (one row per child: first referral in the trial
period), the three school terms of absence that follow each school-age child's referral, the
LA x quarter panel at national volumes that drives the LA trend matching, and the true effects.

Data-generating process (DGP)
-----------------------------
Everything is driven by *latent LA x quarter indices* on the logit scale, one per outcome
component ``k`` in (looked after, CPP, CIN plan, kinship, reunification, absence)::

    eta[k, la, q] = mu[k] + FE[k, la] + trend[k, la] * years(q) + covid[k, la] * C(q)
                    + cycle[k, la, q] + season[k, quarter-of-year(q)] + innov[k] * other_innovation[la, q]

* ``FE``: LA fixed effect, N(0, ``la_fe_sd`` * m_k); the five treatment LAs get
  ``treated_excess_looked_after`` extra on the looked-after index (they joined the programme for
  high / rising numbers of looked-after children) and ``treated_trend_looked_after`` extra trend.
* ``trend``: LA-specific linear trend per year, N(0, ``trend_sd`` * m_k).
* ``C(q)``: the COVID profile, non-zero in 2020-04..2021-03 (quarters 2020Q2..2021Q1: 1, .55, .7,
  .85); ``covid[k, la]`` ~ N(mean_k, ``covid_sd`` * m_k) is the LA-specific size of the shock.
* ``cycle``: an LA-specific AR(1) path over quarters (coefficient ``cycle_ar``, innovation sd
  ``cycle_sd`` * m_k): local practice cycles (inspections, leadership and staffing changes). It is
  what makes quarter-to-quarter changes informative outside the COVID window, and hence what the
  protocol's matching on first-differenced, standardised quarterly rates can find. With the
  defaults (sd 0.4, AR 0.2) the designed twins of a treatment LA typically rank among the 10
  nearest comparators for looked_after_18m, cpp_12m and absence; kinship and reunification rates
  rest on ~40 looked-after children per LA-quarter, so matching on them stays noisy (as it would
  in the SRS).
* ``season``: common quarter-of-year effects (cancel under per-quarter standardisation).
* ``mu[k]``: an intercept calibrated (Newton steps) so that the volume-weighted national mean of
  the expected counterfactual LA-quarter rates over the panel equals the configured base rate.

*Twins.* For each treatment LA, ``twins_per_treated`` eligible comparators (not treated, not the
trailblazer, not Partners in Practice, not late data, at least 40,000 children) copy its trend,
COVID shock and cycle path (plus small jitter: ``twin_jitter_sd`` per quarter, a tenth of the
between-LA sd on trend and COVID) and its fixed effect plus a constant offset
N(0, ``twin_offset_sd``). With ``decoy_twins`` a Partners-in-Practice LA is also made a twin of the
first treatment LA and a late-data LA a twin of the third: a matcher that forgets the exclusion
rules picks them. ``las.dgp_twin_of`` records the design.

*Children.* Covariates are drawn per child (independent given the age band 0 / 1-4 / 5-12 /
13-15 / 16-17, except FSM which also depends on the LA-quarter FSM share ``s``); the DGP always
uses the true values, missingness is applied afterwards to the recorded ones (so missingness is
MCAR within LA; ``n_prev_cpp`` has an LA-specific missing share, mean ``missing_n_prev_cpp``).
Each outcome's counterfactual probability is ``p0 = expit(eta[k, la, q] + x_i' beta_k)`` with
covariate effects for age band, disability, prior CPP, main need, FSM and UASC (constants
``_COEF`` below). The counterfactual *expected LA-quarter rate* ``R0[k, la, q]`` is computed
exactly as a sum over the 560 support points of the covariate distribution (weights linear in
``s``); the LA x quarter panel is drawn from these same ``R0``.

*Treatment.* ``fv = 1`` for a child referred on or after its LA's go-live month (the five, and
the trailblazer). The effect at event time ``e`` (quarters since go-live, month based:
``floor((month - go_live) / 3)``) is ``tau(e)``; for looked_after_18m
``tau(e) = effect_la + effect_growth * e`` capped at ``effect_max``; other outcomes get the
constant ``effect_<outcome>``. The effect is added on the probability scale, distributed in
proportion to the child's risk: ``p1 = p0 * (1 + tau(e) / R0[cell])`` (clipped to [0, 1]). The mean
effect in every treated LA-quarter cell is therefore exactly ``tau(e)`` in expectation, the
composition of looked-after children is unchanged (so the kinship / reunification effects among
them are exactly their ``tau`` too) and no probability leaves [0, 1] unless
``|tau| > R0``. Outcomes use common random numbers for the two potential outcomes, so
``child_effects`` holds each child's effect (p1 - p0 for binary outcomes, Y1 - Y0 for days and
absence). ``truth`` is the nominal schedule; :meth:`SimulatedData.truth_att` the sample average.

Outcome details (protocol Table 1):

* ``looked_after_18m``: Bernoulli(p). Base ``base_looked_after_18m`` = 0.04 (MDES table).
* ``cpp_12m``: Bernoulli, base ``base_cpp_12m``.
* ``days_cpp_cin_18m``: with the same uniform as cpp_12m, a child has a plan when
  ``U < p_cpp + (1 - p_cpp) * q_cin`` (so every CPP child has a plan; share with any plan
  ``base_any_plan_18m``). Days on plans ~ Gamma(2, mean ``mean_days_cpp`` x LA duration multiplier
  x 1.1 if prior CPP) for CPP children, Gamma(1.5, mean ``mean_days_cin`` ...) for CIN-plan only
  children, rounded, at least 1, censored at 548 (18 months). The effect multiplies days by
  ``1 + tau / E[days0 | cell]`` (so before censoring the cell mean moves by tau).
* ``kinship_first_placement``: among looked_after_18m == 1 only (NaN otherwise), base
  ``base_kinship_first_placement`` among looked-after children.
* ``reunified_18m``: among looked-after children only; NaN also when care started after the trial
  period ends (the protocol's sample: "became looked after within the trial period") and when the
  child turns 18 before the care episode ends. Care starts ``548 * Beta(.7, 1.6)`` days after
  referral; a reunified episode lasts U(14, 548) days, otherwise 548 + Exp(400) days.
* ``unauth_absence_rate``: school-age children (5-15 at referral) only. For each of the three
  terms that begin after the referral, ``rate_t = expit(eta_abs + x' beta + b_i + term_t +
  0.01 * months_since_referral)`` with an individual random effect b_i ~ N(0,
  ``absence_individual_sd``); sessions_unauth ~ Binomial(sessions_possible, rate_t);
  ``unauth_absence_rate = 100 * sum(unauth) / sum(possible)``. Base ``base_unauth_absence_rate``
  (percent) is the calibrated mean of the expected rate.
* A share ``missing_outcome`` of each outcome is set to NaN (MCAR); kinship and reunification are
  also NaN when looked_after_18m is.

The LA x quarter panel (``la_quarter``) is drawn at the aggregate level from the same expected
rates: ``n_referrals ~ Poisson(volume)`` (national volume ``national_referrals_per_year`` split by
LA size, treatment LAs at ``treated_referrals_per_year`` on average, monthly seasonality, an
LA-varying COVID dip in volumes), ``n_looked_after ~ Binomial(n, R)``, kinship and reunification
~ Binomial(n_looked_after, R) (the panel's reunification denominator is every looked-after child:
the age-18 and trial-period rules are child-level), cpp ~ Binomial; days and absence means are
normal approximations N(E, Var / n) with E and Var computed from the same DGP (absence: the
individual random effect integrated by Gauss-Hermite, binomial session noise approximated).
Treated cells add ``tau`` weighted by the share of the quarter's volume under FV. Quarters before
an LA's ``first_data_quarter`` have missing counts and rates. The child extract is a separate
draw from the same latent rates (sized by ``n_children``), not a subsample of the panel counts.

Child extract: the five treatment LAs hold ``treated_share`` of ``n_children`` (split by expected
volume over the trial period), the trailblazer and the candidate comparators (the
``extract_comparators_per_treated`` LAs nearest each treatment LA in DGP parameters, eligible
only, without duplicates, plus ``extract_extra_comparators`` random eligible LAs) share the rest
in proportion to their volumes. Within an LA, referral months follow the monthly volumes; a share
``out_of_period_share`` is dated in the month before or after the trial period
(``in_trial_period`` False) and a share ``age_error_share`` carries age 18 (a data error), so
the pipeline's flow table has exclusions to count.

Column dictionary
-----------------
``children`` (one row per child, sorted by la_code, referral_date; ``len == n_children``):

=========================  ==============  ====================================================
column                     dtype           meaning
=========================  ==============  ====================================================
child_id                   str             ``C0000001``..., in sort order
la_code, la_name           str             ONS code and name of the referring LA
referral_date              datetime64[ns]  start of the first referral in the trial period
referral_month             period[M]
referral_quarter           period[Q-DEC]
financial_year             str             ``"2021/22"`` (April to March)
in_trial_period            bool            False for ~1% dated just outside the trial period
treated_la                 bool            one of the five treatment LAs
trailblazer_la             bool            the trailblazer (Darlington)
fv                         int8 0/1        LA had gone live at the referral date (primary)
event_time_q               float64         quarters since go-live (month based); NaN if never
days_open_trial            int32           open-referral days within the trial period
days_open_under_fv         int32           of which on or after go-live
in_embedding_period        bool            fgc_start <= referral month < go_live (treated LAs)
gender                     int8            0 not recorded/unborn, 1 male, 2 female,
                                           3 indeterminate, 4 missing
ethnicity                  str / NaN       CIN census code (WBRI ... NOBT); NaN if missing
ethnicity_major            str / NaN       White / Mixed / Asian / Black / Other (CHNE is Other,
                                           as in DfE tables); NaN for REFU, NOBT or missing
age_at_referral            int8            0-17 (a handful of 18s: data errors)
disabled                   float64 0/1     NaN if missing (~``missing_disabled``)
fsm                        float64 0/1     FSM in last six years / pupil premium R-Y2; NaN if
                                           missing (~``missing_fsm``)
uasc                       int8 0/1
n_prev_cpp                 float64         number of previous CPPs; NaN in ~35%
prior_cpp                  float64 0/1     n_prev_cpp > 0; NaN where n_prev_cpp is
main_need                  int8 0-9        CIN census main need (9 = not a child in need)
la_share_fsm               float64         LA share FSM among referred children (quarter start)
la_share_white_british     float64         LA share white British (quarter start)
la_other_innovation        int8 0/1        other whole-system innovation programme in place
looked_after_18m           float64 0/1     NaN if missing
cpp_12m                    float64 0/1
days_cpp_cin_18m           float64         integer days 0-548
kinship_first_placement    float64 0/1     among looked_after_18m == 1, else NaN
reunified_18m              float64 0/1     among looked-after (see above), else NaN
unauth_absence_rate        float64         percent 0-100, school age 5-15 only, else NaN
=========================  ==============  ====================================================

Missing values are NaN in float64 columns (not pandas NA) so every column converts to NumPy.

``absence_terms`` (three rows per school-age child with a non-missing absence outcome):
child_id, la_code, term (int8 1-3), term_label (``"2021/22 autumn"``), months_since_referral
(float64, term start minus referral date in months of 30.44 days), sessions_possible (int16),
sessions_unauth (int16), rate (float64, percent).

``la_quarter`` (every LA x quarter 2017Q2..2024Q1; unique (la, quarter)): la, quarter
(period[Q-DEC]), n_referrals (Int64), looked_after_18m, cpp_12m, days_cpp_cin_18m (mean),
n_looked_after (Int64; denominator of kinship and reunification), kinship_first_placement,
reunified_18m, n_school_age (Int64; denominator of absence), unauth_absence_rate (mean, percent),
la_share_fsm, la_share_white_british, la_other_innovation (int8), treated (bool), fv (int8: the
quarter contains the go-live month or is later), fv_share (share of the quarter's expected
referrals on or after go-live).

``las`` (one row per LA, sorted by la_code): la_code, la_name, region, treated, trailblazer,
go_live (period[M], NaT if never), fgc_start (period[M]), partners_in_practice, first_data_quarter
(period[Q-DEC]), in_extract, then dgp_ columns: dgp_referrals_per_year, dgp_twin_of (la_code of
the treatment LA whose twin it was designed to be, else None), dgp_decoy, dgp_duration_mult and
dgp_fe_<k>, dgp_trend_<k>, dgp_covid_<k> for k in looked_after_18m, cpp_12m, cin_plan,
kinship_first_placement, reunified_18m, unauth_absence_rate (logit scale).

``truth``: outcome, event_time_q, effect, scale (``probability``, ``days`` or
``percentage_points``); zero before go-live.

``child_effects``: child_id and one column per outcome with the child's individual effect
(0 for children not under FV, NaN where the outcome is undefined).

The LA list is the 2021 vintage of the 151 English authorities with children's services (after
the Dorset, Buckinghamshire and Northamptonshire reorganisations; the Isles of Scilly, with a
handful of referrals a year, is left out as in most DfE tables); child populations are
approximate. LA volumes scale with child population and deprivation, with LA trends (mean 0, sd
2 % a year, centred on 2019-10) and a COVID dip from April 2020. Partners in Practice flags follow
the 2016 programme loosely and are illustrative.
"""

from __future__ import annotations

import dataclasses
import json
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit, gammainc, logit

from fvdid._results import to_plain
from fvdid.config import OUTCOMES
from fvdid.errors import FvdidInputError

__all__ = ["OUTCOMES", "SimConfig", "SimulatedData", "simulate"]

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
# Local authorities: code, name, region, approximate child population (thousands, 0-17)
# --------------------------------------------------------------------------------------------
_REGIONS = {
    "NE": "North East",
    "NW": "North West",
    "YH": "Yorkshire and The Humber",
    "EM": "East Midlands",
    "WM": "West Midlands",
    "EE": "East of England",
    "LON": "London",
    "SE": "South East",
    "SW": "South West",
}
_LA_TABLE = """
E06000001|Hartlepool|NE|20
E06000002|Middlesbrough|NE|33
E06000003|Redcar and Cleveland|NE|29
E06000004|Stockton-on-Tees|NE|44
E06000005|Darlington|NE|23
E06000006|Halton|NW|28
E06000007|Warrington|NW|45
E06000008|Blackburn with Darwen|NW|38
E06000009|Blackpool|NW|28
E06000010|Kingston upon Hull, City of|YH|60
E06000011|East Riding of Yorkshire|YH|61
E06000012|North East Lincolnshire|YH|35
E06000013|North Lincolnshire|YH|35
E06000014|York|YH|35
E06000015|Derby|EM|58
E06000016|Leicester|EM|85
E06000017|Rutland|EM|7
E06000018|Nottingham|EM|65
E06000019|Herefordshire, County of|WM|35
E06000020|Telford and Wrekin|WM|40
E06000021|Stoke-on-Trent|WM|60
E06000022|Bath and North East Somerset|SW|36
E06000023|Bristol, City of|SW|95
E06000024|North Somerset|SW|45
E06000025|South Gloucestershire|SW|60
E06000026|Plymouth|SW|55
E06000027|Torbay|SW|24
E06000030|Swindon|SW|53
E06000031|Peterborough|EE|50
E06000032|Luton|EE|56
E06000033|Southend-on-Sea|EE|40
E06000034|Thurrock|EE|45
E06000035|Medway|SE|66
E06000036|Bracknell Forest|SE|28
E06000037|West Berkshire|SE|36
E06000038|Reading|SE|38
E06000039|Slough|SE|42
E06000040|Windsor and Maidenhead|SE|33
E06000041|Wokingham|SE|40
E06000042|Milton Keynes|SE|69
E06000043|Brighton and Hove|SE|50
E06000044|Portsmouth|SE|44
E06000045|Southampton|SE|52
E06000046|Isle of Wight|SE|24
E06000047|County Durham|NE|100
E06000049|Cheshire East|NW|80
E06000050|Cheshire West and Chester|NW|69
E06000051|Shropshire|WM|60
E06000052|Cornwall|SW|105
E06000054|Wiltshire|SW|110
E06000055|Bedford|EE|40
E06000056|Central Bedfordshire|EE|65
E06000057|Northumberland|NE|60
E06000058|Bournemouth, Christchurch and Poole|SW|75
E06000059|Dorset|SW|68
E06000060|Buckinghamshire|SE|125
E06000061|North Northamptonshire|EM|80
E06000062|West Northamptonshire|EM|95
E08000001|Bolton|NW|65
E08000002|Bury|NW|43
E08000003|Manchester|NW|130
E08000004|Oldham|NW|60
E08000005|Rochdale|NW|52
E08000006|Salford|NW|56
E08000007|Stockport|NW|63
E08000008|Tameside|NW|50
E08000009|Trafford|NW|55
E08000010|Wigan|NW|67
E08000011|Knowsley|NW|35
E08000012|Liverpool|NW|105
E08000013|St. Helens|NW|38
E08000014|Sefton|NW|55
E08000015|Wirral|NW|66
E08000016|Barnsley|YH|53
E08000017|Doncaster|YH|67
E08000018|Rotherham|YH|59
E08000019|Sheffield|YH|120
E08000021|Newcastle upon Tyne|NE|62
E08000022|North Tyneside|NE|43
E08000023|South Tyneside|NE|31
E08000024|Sunderland|NE|55
E08000025|Birmingham|WM|290
E08000026|Coventry|WM|80
E08000027|Dudley|WM|67
E08000028|Sandwell|WM|85
E08000029|Solihull|WM|47
E08000030|Walsall|WM|68
E08000031|Wolverhampton|WM|60
E08000032|Bradford|YH|140
E08000033|Calderdale|YH|45
E08000034|Kirklees|YH|100
E08000035|Leeds|YH|180
E08000036|Wakefield|YH|75
E08000037|Gateshead|NE|41
E09000001|City of London|LON|1.3
E09000002|Barking and Dagenham|LON|70
E09000003|Barnet|LON|95
E09000004|Bexley|LON|57
E09000005|Brent|LON|78
E09000006|Bromley|LON|75
E09000007|Camden|LON|45
E09000008|Croydon|LON|95
E09000009|Ealing|LON|85
E09000010|Enfield|LON|85
E09000011|Greenwich|LON|68
E09000012|Hackney|LON|60
E09000013|Hammersmith and Fulham|LON|35
E09000014|Haringey|LON|58
E09000015|Harrow|LON|60
E09000016|Havering|LON|60
E09000017|Hillingdon|LON|75
E09000018|Hounslow|LON|65
E09000019|Islington|LON|40
E09000020|Kensington and Chelsea|LON|28
E09000021|Kingston upon Thames|LON|40
E09000022|Lambeth|LON|58
E09000023|Lewisham|LON|68
E09000024|Merton|LON|48
E09000025|Newham|LON|90
E09000026|Redbridge|LON|75
E09000027|Richmond upon Thames|LON|47
E09000028|Southwark|LON|62
E09000029|Sutton|LON|50
E09000030|Tower Hamlets|LON|75
E09000031|Waltham Forest|LON|65
E09000032|Wandsworth|LON|62
E09000033|Westminster|LON|40
E10000003|Cambridgeshire|EE|145
E10000006|Cumbria|NW|90
E10000007|Derbyshire|EM|160
E10000008|Devon|SW|145
E10000011|East Sussex|SE|110
E10000012|Essex|EE|320
E10000013|Gloucestershire|SW|130
E10000014|Hampshire|SE|280
E10000015|Hertfordshire|EE|260
E10000016|Kent|SE|340
E10000017|Lancashire|NW|260
E10000018|Leicestershire|EM|140
E10000019|Lincolnshire|EM|145
E10000020|Norfolk|EE|175
E10000023|North Yorkshire|YH|120
E10000024|Nottinghamshire|EM|170
E10000025|Oxfordshire|SE|145
E10000027|Somerset|SW|110
E10000028|Staffordshire|WM|170
E10000029|Suffolk|EE|150
E10000030|Surrey|SE|260
E10000031|Warwickshire|WM|120
E10000032|West Sussex|SE|170
E10000034|Worcestershire|WM|120
"""

_TRAILBLAZER = "E06000005"  # Darlington

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


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SimConfig:
    """Configuration of :func:`simulate`; every default is the protocol's number or documented.

    Build one with keyword arguments or from a plain mapping (config files, CLI) with
    :meth:`from_mapping`. Unknown keys raise :class:`fvdid.errors.FvdidInputError`.

    Attributes
    ----------
    go_live : tuple of (la_code, "YYYY-MM")
        The five treatment LAs and their operational go-live months (protocol, Context).
    trailblazer_go_live : str
        Darlington's go-live month (the pilot; protocol: "from April 2020").
    fgc_lead_months : tuple of int
        Months between the start of the Family Group Conference service and go-live, one per
        treatment LA (in ``go_live`` order); defines the embedding period.
    trailblazer_fgc_lead_months : int
    trial_months_before, trial_months_after : int
        The trial period runs from this many months before the first go-live to this many months
        after the last (protocol: six and six).
    panel_start, panel_end : str
        Quarters of the LA x quarter panel (FY 2017/18 to 2023/24).
    national_referrals_per_year : float
        Children referred per year in England (~650,000).
    treated_referrals_per_year : float
        Average children referred per treatment LA per year (MDES table: 5,200).
    treated_share : float
        Share of ``n_children`` in the five treatment LAs (protocol: half).
    extract_comparators_per_treated, extract_extra_comparators : int
        Candidate comparators materialised in the child extract.
    twins_per_treated : int
        Comparators designed to share each treatment LA's trend, COVID shock and cycles.
    decoy_twins : bool
        Also make one Partners-in-Practice LA and one late-data LA twins (exclusion-rule tests).
    partners_in_practice : tuple of la_code
    late_data_las : tuple of (la_code, "YYYYQn")
        LAs whose data start late (fewer than two years of pre-period data).
    out_of_period_share, age_error_share : float
        Rows dated just outside the trial period; rows with age 18 (data errors).
    base_looked_after_18m, base_cpp_12m, base_any_plan_18m, base_kinship_first_placement,
    base_reunified_18m : float
        National counterfactual rates (looked after: MDES table baseline 0.04).
    base_unauth_absence_rate : float
        National mean unauthorised absence rate among school-age referred children (percent).
    mean_days_cpp, mean_days_cin : float
        Mean days on plans (before censoring at 548) for CPP / CIN-plan-only children.
    effect_la, effect_growth, effect_max : float
        looked_after_18m effect (probability scale) at go-live, change per quarter of event
        time, and its cap: -1.0 pp growing to -2.5 pp after 6 quarters.
    effect_cpp_12m, effect_days_cpp_cin_18m, effect_kinship_first_placement,
    effect_reunified_18m, effect_unauth_absence_rate : float
        Constant effects (probability, days, percentage points). Defaults: 0, 0, +0.02, +0.02,
        0 (small benefits where the logic model expects them; zero elsewhere).
    la_fe_sd, trend_sd, covid_sd, cycle_sd, cycle_ar : float
        Between-LA variation of the looked-after index (logit scale; trend per year); other
        components use fixed multiples.
    treated_excess_looked_after, treated_trend_looked_after : float
        Treatment LAs' higher and rising looked-after index.
    twin_offset_sd, twin_jitter_sd : float
        Twins' constant offset and idiosyncratic per-quarter deviation (logit scale).
    absence_individual_sd : float
        SD of the individual random effect in absence (logit scale).
    missing_disabled, missing_fsm, missing_ethnicity, missing_n_prev_cpp, missing_outcome : float
        Missing shares (ethnicity: NaN, on top of REFU/NOBT codes).
    """

    go_live: tuple[tuple[str, str], ...] = (
        ("E10000031", "2021-07"),  # Warwickshire
        ("E08000021", "2021-11"),  # Newcastle upon Tyne
        ("E08000026", "2022-03"),  # Coventry
        ("E08000029", "2022-07"),  # Solihull
        ("E08000014", "2022-11"),  # Sefton
    )
    trailblazer_go_live: str = "2020-04"
    fgc_lead_months: tuple[int, ...] = (4, 3, 5, 4, 6)
    trailblazer_fgc_lead_months: int = 3
    trial_months_before: int = 6
    trial_months_after: int = 6
    panel_start: str = "2017Q2"
    panel_end: str = "2024Q1"
    national_referrals_per_year: float = 650_000.0
    treated_referrals_per_year: float = 5_200.0
    treated_share: float = 0.5
    extract_comparators_per_treated: int = 4
    extract_extra_comparators: int = 4
    twins_per_treated: int = 4
    decoy_twins: bool = True
    partners_in_practice: tuple[str, ...] = (
        "E08000035",  # Leeds (developed Family Valued)
        "E10000023",  # North Yorkshire
        "E10000015",  # Hertfordshire
        "E06000047",  # County Durham
        "E10000014",  # Hampshire
        "E10000019",  # Lincolnshire
        "E09000007",  # Camden
        "E09000020",  # Kensington and Chelsea
    )
    late_data_las: tuple[tuple[str, str], ...] = (
        ("E06000058", "2019Q4"),  # Bournemouth, Christchurch and Poole
        ("E06000059", "2019Q4"),  # Dorset
        ("E06000060", "2020Q2"),  # Buckinghamshire
        ("E06000061", "2021Q2"),  # North Northamptonshire
        ("E06000062", "2021Q2"),  # West Northamptonshire
    )
    out_of_period_share: float = 0.01
    age_error_share: float = 0.0003
    base_looked_after_18m: float = 0.04
    base_cpp_12m: float = 0.13
    base_any_plan_18m: float = 0.30
    base_kinship_first_placement: float = 0.17
    base_reunified_18m: float = 0.27
    base_unauth_absence_rate: float = 4.0
    mean_days_cpp: float = 280.0
    mean_days_cin: float = 150.0
    effect_la: float = -0.010
    effect_growth: float = -0.0025
    effect_max: float = -0.025
    effect_cpp_12m: float = 0.0
    effect_days_cpp_cin_18m: float = 0.0
    effect_kinship_first_placement: float = 0.02
    effect_reunified_18m: float = 0.02
    effect_unauth_absence_rate: float = 0.0
    la_fe_sd: float = 0.35
    trend_sd: float = 0.04
    covid_sd: float = 0.15
    cycle_sd: float = 0.4
    cycle_ar: float = 0.2
    treated_excess_looked_after: float = 0.25
    treated_trend_looked_after: float = 0.03
    twin_offset_sd: float = 0.08
    twin_jitter_sd: float = 0.03
    absence_individual_sd: float = 0.9
    missing_disabled: float = 0.03
    missing_fsm: float = 0.04
    missing_ethnicity: float = 0.015
    missing_n_prev_cpp: float = 0.35
    missing_outcome: float = 0.01

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name.startswith(("base_", "missing_")) or f.name.endswith("_share"):
                upper = 100.0 if f.name == "base_unauth_absence_rate" else 1.0
                if not isinstance(v, (int, float)) or not 0.0 <= float(v) <= upper:
                    raise FvdidInputError(f"config {f.name!r} must be a number in [0, {upper:g}], got {v!r}")
        for name in (
            "extract_comparators_per_treated", "extract_extra_comparators", "twins_per_treated",
            "trial_months_before", "trial_months_after", "trailblazer_fgc_lead_months",
        ):  # fmt: skip
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise FvdidInputError(f"config {name!r} must be a non-negative integer, got {v!r}")
        if len(self.go_live) == 0:
            raise FvdidInputError("config 'go_live' must name at least one treatment LA")
        codes = [c for c, _ in self.go_live]
        if len(set(codes)) != len(codes):
            raise FvdidInputError(f"config 'go_live' names an LA twice: {codes}")
        for code, month in self.go_live:
            _parse_month(month, f"go_live[{code!r}]")
        _parse_month(self.trailblazer_go_live, "trailblazer_go_live")
        if len(self.fgc_lead_months) != len(self.go_live):
            raise FvdidInputError(
                f"config 'fgc_lead_months' needs one value per treatment LA ({len(self.go_live)}), "
                f"got {len(self.fgc_lead_months)}"
            )
        if any(int(m) < 0 for m in self.fgc_lead_months):
            raise FvdidInputError("config 'fgc_lead_months' must be non-negative")
        for name in ("panel_start", "panel_end"):
            _parse_quarter(getattr(self, name), name)
        for code, q in self.late_data_las:
            _parse_quarter(q, f"late_data_las[{code!r}]")
        if _parse_quarter(self.panel_end, "panel_end") < _parse_quarter(self.panel_start, "panel_start"):
            raise FvdidInputError("config 'panel_end' is before 'panel_start'")
        for name in ("national_referrals_per_year", "treated_referrals_per_year", "mean_days_cpp",
                     "mean_days_cin"):  # fmt: skip
            if not float(getattr(self, name)) > 0:
                raise FvdidInputError(f"config {name!r} must be positive, got {getattr(self, name)!r}")
        if not 0.0 <= self.cycle_ar < 1.0:
            raise FvdidInputError(f"config 'cycle_ar' must be in [0, 1), got {self.cycle_ar!r}")
        if self.effect_la != 0 and (self.effect_max - self.effect_la) * self.effect_la < 0:
            raise FvdidInputError(
                f"config 'effect_max' ({self.effect_max}) must be at least as far from zero as "
                f"'effect_la' ({self.effect_la}) and of the same sign"
            )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the valid configuration keys."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None = None, /, **overrides: Any) -> SimConfig:
        """Build a config from a plain mapping (e.g. parsed JSON / TOML), validating keys.

        Lists become tuples; ``go_live`` and ``late_data_las`` also accept ``{la_code: value}``.
        """
        data = {**(dict(mapping) if mapping else {}), **overrides}
        valid = cls.field_names()
        unknown = sorted(k for k in data if k not in valid)
        if unknown:
            raise FvdidInputError(
                f"unknown simulate config key(s) {unknown}; valid keys: {', '.join(valid)}"
            )
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            kwargs[key] = _coerce(key, value, str(types[key]))
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (round-trips through :meth:`from_mapping`)."""
        return to_plain(self)


def _coerce(key: str, value: Any, typ: str) -> Any:
    if typ.startswith("tuple"):
        if isinstance(value, Mapping):
            value = list(value.items())
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise FvdidInputError(f"config {key!r} must be a list, got {value!r}")
        if "tuple[str, str]" in typ:
            out = []
            for item in value:
                if isinstance(item, (str, bytes)) or len(item) != 2:
                    raise FvdidInputError(f"config {key!r} items must be pairs, got {item!r}")
                out.append((str(item[0]), str(item[1])))
            return tuple(out)
        if "int" in typ:
            return tuple(int(v) for v in value)
        return tuple(str(v) for v in value)
    if typ == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise FvdidInputError(f"config {key!r} must be true/false, got {value!r}")
        return bool(value)
    if typ == "int":
        if isinstance(value, bool) or not float(value).is_integer():
            raise FvdidInputError(f"config {key!r} must be an integer, got {value!r}")
        return int(value)
    if typ == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise FvdidInputError(f"config {key!r} must be a number, got {value!r}")
        return float(value)
    if typ == "str":
        return str(value)
    return value  # pragma: no cover


def _parse_month(text: str, what: str) -> int:
    try:
        return pd.Period(str(text), freq="M").ordinal
    except (ValueError, TypeError) as exc:
        raise FvdidInputError(f"config {what} must be a month 'YYYY-MM', got {text!r}") from exc


def _parse_quarter(text: str, what: str) -> int:
    try:
        return pd.Period(str(text), freq="Q-DEC").ordinal
    except (ValueError, TypeError) as exc:
        raise FvdidInputError(f"config {what} must be a quarter 'YYYYQn', got {text!r}") from exc


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulatedData:
    """The simulated SRS-like extract (see the module docstring for the column dictionary).

    Attributes
    ----------
    seed, n_children, config
        What produced the data.
    las, children, absence_terms, la_quarter, truth, child_effects : pandas.DataFrame
    """

    seed: int
    n_children: int
    config: SimConfig
    las: pd.DataFrame
    children: pd.DataFrame
    absence_terms: pd.DataFrame
    la_quarter: pd.DataFrame
    truth: pd.DataFrame
    child_effects: pd.DataFrame = field(repr=False)

    def truth_att(
        self, outcome: str = "looked_after_18m", *, include_trailblazer: bool = False
    ) -> float:
        """Average true effect over the treated children of the analysis sample.

        The sample is the children in the trial period, aged 0-17, in a treatment LA (and the
        trailblazer if asked), with ``fv == 1`` and the outcome observed: what the primary
        regression targets. Binary outcomes average ``p1 - p0``; days and absence ``Y1 - Y0``.
        """
        if outcome not in OUTCOMES:
            raise FvdidInputError(f"unknown outcome {outcome!r}; expected one of {list(OUTCOMES)}")
        c = self.children
        group = c["treated_la"].to_numpy()
        if include_trailblazer:
            group = group | c["trailblazer_la"].to_numpy()
        keep = (
            group
            & c["in_trial_period"].to_numpy()
            & (c["fv"].to_numpy() == 1)
            & (c["age_at_referral"].to_numpy() <= 17)
            & c[outcome].notna().to_numpy()
        )
        if not keep.any():
            return float("nan")
        return float(np.mean(self.child_effects[outcome].to_numpy()[keep]))

    def frames(self) -> dict[str, pd.DataFrame]:
        """The data frames by name (the files :meth:`write` produces)."""
        return {
            "children": self.children,
            "la_quarter": self.la_quarter,
            "las": self.las,
            "truth": self.truth,
            "absence_terms": self.absence_terms,
            "child_effects": self.child_effects,
        }

    def to_dict(self) -> dict[str, Any]:
        """Summary: seed, config, shapes and columns of every frame, true ATTs."""
        return {
            "seed": int(self.seed),
            "n_children": int(self.n_children),
            "config": self.config.to_dict(),
            "frames": {
                name: {"rows": int(df.shape[0]), "columns": [str(c) for c in df.columns]}
                for name, df in self.frames().items()
            },
            "truth_att": {o: to_plain(self.truth_att(o)) for o in OUTCOMES},
        }

    def summary(self) -> str:
        """Plain-text summary: frame shapes and the true ATT of every outcome."""
        lines = [f"SimulatedData(seed={self.seed}, n_children={self.n_children})"]
        for name, df in self.frames().items():
            lines.append(f"  {name:<14} {df.shape[0]:>10,} rows x {df.shape[1]} columns")
        lines.append("  true ATT over treated children (fv == 1):")
        for o in OUTCOMES:
            lines.append(f"    {o:<26} {self.truth_att(o): .5f} ({_SCALE[o]})")
        return "\n".join(lines)

    def write(
        self,
        out_dir: str | Path,
        formats: Sequence[Literal["parquet", "csv"]] = ("parquet", "csv"),
    ) -> dict[str, list[Path]]:
        """Write every frame as ``<name>.<format>`` plus ``simulation.json``; return the paths."""
        bad = [f for f in formats if f not in ("parquet", "csv")]
        if bad:
            raise FvdidInputError(f"unknown output format(s) {bad}; expected 'parquet' or 'csv'")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, list[Path]] = {}
        for name, df in self.frames().items():
            paths = []
            for fmt in formats:
                path = out / f"{name}.{fmt}"
                if fmt == "parquet":
                    df.to_parquet(path, index=False)
                else:
                    df.to_csv(path, index=False)
                paths.append(path)
            written[name] = paths
        meta = out / "simulation.json"
        meta.write_text(json.dumps(self.to_dict(), indent=2))
        written["simulation"] = [meta]
        return written


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _la_table() -> pd.DataFrame:
    rows = [line.split("|") for line in _LA_TABLE.strip().splitlines()]
    df = pd.DataFrame(rows, columns=["la_code", "la_name", "region", "size"])
    df["region"] = df["region"].map(_REGIONS)
    df["size"] = df["size"].astype(float)
    return df.sort_values("la_code", ignore_index=True)


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
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


def _support() -> dict[str, np.ndarray]:
    """Support points of the outcome-relevant covariates with weights linear in the FSM share."""
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


def _absence_F(sd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid of E_b[expit(a + b)] and E_b[expit(a + b)^2], b ~ N(0, sd^2) (Gauss-Hermite)."""
    grid = np.linspace(-16.0, 8.0, 4801)
    x, w = np.polynomial.hermite.hermgauss(40)
    z = expit(grid[:, None] + math.sqrt(2.0) * sd * x[None, :])
    w = w / math.sqrt(math.pi)
    return grid, z @ w, (z * z) @ w


def _gamma_trunc_moments(shape: float, mean: np.ndarray, cap: float) -> tuple[np.ndarray, np.ndarray]:
    """E[min(cap, D)] and E[min(cap, D)^2] for D ~ Gamma(shape, mean / shape)."""
    theta = mean / shape
    x = cap / theta
    tail = 1.0 - gammainc(shape, x)
    m1 = shape * theta * gammainc(shape + 1, x) + cap * tail
    m2 = shape * (shape + 1) * theta**2 * gammainc(shape + 2, x) + cap**2 * tail
    return m1, m2


def _fy_label(month_ordinal: np.ndarray) -> np.ndarray:
    year = 1970 + month_ordinal // 12
    month = month_ordinal % 12 + 1
    start = np.where(month >= 4, year, year - 1)
    return np.array([f"{y}/{(y + 1) % 100:02d}" for y in start], dtype=object)


def _overlap(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    return np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None)


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------
def simulate(
    seed: int = 0,
    n_children: int = 100_000,
    config: SimConfig | Mapping[str, Any] | None = None,
    **overrides: Any,
) -> SimulatedData:
    """Simulate an SRS-like extract for the Family Valued matched DiD evaluation.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng`` (via ``SeedSequence.spawn``: the LA-level draws and
        the LA x quarter panel do not depend on ``n_children``). Same seed, same frames.
    n_children : int
        Rows of the child-level extract (treatment LAs and candidate comparators).
    config : SimConfig or mapping, optional
        Base configuration; ``overrides`` (any :class:`SimConfig` field) are applied on top.
        Unknown keys raise :class:`fvdid.errors.FvdidInputError` listing the valid ones.

    Returns
    -------
    SimulatedData
        ``las``, ``children``, ``absence_terms``, ``la_quarter``, ``truth``, ``child_effects``.
        The DGP and the column dictionary are documented in the module docstring
        (``help(fvdid.simulate)``).

    Notes
    -----
    Vocabulary mapping: ``unit`` = ``child_id`` (children) or ``la`` (panel), ``time`` =
    ``referral_quarter`` / ``quarter``, ``cohort`` = ``las.go_live``, ``cluster`` = ``la_code``.
    There is no R reference: the simulator is fvdid's own. The full DGP and the column dictionary
    (the module documentation) follow.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise FvdidInputError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(n_children, bool) or not isinstance(n_children, (int, np.integer)) or n_children < 1:
        raise FvdidInputError(f"n_children must be a positive integer, got {n_children!r}")
    if config is None:
        cfg = SimConfig.from_mapping(overrides)
    elif isinstance(config, SimConfig):
        cfg = SimConfig.from_mapping({**config.to_dict(), **overrides}) if overrides else config
    elif isinstance(config, Mapping):
        cfg = SimConfig.from_mapping({**config, **overrides})
    else:
        raise FvdidInputError(f"config must be a SimConfig or a mapping, got {type(config).__name__}")
    return _Simulator(cfg, int(seed), int(n_children)).run()


class _Simulator:
    def __init__(self, cfg: SimConfig, seed: int, n_children: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.n = n_children
        ss = np.random.SeedSequence(seed)
        self.rng_la, self.rng_panel, self.rng_child = (np.random.default_rng(s) for s in ss.spawn(3))
        self.sup = _support()

    # ---------------------------------------------------------------- LAs and latent indices
    def _setup_las(self) -> None:
        cfg, rng = self.cfg, self.rng_la
        las = _la_table()
        codes = las["la_code"].to_numpy()
        idx = {c: i for i, c in enumerate(codes)}
        n_la = len(las)
        for code, _ in cfg.go_live:
            if code not in idx:
                raise FvdidInputError(f"config go_live names {code!r}, which is not an English LA code")
        for code in cfg.partners_in_practice:
            if code not in idx:
                raise FvdidInputError(f"config partners_in_practice names unknown LA code {code!r}")
        for code, _ in cfg.late_data_las:
            if code not in idx:
                raise FvdidInputError(f"config late_data_las names unknown LA code {code!r}")
        treated_idx = np.array([idx[c] for c, _ in cfg.go_live])
        tb = idx[_TRAILBLAZER]
        if tb in treated_idx:
            raise FvdidInputError("the trailblazer (Darlington) cannot be a treatment LA")
        treated = np.zeros(n_la, bool)
        treated[treated_idx] = True
        trail = np.zeros(n_la, bool)
        trail[tb] = True
        pip = np.isin(codes, list(cfg.partners_in_practice)) & ~treated & ~trail

        # time axes ------------------------------------------------------------------------
        go = np.full(n_la, np.iinfo(np.int64).min, dtype=np.int64)  # month ordinal (NaT marker)
        fgc = go.copy()
        for (code, month), lead in zip(cfg.go_live, cfg.fgc_lead_months):
            go[idx[code]] = _parse_month(month, "go_live")
            fgc[idx[code]] = go[idx[code]] - int(lead)
        go[tb] = _parse_month(cfg.trailblazer_go_live, "trailblazer_go_live")
        fgc[tb] = go[tb] - cfg.trailblazer_fgc_lead_months
        first_go, last_go = go[treated].min(), go[treated].max()
        self.trial_m0 = int(first_go - cfg.trial_months_before)  # first month in trial period
        self.trial_m1 = int(last_go + cfg.trial_months_after)  # last month in trial period
        self.ext_m0, self.ext_m1 = self.trial_m0 - 1, self.trial_m1 + 1
        p0 = _parse_quarter(cfg.panel_start, "panel_start")
        p1 = _parse_quarter(cfg.panel_end, "panel_end")
        self.panel_q = np.arange(p0, p1 + 1)
        q0 = min(p0, self.ext_m0 // 3, int(go[trail | treated].min()) // 3)
        q1 = max(p1, self.ext_m1 // 3)
        self.q = np.arange(q0, q1 + 1)  # latent quarters (ordinals)
        nq = len(self.q)
        self.months = np.arange(q0 * 3, q1 * 3 + 3)  # month ordinals covering self.q

        first_q = np.full(n_la, p0, dtype=np.int64)
        for code, quarter in cfg.late_data_las:
            first_q[idx[code]] = max(p0, _parse_quarter(quarter, "late_data_las"))
        late = first_q > p0
        if np.any(late & (treated | trail)):
            raise FvdidInputError("late_data_las may not include a treatment LA or the trailblazer")

        # volumes --------------------------------------------------------------------------
        size_jitter = np.exp(rng.normal(0.0, 0.15, n_la))
        fsm_base = np.clip(
            rng.normal(0.42, 0.07, n_la)
            + las["region"].map({"North East": 0.06, "London": 0.04, "South East": -0.06,
                                 "East of England": -0.04, "South West": -0.04}).fillna(0.0).to_numpy(),
            0.15, 0.75,
        )  # fmt: skip
        vol = las["size"].to_numpy() * size_jitter * np.exp(1.5 * (fsm_base - 0.42))
        vol = vol / vol.sum() * cfg.national_referrals_per_year
        vol_t = vol[treated] * (cfg.treated_referrals_per_year / vol[treated].mean())
        rest = cfg.national_referrals_per_year - vol_t.sum()
        if rest <= 0:
            raise FvdidInputError("treated_referrals_per_year too large for national_referrals_per_year")
        vol[~treated] = vol[~treated] / vol[~treated].sum() * rest
        vol[treated] = vol_t
        month_of_year = self.months % 12
        m_idx = {m: i for i, m in enumerate(self.months)}
        covid_m0 = pd.Period("2020-04", freq="M").ordinal
        cov_prof = np.zeros(len(self.months))
        for j in range(12):
            if covid_m0 + j in m_idx:
                cov_prof[m_idx[covid_m0 + j]] = _COVID_VOLUME[j]
        cov_amp = np.clip(rng.normal(1.0, 0.3, n_la), 0.2, 2.0)
        vol_trend = rng.normal(0.0, 0.02, n_la)  # national volume flat around 650,000 a year
        years_m = (self.months - pd.Period("2019-10", freq="M").ordinal) / 12.0
        self.vol_m = (
            vol[:, None] / 12.0
            * _MONTH_SEASON[month_of_year][None, :]
            * (1.0 - cov_amp[:, None] * cov_prof[None, :])
            * np.exp(vol_trend[:, None] * years_m[None, :])
        )  # (n_la, n_months)
        self.vol_q = self.vol_m.reshape(n_la, nq, 3).sum(axis=2)

        # LA time-varying covariates (measured at quarter start) ------------------------------
        years_q = (self.q - pd.Period("2021Q1", freq="Q").ordinal) / 4.0
        covid_q0 = pd.Period("2020Q2", freq="Q").ordinal
        after_covid = (self.q >= covid_q0).astype(float)
        self.share_fsm = np.clip(
            fsm_base[:, None] + 0.005 * years_q[None, :] + 0.04 * after_covid[None, :]
            + rng.normal(0, 0.005, (n_la, nq)),
            0.05, 0.85,
        )  # fmt: skip
        region = las["region"].to_numpy()
        wb_mean = np.where(region == "London", 0.35, 0.80)
        wb_mean = np.where(np.isin(codes, ["E08000025", "E06000016", "E06000039", "E06000032",
                                           "E08000032", "E08000028"]), 0.45, wb_mean)  # fmt: skip
        wb_base = np.clip(wb_mean + rng.normal(0, np.where(region == "London", 0.12, 0.07)), 0.08, 0.97)
        self.share_wb = np.clip(
            wb_base[:, None] - 0.004 * years_q[None, :] + rng.normal(0, 0.005, (n_la, nq)), 0.05, 0.98
        )
        adopt = rng.random(n_la) < 0.25
        adopt_q = rng.integers(self.q[0], self.q[-1] + 1, n_la)
        self.innov = (adopt[:, None] & (self.q[None, :] >= adopt_q[:, None])).astype(np.int8)

        # latent index components ------------------------------------------------------------
        nk = len(_K)
        fe = rng.normal(0, 1, (nk, n_la)) * (cfg.la_fe_sd * _M_FE)[:, None]
        trend = rng.normal(0, 1, (nk, n_la)) * (cfg.trend_sd * _M_TREND)[:, None]
        covid = _COVID_MEAN[:, None] + rng.normal(0, 1, (nk, n_la)) * (cfg.covid_sd * _M_COVID)[:, None]
        sig = cfg.cycle_sd * _M_CYCLE
        eps = rng.normal(0, 1, (nk, n_la, nq)) * sig[:, None, None]
        cyc = np.empty((nk, n_la, nq))
        cyc[:, :, 0] = eps[:, :, 0] / math.sqrt(1 - cfg.cycle_ar**2)
        for t in range(1, nq):
            cyc[:, :, t] = cfg.cycle_ar * cyc[:, :, t - 1] + eps[:, :, t]
        fe[LA, treated] += cfg.treated_excess_looked_after
        trend[LA, treated] += cfg.treated_trend_looked_after
        dur_mult = np.exp(rng.normal(0, 0.15, n_la))

        # twins -----------------------------------------------------------------------------
        eligible = ~treated & ~trail & ~pip & ~late
        big = las["size"].to_numpy() >= 40  # twins of comparable size (statistical neighbours)
        pool = np.flatnonzero(eligible & big)
        n_twins = min(cfg.twins_per_treated * len(treated_idx), len(pool))
        chosen = rng.choice(pool, size=n_twins, replace=False)
        twin_of = np.full(n_la, -1)
        decoy = np.zeros(n_la, bool)
        pairs = [(int(c), int(treated_idx[i // cfg.twins_per_treated])) for i, c in enumerate(chosen)]
        if cfg.decoy_twins:
            pip_pool = np.flatnonzero(pip & big)
            late_pool = np.flatnonzero(late & big)
            if len(pip_pool):
                d = int(rng.choice(pip_pool))
                pairs.append((d, int(treated_idx[0])))
                decoy[d] = True
            if len(late_pool):
                d = int(rng.choice(late_pool))
                pairs.append((d, int(treated_idx[min(2, len(treated_idx) - 1)])))
                decoy[d] = True
        for c, t in pairs:
            twin_of[c] = t
            fe[:, c] = fe[:, t] + rng.normal(0, cfg.twin_offset_sd, nk)
            trend[:, c] = trend[:, t] + rng.normal(0, 0.1, nk) * cfg.trend_sd * _M_TREND
            covid[:, c] = covid[:, t] + rng.normal(0, 0.1, nk) * cfg.covid_sd * _M_COVID
            cyc[:, c, :] = cyc[:, t, :] + rng.normal(0, cfg.twin_jitter_sd, (nk, nq))

        cprof = np.array([_COVID_PROFILE.get(str(pd.Period(ordinal=int(q), freq="Q")), 0.0)
                          for q in self.q])  # fmt: skip
        season = _COEF["season"][:, (self.q % 4)]  # (nk, nq); ordinal % 4 == quarter-of-year - 1
        self.eta = (
            fe[:, :, None]
            + trend[:, :, None] * years_q[None, None, :]
            + covid[:, :, None] * cprof[None, None, :]
            + cyc
            + season[:, None, :]
            + _COEF["innovation"][:, None, None] * self.innov[None, :, :]
        )  # (nk, n_la, nq), intercepts added by _calibrate

        # extract membership -------------------------------------------------------------------
        pre = (self.q >= p0) & (self.q < (first_go // 3))
        feats = [fe[k] for k in range(nk)] + [trend[k] * 4 for k in range(nk)]
        feats += [covid[k] for k in range(nk)] + [cyc[k][:, pre].T for k in range(nk)]
        feat = np.vstack([np.atleast_2d(f) for f in feats]).T  # (n_la, features)
        feat = (feat - feat.mean(0)) / np.where(feat.std(0) > 0, feat.std(0), 1.0)
        in_extract = treated | trail
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

        self.las_df = las
        self.codes, self.names = codes, las["la_name"].to_numpy(dtype=object)
        self.n_la = n_la
        self.treated, self.trail, self.pip, self.late = treated, trail, pip, late
        self.go, self.fgc, self.first_q = go, fgc, first_q
        self.vol = vol
        self.in_extract = in_extract
        self.params = {"fe": fe, "trend": trend, "covid": covid, "dur": dur_mult}
        self.twin_of, self.decoy = twin_of, decoy
        self.has_go = go != np.iinfo(np.int64).min

    # ---------------------------------------------------------------- expected rates
    def _calibrate(self) -> None:
        """Calibrate the intercepts, then compute expected counterfactual rates per cell.

        The national mean is a sum over (cell, support point) pairs of weight x f(x), with
        x = eta + v. The pairs are binned on x (width 0.002 on the logit scale, error of order
        1e-7) once per component, so the Newton steps on the intercept are cheap.
        """
        cfg, sup = self.cfg, self.sup
        in_panel = np.isin(self.q, self.panel_q)
        wcell = (self.vol_q * in_panel[None, :]).ravel()
        s = self.share_fsm.ravel()
        w0, w1 = sup["w0"], sup["w1"]
        V = sup["v"]
        nk = len(_K)
        eta = self.eta.reshape(nk, -1)
        h = 0.002

        def weights(extra: np.ndarray | None = None, cols: np.ndarray | None = None) -> np.ndarray:
            a0 = w0 if cols is None else w0[cols]
            a1 = w1 if cols is None else w1[cols]
            W = a0[None, :] + s[:, None] * a1[None, :]
            W *= wcell[:, None]
            if extra is not None:
                W *= extra
            return W

        def binned(k: int, W: np.ndarray, cols: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
            v = V[k] if cols is None else V[k][cols]
            x = eta[k][:, None] + v[None, :]
            lo = float(x.min())
            idx = np.rint((x - lo) / h).astype(np.int64).ravel()
            wb = np.bincount(idx, weights=W.ravel())
            centers = lo + h * np.arange(len(wb))
            nz = wb != 0
            return centers[nz], wb[nz]

        def newton(target: float, f, df) -> float:
            m = float(logit(min(max(target, 1e-4), 1 - 1e-4)))
            for _ in range(50):
                step = (f(m) - target) / df(m)
                m -= float(np.clip(step, -2.0, 2.0))
                if abs(step) < 1e-12:
                    break
            return m

        def calibrate_binary(k: int, target: float, W: np.ndarray, denom: float) -> float:
            c, wb = binned(k, W)

            def f(m: float) -> float:
                return float(wb @ expit(c + m)) / denom

            def df(m: float) -> float:
                p = expit(c + m)
                return float(wb @ (p * (1 - p))) / denom

            return newton(target, f, df)

        mu = np.zeros(nk)
        W = weights()
        total = float(wcell.sum())
        mu[LA] = calibrate_binary(LA, cfg.base_looked_after_18m, W, total)
        mu[CPP] = calibrate_binary(CPP, cfg.base_cpp_12m, W, total)
        P_la = expit(eta[LA][:, None] + mu[LA] + V[LA][None, :])
        P_cpp = expit(eta[CPP][:, None] + mu[CPP] + V[CPP][None, :])
        if cfg.base_any_plan_18m <= cfg.base_cpp_12m:
            raise FvdidInputError(
                "config base_any_plan_18m must exceed base_cpp_12m (CPP children have a plan)"
            )
        # any plan: E[p_cpp] + E[(1 - p_cpp) q] = target
        rest = cfg.base_any_plan_18m - cfg.base_cpp_12m
        mu[CIN] = calibrate_binary(CIN, rest, weights(1 - P_cpp), total)
        W_la = weights(P_la)
        total_la = float(W_la.sum())
        mu[KIN] = calibrate_binary(KIN, cfg.base_kinship_first_placement, W_la, total_la)
        mu[REU] = calibrate_binary(REU, cfg.base_reunified_18m, W_la, total_la)
        del W, W_la

        # absence (percent): school-age support points only
        grid, F, F2 = _absence_F(cfg.absence_individual_sd)
        dF = np.gradient(F, grid)
        js = np.flatnonzero(sup["school"])
        shift = _TERM_EFFECT[:, None] + _ABS_MONTHS_SLOPE * 6.0  # ~6 months after referral on average

        def A(x: np.ndarray, tab: np.ndarray = F) -> np.ndarray:
            return np.interp(x[None, :] + shift, grid, tab).mean(0)

        Ws = weights(cols=js)
        c, wb = binned(ABS, Ws, js)
        total_s = float(Ws.sum())
        mu[ABS] = newton(
            cfg.base_unauth_absence_rate / 100.0,
            lambda m: float(wb @ A(c + m)) / total_s,
            lambda m: float(wb @ A(c + m, dF)) / total_s,
        )
        del Ws
        self.eta = self.eta + mu[:, None, None]
        eta = self.eta.reshape(nk, -1)
        self.mu = mu

        # expected counterfactual rates per (LA, quarter) cell ------------------------------------
        shape = (self.n_la, len(self.q))

        def wmean(M: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
            a0 = w0 if cols is None else w0[cols]
            a1 = w1 if cols is None else w1[cols]
            return M @ a0 + s * (M @ a1)

        P_la = expit(eta[LA][:, None] + V[LA][None, :])
        P_cpp = expit(eta[CPP][:, None] + V[CPP][None, :])
        Q = expit(eta[CIN][:, None] + V[CIN][None, :])
        R_la = wmean(P_la)
        P_kin = expit(eta[KIN][:, None] + V[KIN][None, :])
        R_kin = wmean(P_la * P_kin) / R_la
        del P_kin
        P_reu = expit(eta[REU][:, None] + V[REU][None, :])
        R_reu = wmean(P_la * P_reu) / R_la
        del P_reu, P_la
        self.R = {
            "looked_after_18m": R_la.reshape(shape),
            "cpp_12m": wmean(P_cpp).reshape(shape),
            "kinship_first_placement": R_kin.reshape(shape),
            "reunified_18m": R_reu.reshape(shape),
        }
        # days: truncated gamma moments depend on (LA, prior) only
        dur = self.params["dur"][:, None] * np.array([1.0, 1.1])[None, :]  # (n_la, prior)
        c1, c2 = _gamma_trunc_moments(_SHAPE_CPP, cfg.mean_days_cpp * dur, CAP_DAYS)
        n1, n2 = _gamma_trunc_moments(_SHAPE_CIN, cfg.mean_days_cin * dur, CAP_DAYS)
        cell_la = np.repeat(np.arange(self.n_la), len(self.q))
        pr = sup["prior"]
        noplan = (1 - P_cpp) * Q
        e1 = wmean(P_cpp * c1[cell_la][:, pr] + noplan * n1[cell_la][:, pr])
        e2 = wmean(P_cpp * c2[cell_la][:, pr] + noplan * n2[cell_la][:, pr])
        del P_cpp, Q, noplan
        self.R["days_cpp_cin_18m"] = e1.reshape(shape)
        self.V_days = np.maximum(e2 - e1**2, 0.0).reshape(shape)
        # absence mean and variance among school-age children
        xs = eta[ABS][:, None] + V[ABS][js][None, :]
        mean_t = np.zeros_like(xs)
        for sh in shift[:, 0]:
            mean_t += np.interp(xs + sh, grid, F)
        mean_t /= len(shift)
        sch = w0[js].sum() + s * w1[js].sum()
        mean_abs = wmean(mean_t, js) / sch
        sq = wmean(np.interp(xs + _TERM_EFFECT.mean(), grid, F2), js) / sch
        binom_var = mean_abs * (1 - mean_abs) / _TERM_SESSIONS.sum()
        self.R["unauth_absence_rate"] = (100.0 * mean_abs).reshape(shape)
        self.V_abs = (1e4 * (np.maximum(sq - mean_abs**2, 0.0) + binom_var)).reshape(shape)
        self.p_school = float(_P_AGE[5:16].sum())

    # ---------------------------------------------------------------- treatment schedule
    def _tau(self, outcome: str, e: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        e = np.asarray(e, dtype=float)
        if outcome == "looked_after_18m":
            raw = cfg.effect_la + cfg.effect_growth * np.maximum(e, 0)
            lo, hi = sorted((cfg.effect_la, cfg.effect_max))
            val = np.clip(raw, lo, hi)
        else:
            val = np.full(e.shape, float(getattr(cfg, f"effect_{outcome}")))
        return np.where(e >= 0, val, 0.0)

    # ---------------------------------------------------------------- LA x quarter panel
    def _panel(self) -> pd.DataFrame:
        rng = self.rng_panel
        qi = np.flatnonzero(np.isin(self.q, self.panel_q))
        nq = len(qi)
        n_la = self.n_la
        vol_q = self.vol_q[:, qi]
        # FV share per quarter and volume-weighted tau per outcome
        months = self.months.reshape(len(self.q), 3)[qi]  # (nq, 3)
        since = months[None, :, :] - np.where(self.has_go, self.go, 0)[:, None, None]
        fv_m = self.has_go[:, None, None] & (since >= 0)
        w_m = self.vol_m.reshape(n_la, len(self.q), 3)[:, qi, :]
        fv_share = (w_m * fv_m).sum(2) / w_m.sum(2)
        e_m = np.floor_divide(since, 3)
        tau = {o: (w_m * fv_m * self._tau(o, e_m)).sum(2) / w_m.sum(2) for o in OUTCOMES}
        R = {o: self.R[o][:, qi] for o in OUTCOMES}
        n = rng.poisson(vol_q)
        p_la = np.clip(R["looked_after_18m"] + tau["looked_after_18m"], 0, 1)
        n_la_ = rng.binomial(n, p_la)
        cpp = rng.binomial(n, np.clip(R["cpp_12m"] + tau["cpp_12m"], 0, 1))
        kin = rng.binomial(n_la_, np.clip(R["kinship_first_placement"] + tau["kinship_first_placement"], 0, 1))
        reu = rng.binomial(n_la_, np.clip(R["reunified_18m"] + tau["reunified_18m"], 0, 1))
        n_sch = rng.binomial(n, self.p_school)
        with np.errstate(divide="ignore", invalid="ignore"):
            days = R["days_cpp_cin_18m"] + tau["days_cpp_cin_18m"] + rng.normal(0, 1, (n_la, nq)) * np.sqrt(
                self.V_days[:, qi] / n
            )
            absr = R["unauth_absence_rate"] + tau["unauth_absence_rate"] + rng.normal(0, 1, (n_la, nq)) * np.sqrt(
                self.V_abs[:, qi] / n_sch
            )
            nf = n.astype(float)
            out = {
                "looked_after_18m": n_la_ / nf,
                "cpp_12m": cpp / nf,
                "days_cpp_cin_18m": np.where(n > 0, np.clip(days, 0, CAP_DAYS), np.nan),
                "kinship_first_placement": kin / n_la_.astype(float),
                "reunified_18m": reu / n_la_.astype(float),
                "unauth_absence_rate": np.where(n_sch > 0, np.clip(absr, 0, 100), np.nan),
            }
        nodata = self.panel_q[None, :] < self.first_q[:, None]
        df = pd.DataFrame(
            {
                "la": np.repeat(self.codes, nq).astype(object),
                "quarter": pd.PeriodIndex.from_ordinals(np.tile(self.panel_q, n_la), freq="Q-DEC"),
                "n_referrals": pd.array(np.where(nodata, -1, n).ravel(), dtype="Int64"),
            }
        )
        df.loc[nodata.ravel(), "n_referrals"] = pd.NA
        for o in ("looked_after_18m", "cpp_12m", "days_cpp_cin_18m"):
            df[o] = np.where(nodata, np.nan, out[o]).ravel()
        df["n_looked_after"] = pd.array(n_la_.ravel(), dtype="Int64")
        df.loc[nodata.ravel(), "n_looked_after"] = pd.NA
        for o in ("kinship_first_placement", "reunified_18m"):
            df[o] = np.where(nodata, np.nan, out[o]).ravel()
        df["n_school_age"] = pd.array(n_sch.ravel(), dtype="Int64")
        df.loc[nodata.ravel(), "n_school_age"] = pd.NA
        df["unauth_absence_rate"] = np.where(nodata, np.nan, out["unauth_absence_rate"]).ravel()
        df["la_share_fsm"] = self.share_fsm[:, qi].ravel()
        df["la_share_white_british"] = self.share_wb[:, qi].ravel()
        df["la_other_innovation"] = self.innov[:, qi].ravel().astype(np.int8)
        df["treated"] = np.repeat(self.treated, nq)
        go_q = np.where(self.has_go, np.floor_divide(self.go, 3), np.iinfo(np.int64).max)
        df["fv"] = (self.panel_q[None, :] >= go_q[:, None]).ravel().astype(np.int8)
        df["fv_share"] = fv_share.ravel()
        return df

    # ---------------------------------------------------------------- children
    def _children(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        cfg, rng, sup = self.cfg, self.rng_child, self.sup
        n = self.n
        ext = np.flatnonzero(self.in_extract)
        tr = self.treated[ext]
        mi = np.flatnonzero((self.months >= self.trial_m0) & (self.months <= self.trial_m1))
        trial_vol = self.vol_m[ext][:, mi].sum(1)
        n_t = round(cfg.treated_share * n) if tr.any() else 0
        if not (~tr).any():
            n_t = n
        counts = np.zeros(len(ext), dtype=np.int64)
        counts[tr] = _largest_remainder(n_t, trial_vol[tr])
        counts[~tr] = _largest_remainder(n - n_t, trial_vol[~tr])
        # months: in-trial multinomial by volume; out-of-period share split before / after
        m_all = np.concatenate([[self.ext_m0], self.months[mi], [self.ext_m1]])
        la_parts, m_parts = [], []
        for j, la in enumerate(ext):
            c = int(counts[j])
            if c == 0:
                continue
            n_out = rng.binomial(c, cfg.out_of_period_share)
            n_before = rng.binomial(n_out, 0.5)
            p = self.vol_m[la, mi] / self.vol_m[la, mi].sum()
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
        qpos = q_abs - self.q[0]
        cell = la_i * len(self.q) + qpos
        s = self.share_fsm[la_i, qpos]

        # covariates ------------------------------------------------------------------------
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
        p_fsm = np.clip(s * sup["a_band"][band], 0, 1)
        fsm = (rng.random(n) < p_fsm).astype(np.int8)
        # ethnicity: WBRI with the LA share, others by the national mix
        s_wb = self.share_wb[la_i, qpos]
        ue = rng.random(n)
        other_cdf = np.cumsum(_ETH_OTHER_REL) / _ETH_OTHER_REL.sum()
        eth_idx = np.where(
            ue < s_wb, 0,
            1 + np.minimum(np.searchsorted(other_cdf, (ue - s_wb) / (1 - s_wb), side="right"), 18),
        )  # fmt: skip
        eth_codes = np.array(_ETHNICITY, dtype=object)
        major_of = np.array([_ETH_MAJOR.get(c, np.nan) for c in _ETHNICITY], dtype=object)

        # linear predictors (true covariates) ---------------------------------------------------
        def v(k: int) -> np.ndarray:
            return (
                _COEF["band"][k][band] + _COEF["disabled"][k] * disabled + _COEF["prior"][k] * prior
                + _COEF["need"][k][need] + _COEF["fsm"][k] * fsm + _COEF["uasc"][k] * uasc
            )  # fmt: skip

        eta = self.eta.reshape(len(_K), -1)
        p0 = {k: expit(eta[k][cell] + v(k)) for k in (LA, CPP, CIN, KIN, REU)}

        # treatment -----------------------------------------------------------------------------
        has_go = self.has_go[la_i]
        since = month - np.where(has_go, self.go[la_i], 0)
        fv = has_go & (since >= 0)
        e = np.where(has_go, np.floor_divide(since, 3), 0).astype(float)
        e_out = np.where(has_go, e, np.nan)

        def scaled(p: np.ndarray, outcome: str, rbar: np.ndarray) -> np.ndarray:
            t = np.where(fv, self._tau(outcome, e), 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(rbar > 0, 1.0 + t / rbar, 1.0)
            return np.clip(p * f, 0.0, 1.0)

        R = {o: self.R[o].ravel()[cell] for o in OUTCOMES}
        p1_la = scaled(p0[LA], "looked_after_18m", R["looked_after_18m"])
        p1_cpp = scaled(p0[CPP], "cpp_12m", R["cpp_12m"])
        p1_kin = scaled(p0[KIN], "kinship_first_placement", R["kinship_first_placement"])
        p1_reu = scaled(p0[REU], "reunified_18m", R["reunified_18m"])

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
        dur = self.params["dur"][la_i] * np.where(prior == 1, 1.1, 1.0)
        g_c = rng.gamma(_SHAPE_CPP, 1.0, n) * cfg.mean_days_cpp * dur / _SHAPE_CPP
        g_n = rng.gamma(_SHAPE_CIN, 1.0, n) * cfg.mean_days_cin * dur / _SHAPE_CIN
        t_days = np.where(fv, self._tau("days_cpp_cin_18m", e), 0.0)
        kf = np.maximum(0.0, 1.0 + t_days / np.maximum(R["days_cpp_cin_18m"], 1e-9))

        def days_of(cpp: np.ndarray, plan: np.ndarray, factor: np.ndarray | float) -> np.ndarray:
            raw = np.where(cpp, g_c, g_n) * factor
            d = np.clip(np.rint(raw), 1, CAP_DAYS)
            return np.where(plan, d, 0.0)

        days0 = days_of(cpp0, plan0, 1.0)
        days1 = days_of(cpp1, plan1, kf)
        y_days = np.where(fv, days1, days0)

        # reunification sample: care start, episode end, 18th birthday
        ref_day = date_d
        care_start = ref_day + np.rint(CAP_DAYS * rng.beta(0.7, 1.6, n)).astype(np.int64)
        reun_len = 14 + np.rint(rng.random(n) * (CAP_DAYS - 14)).astype(np.int64)
        stay_len = CAP_DAYS + np.rint(rng.exponential(400.0, n)).astype(np.int64)
        birthday18 = ref_day + np.rint((18 - age - rng.random(n)) * 365.25).astype(np.int64)
        trial_end_day = (
            pd.Period(ordinal=self.trial_m1, freq="M").end_time.normalize().to_datetime64().astype("datetime64[D]").astype(np.int64)
        )

        def reun_ok(r: np.ndarray) -> np.ndarray:
            end = care_start + np.where(r, reun_len, stay_len)
            return (birthday18 >= end) & (care_start <= trial_end_day)

        reu_ok = reun_ok(reu)

        # open-referral days in the trial period and under FV
        t0_day = pd.Period(ordinal=self.trial_m0, freq="M").start_time.to_datetime64().astype("datetime64[D]").astype(np.int64)
        t1_day = trial_end_day + 1
        len1 = 20 + np.rint(rng.gamma(1.2, 50.0, n)).astype(np.int64) + np.where(y_days > 0, y_days + 30, 0).astype(np.int64)
        rerefer = rng.random(n) < 0.22
        start2 = ref_day + len1 + 14 + np.rint(rng.exponential(180.0, n)).astype(np.int64)
        len2 = np.where(rerefer, 20 + np.rint(rng.gamma(1.2, 50.0, n)).astype(np.int64), 0)
        open_trial = _overlap(ref_day, ref_day + len1, t0_day, t1_day) + _overlap(start2, start2 + len2, t0_day, t1_day)
        go_day = np.where(
            has_go,
            pd.PeriodIndex.from_ordinals(np.where(has_go, self.go[la_i], 0), freq="M").start_time.to_numpy().astype("datetime64[D]").astype(np.int64),
            t1_day,
        )
        fv_from = np.maximum(go_day, t0_day)
        open_fv = _overlap(ref_day, ref_day + len1, fv_from, t1_day) + _overlap(start2, start2 + len2, fv_from, t1_day)

        # absence over the three terms after referral ---------------------------------------
        school = (age >= 5) & (age <= 15)
        abs_missing = rng.random(n) < cfg.missing_outcome
        has_abs = school & ~abs_missing
        ia = np.flatnonzero(has_abs)
        years = np.arange(1970 + int(month.min()) // 12 - 1, 1970 + int(month.max()) // 12 + 3)
        t_start, t_type, t_ay = [], [], []
        for y in years:
            for ti, (mo, dd) in enumerate(_TERM_START):
                cal_year = y if ti == 0 else y + 1
                t_start.append(np.datetime64(f"{cal_year:04d}-{mo:02d}-{dd:02d}").astype("datetime64[D]").astype(np.int64))
                t_type.append(ti)
                t_ay.append(y)
        t_start = np.array(t_start)
        t_type = np.array(t_type)
        t_label = np.array([f"{y}/{(y + 1) % 100:02d} {_TERM_NAMES[t]}" for y, t in zip(t_ay, t_type)], dtype=object)
        first = np.searchsorted(t_start, ref_day[ia], side="right")
        tidx = first[:, None] + np.arange(3)[None, :]  # (na, 3)
        months_since = (t_start[tidx] - ref_day[ia][:, None]) / 30.4375
        b = rng.normal(0, cfg.absence_individual_sd, len(ia))
        lin = eta[ABS][cell[ia]] + v(ABS)[ia] + b
        r0 = expit(lin[:, None] + _TERM_EFFECT[t_type[tidx]] + _ABS_MONTHS_SLOPE * months_since)
        t_abs = np.where(fv[ia], self._tau("unauth_absence_rate", e[ia]), 0.0)
        rbar = R["unauth_absence_rate"][ia]
        r1 = np.clip(r0 * (1.0 + (t_abs / rbar))[:, None], 0.0, 1.0)
        base_s = _TERM_SESSIONS[t_type[tidx]]
        possible = np.maximum(base_s - rng.binomial(base_s, 0.04), 10)
        # coupled potential outcomes: thinning (effect < 0) or topping up (effect > 0) is exact
        unauth0 = rng.binomial(possible, r0)
        f_abs = np.broadcast_to((1.0 + t_abs / rbar)[:, None], r0.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.clip((r1 - r0) / (1.0 - r0), 0.0, 1.0)
        unauth1 = np.where(
            f_abs <= 1.0,
            rng.binomial(unauth0, np.clip(f_abs, 0.0, 1.0)),
            unauth0 + rng.binomial(possible - unauth0, np.nan_to_num(up)),
        )
        unauth = np.where(fv[ia][:, None], unauth1, unauth0)
        rate_child = 100.0 * unauth.sum(1) / possible.sum(1)
        eff_abs_child = 100.0 * (unauth1.sum(1) - unauth0.sum(1)) / possible.sum(1)

        # missingness ---------------------------------------------------------------------------
        def miss(share: float) -> np.ndarray:
            return rng.random(n) < share

        # LA-specific share ("where possible to collect"), within -0.04 / +0.06 of the configured
        # share, so that the overall share stays above 30 % when the default 35 % is configured
        mp = cfg.missing_n_prev_cpp
        la_miss_prev = np.clip(rng.normal(mp, 0.03, self.n_la), max(0.0, mp - 0.04), min(1.0, mp + 0.06))
        m_prev = rng.random(n) < la_miss_prev[la_i]
        m_dis, m_fsm, m_eth = miss(cfg.missing_disabled), miss(cfg.missing_fsm), miss(cfg.missing_ethnicity)
        m_out = {o: miss(cfg.missing_outcome) for o in OUTCOMES if o != "unauth_absence_rate"}

        f_la = np.where(m_out["looked_after_18m"], np.nan, y_la.astype(float))
        f_cpp = np.where(m_out["cpp_12m"], np.nan, y_cpp.astype(float))
        f_days = np.where(m_out["days_cpp_cin_18m"], np.nan, y_days)
        la_obs = f_la == 1
        f_kin = np.where(la_obs & ~m_out["kinship_first_placement"], kin.astype(float), np.nan)
        f_reu = np.where(la_obs & reu_ok & ~m_out["reunified_18m"], reu.astype(float), np.nan)
        y_abs = np.full(n, np.nan)
        y_abs[ia] = rate_child

        # data errors: a handful aged 18
        age_rec = age.copy()
        n_err = round(cfg.age_error_share * n)
        if n_err:
            age_rec[rng.choice(n, size=min(n_err, n), replace=False)] = 18

        # frames ---------------------------------------------------------------------------------
        child_id = np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 7)).astype(object)
        eth = eth_codes[eth_idx].copy()
        eth[m_eth] = np.nan
        major = major_of[eth_idx].copy()
        major[m_eth] = np.nan
        in_trial = (month >= self.trial_m0) & (month <= self.trial_m1)
        tl_la = self.treated[la_i]
        emb = tl_la & (month >= self.fgc[la_i]) & (month < self.go[la_i])
        uniq_m2, inv_m2 = np.unique(month, return_inverse=True)
        fy = _fy_label(uniq_m2)[inv_m2]
        children = pd.DataFrame(
            {
                "child_id": child_id,
                "la_code": self.codes.astype(object)[la_i],
                "la_name": self.names[la_i],
                "referral_date": date_d.astype("datetime64[D]").astype("datetime64[ns]"),
                "referral_month": pd.PeriodIndex.from_ordinals(month, freq="M"),
                "referral_quarter": pd.PeriodIndex.from_ordinals(q_abs, freq="Q-DEC"),
                "financial_year": fy,
                "in_trial_period": in_trial,
                "treated_la": tl_la,
                "trailblazer_la": self.trail[la_i],
                "fv": fv.astype(np.int8),
                "event_time_q": e_out,
                "days_open_trial": open_trial.astype(np.int32),
                "days_open_under_fv": open_fv.astype(np.int32),
                "in_embedding_period": emb,
                "gender": gender,
                "ethnicity": eth,
                "ethnicity_major": major,
                "age_at_referral": age_rec,
                "disabled": np.where(m_dis, np.nan, disabled.astype(float)),
                "fsm": np.where(m_fsm, np.nan, fsm.astype(float)),
                "uasc": uasc,
                "n_prev_cpp": np.where(m_prev, np.nan, n_prev.astype(float)),
                "prior_cpp": np.where(m_prev, np.nan, prior.astype(float)),
                "main_need": need,
                "la_share_fsm": s,
                "la_share_white_british": s_wb,
                "la_other_innovation": self.innov[la_i, qpos].astype(np.int8),
                "looked_after_18m": f_la,
                "cpp_12m": f_cpp,
                "days_cpp_cin_18m": f_days,
                "kinship_first_placement": f_kin,
                "reunified_18m": f_reu,
                "unauth_absence_rate": y_abs,
            }
        )
        # individual effects (0 when not under FV)
        eff_abs = np.full(n, np.nan)
        eff_abs[ia] = eff_abs_child
        effects = pd.DataFrame(
            {
                "child_id": child_id,
                "looked_after_18m": np.where(fv, p1_la - p0[LA], 0.0),
                "cpp_12m": np.where(fv, p1_cpp - p0[CPP], 0.0),
                "days_cpp_cin_18m": np.where(fv, days1 - days0, 0.0),
                "kinship_first_placement": np.where(y_la, np.where(fv, p1_kin - p0[KIN], 0.0), np.nan),
                "reunified_18m": np.where(y_la & reu_ok, np.where(fv, p1_reu - p0[REU], 0.0), np.nan),
                "unauth_absence_rate": np.where(fv, eff_abs, np.where(np.isnan(eff_abs), np.nan, 0.0)),
            }
        )
        na = len(ia)
        terms = pd.DataFrame(
            {
                "child_id": np.repeat(child_id[ia], 3),
                "la_code": np.repeat(self.codes.astype(object)[la_i[ia]], 3),
                "term": np.tile(np.arange(1, 4, dtype=np.int8), na),
                "term_label": t_label[tidx].ravel(),
                "months_since_referral": np.round(months_since, 2).ravel(),
                "sessions_possible": possible.ravel().astype(np.int16),
                "sessions_unauth": unauth.ravel().astype(np.int16),
                "rate": (100.0 * unauth / possible).ravel(),
            }
        )
        return children, terms, effects

    # ---------------------------------------------------------------- assembly
    def _las_frame(self) -> pd.DataFrame:
        nat = np.iinfo(np.int64).min
        df = pd.DataFrame(
            {
                "la_code": self.codes.astype(object),
                "la_name": self.names,
                "region": self.las_df["region"].to_numpy(dtype=object),
                "treated": self.treated,
                "trailblazer": self.trail,
                "go_live": pd.PeriodIndex.from_ordinals(np.where(self.has_go, self.go, nat), freq="M"),
                "fgc_start": pd.PeriodIndex.from_ordinals(np.where(self.has_go, self.fgc, nat), freq="M"),
                "partners_in_practice": self.pip,
                "first_data_quarter": pd.PeriodIndex.from_ordinals(self.first_q, freq="Q-DEC"),
                "in_extract": self.in_extract,
                "dgp_referrals_per_year": self.vol,
                "dgp_twin_of": np.where(self.twin_of >= 0, self.codes[np.maximum(self.twin_of, 0)], None).astype(object),
                "dgp_decoy": self.decoy,
                "dgp_duration_mult": self.params["dur"],
            }
        )
        for k, name in enumerate(_K):
            df[f"dgp_fe_{name}"] = self.params["fe"][k] + self.mu[k]
            df[f"dgp_trend_{name}"] = self.params["trend"][k]
            df[f"dgp_covid_{name}"] = self.params["covid"][k]
        return df

    def _truth(self) -> pd.DataFrame:
        has = self.has_go
        lo = int(np.floor_divide(self.ext_m0 - self.go[has].max(), 3))
        hi = int(np.floor_divide(self.ext_m1 - self.go[has].min(), 3))
        e = np.arange(lo, hi + 1)
        rows = [
            pd.DataFrame({"outcome": o, "event_time_q": e, "effect": self._tau(o, e), "scale": _SCALE[o]})
            for o in OUTCOMES
        ]
        out = pd.concat(rows, ignore_index=True)
        out["event_time_q"] = out["event_time_q"].astype(np.int64)
        return out

    def run(self) -> SimulatedData:
        self._setup_las()
        self._calibrate()
        panel = self._panel()
        children, terms, effects = self._children()
        return SimulatedData(
            seed=self.seed,
            n_children=self.n,
            config=self.cfg,
            las=self._las_frame(),
            children=children,
            absence_terms=terms,
            la_quarter=panel,
            truth=self._truth(),
            child_effects=effects,
        )


# ``fvdid.simulate`` is the function (the package re-exports it), so carry the module's DGP and
# column dictionary in the function's docstring: ``help(fvdid.simulate)`` shows everything.
simulate.__doc__ = (simulate.__doc__ or "") + "\n" + textwrap.indent(__doc__ or "", "    ")
