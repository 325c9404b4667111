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

*Named shocks.* ``SimConfig.shocks`` lists the common shocks (default: ``"covid"`` alone, the
shock above; ``[]`` switches it off). Any other shock is a persistent step on one latent index
from its start month, LA-specific response N(mean, sd) plus ``treated_differential`` in the
treatment LAs, drawn from its own stream (``default_rng([seed, SHOCK_STREAM])``) so that adding
one changes no other draw; ``SimulatedData.shocks`` holds every LA's true response.

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
``_COEF`` in ``fvdid/simulation/constants.py``). The counterfactual *expected LA-quarter rate* ``R0[k, la, q]`` is computed
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

import textwrap
from collections.abc import Mapping
from typing import Any

import numpy as np

from fvdid._blas import single_threaded_blas
from fvdid.config import OUTCOMES
from fvdid.errors import FvdidInputError
from fvdid.simulation.children import draw_children
from fvdid.simulation.config import SimConfig
from fvdid.simulation.data import SimulatedData
from fvdid.simulation.las import draw_las, las_frame
from fvdid.simulation.outcomes import truth_frame
from fvdid.simulation.panel import draw_panel
from fvdid.simulation.rates import expected_rates, support
from fvdid.simulation.shocks import (
    SHOCK_STREAM,
    apply_shocks,
    draw_shock_responses,
    extra_shocks,
    shocks_frame,
)

__all__ = ["OUTCOMES", "SimConfig", "SimulatedData", "simulate"]


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
        the LA x quarter panel do not depend on ``n_children``). Same seed, same frames, on any
        machine (the linear algebra runs on one OpenBLAS thread).
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

    ss = np.random.SeedSequence(int(seed))
    rng_la, rng_panel, rng_child = (np.random.default_rng(s) for s in ss.spawn(3))
    sup = support()
    las = draw_las(rng_la, cfg)
    extra = extra_shocks(cfg)
    responses = {}
    if extra:  # a stream of its own: the default configuration draws nothing here
        rng_shock = np.random.default_rng([int(seed), SHOCK_STREAM])
        responses = draw_shock_responses(rng_shock, extra, las.go_live.treated)
        las = apply_shocks(las, extra, responses)
    # One OpenBLAS thread: the rates' matrix products split over threads differ in their last
    # bits, and the data of a seed must not depend on the machine's cores (fvdid._blas).
    with single_threaded_blas():
        rates = expected_rates(cfg, las, sup)
        panel = draw_panel(rng_panel, cfg, las, rates)
        children, terms, effects = draw_children(rng_child, cfg, las, rates, sup["a_band"],
                                                 int(n_children))
    return SimulatedData(
        seed=int(seed),
        n_children=int(n_children),
        config=cfg,
        las=las_frame(las, rates.mu),
        children=children,
        absence_terms=terms,
        la_quarter=panel,
        truth=truth_frame(cfg, las),
        child_effects=effects,
        shocks=shocks_frame(cfg, las, responses),
    )


# ``fvdid.simulate`` is the function (the package re-exports it), so carry the module's DGP and
# column dictionary in the function's docstring: ``help(fvdid.simulate)`` shows everything.
simulate.__doc__ = (simulate.__doc__ or "") + "\n" + textwrap.indent(__doc__ or "", "    ")
