"""Configuration of ``fvdid run``: every default is the protocol's number."""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fvdid.errors import FvdidInputError

__all__ = ["CHILD_COVARIATES", "LA_COVARIATES", "OPTIONS", "OUTCOMES", "TIME_FE", "Option", "RunConfig", "load_config"]

OUTCOMES: tuple[str, ...] = (
    "looked_after_18m",
    "cpp_12m",
    "days_cpp_cin_18m",
    "kinship_first_placement",
    "reunified_18m",
    "unauth_absence_rate",
)
"""The protocol's six outcomes (Table 1), primary first."""

CHILD_COVARIATES: tuple[str, ...] = (
    "gender",
    "ethnicity_major",
    "ethnicity",
    "age_at_referral",
    "disabled",
    "fsm",
    "uasc",
    "n_prev_cpp",
    "prior_cpp",
    "main_need",
)
"""Child covariates the extract schema knows (protocol: Covariates; ``fvdid.io``)."""

LA_COVARIATES: tuple[str, ...] = ("la_share_fsm", "la_share_white_british", "la_other_innovation")
"""LA covariates the extract schema knows."""

TIME_FE: tuple[str, ...] = ("referral_quarter", "referral_month", "financial_year")
LOGIT_PERIODS: tuple[str, ...] = ("pair_time", "pair_fy", "pair_fy_trend", "pair_fy_season",
                                  "tla_time", "tla_fy")
"""Time terms of the headline logit's counterfactual model (``logit_period``; described in
:mod:`fvdid.stages.estimate`)."""
"""Period columns of the children table that can carry the time fixed effects."""

_KINDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "strs": "a list of strings",
    "floats": "a list of numbers",
    "mapping": "a table of options",
}


@dataclass(frozen=True)
class Option:
    """One row of the options schema :data:`OPTIONS`.

    Parameters
    ----------
    kind
        ``int``, ``float`` (ints accepted), ``str``, ``bool``, ``strs`` / ``floats`` (lists),
        ``mapping``.
    description
        What the option does (shown in errors).
    choices
        The allowed values (of each element, for lists).
    choices_from
        Options whose values are the allowed values (``categorical_covariates`` among the
        covariates chosen).
    low, high
        Inclusive bounds (of each element, for lists); ``open_low`` / ``open_high`` make them
        strict.
    nullable
        ``None`` allowed.
    """

    kind: Literal["int", "float", "str", "bool", "strs", "floats", "mapping"]
    description: str
    choices: tuple[Any, ...] | None = None
    choices_from: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    nullable: bool = False

    def valid_values(self, cfg: Any = None) -> str:
        """The valid values in words."""
        what = _KINDS[self.kind]
        allowed = self.allowed(cfg)
        if allowed is not None:
            what += f" from {list(allowed)}"
        if self.low is not None or self.high is not None:
            lo = "" if self.low is None else f"{'>' if self.open_low else '>='} {self.low:g}"
            hi = "" if self.high is None else f"{'<' if self.open_high else '<='} {self.high:g}"
            what += " " + " and ".join(x for x in (lo, hi) if x)
        return what + (", or none" if self.nullable else "")

    def allowed(self, cfg: Any = None) -> tuple[Any, ...] | None:
        if self.choices_from and cfg is not None:
            return tuple(v for o in self.choices_from for v in getattr(cfg, o))
        return self.choices

    def _in_range(self, v: float) -> bool:
        if self.low is not None and (v <= self.low if self.open_low else v < self.low):
            return False
        return not (self.high is not None and (v >= self.high if self.open_high else v > self.high))

    def check(self, name: str, value: Any, cfg: Any = None) -> None:
        """Raise :class:`FvdidInputError` naming the option and its valid values."""

        def bad(problem: str) -> FvdidInputError:
            return FvdidInputError(
                f"option {name!r} ({self.description}): {problem}; "
                f"valid values: {self.valid_values(cfg)}"
            )

        if value is None:
            if self.nullable:
                return
            raise bad("got none")
        elems: list[Any]
        if self.kind in ("strs", "floats"):
            if isinstance(value, str) or not isinstance(value, tuple | list):
                raise bad(f"got {value!r}")
            elems = list(value)
            dup = sorted({repr(v) for v in elems if elems.count(v) > 1})
            if dup:
                raise bad(f"{', '.join(dup)} given more than once")
        else:
            elems = [value]
        base = {"strs": "str", "floats": "float"}.get(self.kind, self.kind)
        for v in elems:
            if not _is_kind(v, base):
                raise bad(f"got {v!r}")
            allowed = self.allowed(cfg)
            if allowed is not None and v not in allowed:
                raise bad(f"got {v!r}")
            if base in ("int", "float") and not self._in_range(v):
                raise bad(f"got {v!r}")


def _is_kind(v: Any, kind: str) -> bool:
    if kind == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "float":
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    if kind == "str":
        return isinstance(v, str)
    if kind == "bool":
        return isinstance(v, bool)
    return isinstance(v, Mapping)


OPTIONS: dict[str, Option] = {
    "seed": Option("int", "seed of the simulator, imputations and bootstraps", low=0),
    "n_children": Option("int", "size of the simulated extract", low=1000),
    "primary_outcome": Option("str", "the primary outcome", choices=OUTCOMES),
    "secondary_outcomes": Option("strs", "outcomes of the secondary analyses", choices=OUTCOMES),
    "child_covariates": Option("strs", "child covariates of the regressions",
                               choices=CHILD_COVARIATES),
    "categorical_covariates": Option("strs", "covariates entered as dummies",
                                     choices_from=("child_covariates", "la_covariates")),
    "la_covariates": Option("strs", "LA covariates of the regressions", choices=LA_COVARIATES),
    "max_missing_share": Option("float", "covariates missing above this share are dropped",
                                low=0, high=1, open_low=True, open_high=True),
    "n_imputations": Option("int", "multiple imputations (0: complete cases)", low=0),
    "sdc_threshold": Option("int", "minimum released cell count", low=1),
    "sdc_round_base": Option("int", "rounding base of released counts (1: none)", low=1),
    "sdc_dominance_n": Option("int", "N of the N-K dominance rule", low=1),
    "sdc_dominance_k": Option("float", "K (%) of the N-K dominance rule", low=0, high=100,
                              open_low=True),
    "la_window": Option("int", "pre-period quarters of LA trend matching", low=2),
    "la_k": Option("int", "neighbours ranked in LA matching", low=1),
    "la_entry_lag": Option("int", "quarters left out before go-live in LA matching", low=0),
    "cem_by": Option("str", "CEM strata within pair by", choices=("financial_year", "period")),
    "time_fe": Option("str", "period of the time fixed effects within pair", choices=TIME_FE),
    "logit_period": Option("str", "time terms of the headline logit's counterfactual model "
                           "(pair_*: crossed with the pair; tla_*: with the treatment LA, shared "
                           "by its comparators' stacks)", choices=LOGIT_PERIODS),
    "cem_fallback_loss": Option("float", "share of treated children lost before CEM falls back "
                                "to periods", low=0, high=1),
    "cem_allow_unweighted": Option("bool", "estimate an outcome without CEM weights when CEM "
                                   "cannot run for it (else the outcome is not estimated)"),
    "boot_B": Option("int", "wild cluster bootstrap draws (0: none)", low=0),
    "ri_pool_max": Option("int", "pool LAs used as placebo treatment LAs by randomization "
                          "inference and Conley-Taber (sampled with the seed; 0: off)", low=0),
    "ri_B": Option("int", "assignments sampled by randomization inference over placebo pairs",
                   low=1),
    "mdes_icc": Option("float", "intracluster correlation of the MDES table", low=0, high=1,
                       open_high=True),
    "mdes_power": Option("float", "power of the MDES table", low=0, high=1, open_low=True,
                         open_high=True),
    "cba_benefit_per_child": Option("float", "pounds saved per child not entering care", low=0,
                                    nullable=True),
    "cba_years": Option("int", "years of benefits", low=1),
    "cba_discount_rate": Option("float", "discount rate", low=0, high=1, open_high=True),
    "cba_costs_per_la": Option("floats", "programme cost per LA per year", low=0, nullable=True),
    "alpha": Option("float", "significance level", low=0, high=1, open_low=True, open_high=True),
    "progress": Option("bool", "show progress bars"),
    "parity_in_appendix": Option("bool", "replay the parity cases into the appendix"),
    "extras": Option("mapping", "further options of the stages (e.g. la_* of LA matching)"),
}
"""The options schema: name -> type, allowed values or range, description.

:meth:`RunConfig.validate` checks every option against it (one row per field of
:class:`RunConfig`)."""


@dataclass(frozen=True)
class RunConfig:
    """Options of the main job.

    Parameters
    ----------
    seed
        Seed of the simulator (when no data are given), multiple imputation and bootstraps.
    n_children
        Size of the simulated child-level extract.
    primary_outcome
        The protocol's primary outcome.
    secondary_outcomes
        Outcomes of the secondary analyses (Hochberg-adjusted together).
    child_covariates, la_covariates
        Regression covariates (protocol: Covariates); categorical ones enter as dummies.
    categorical_covariates
        Which child covariates are categorical.
    max_missing_share
        Covariates missing above this share are dropped (protocol: 30 %).
    n_imputations
        Multiple imputations for covariates with lower missingness (0 = complete cases).
    sdc_threshold
        Minimum cell count of any table that leaves the secure environment (ONS SRS: 10).
    sdc_round_base
        Released counts of subtraction-prone tables (flow of children, CEM counts per pair) are
        rounded to this base after small-cell suppression (1: no rounding).
    sdc_dominance_n, sdc_dominance_k
        N-K dominance rule for magnitude tables (top N contributors may not exceed K %).
    la_window, la_k, la_entry_lag
        LA trend matching: quarters in the window, neighbours ranked, quarters left out before go-live.
    cem_by, cem_fallback_loss
        CEM within pair × financial year; fall back to pair × period above this loss of treated.
    cem_allow_unweighted
        When CEM cannot run for an outcome (no stratum with both groups), estimate it without
        CEM weights (said in every section) instead of stopping the run (the default).
    time_fe
        Period of the time fixed effects within each matched pair (default the referral
        quarter; see :func:`fvdid.stages.estimate.stack_pairs` and the README's note on the
        protocol's year dummies).
    logit_period
        Time terms of the headline logit's counterfactual model in the stacked design
        (:data:`fvdid.stages.estimate.LOGIT_PERIOD`, default pair × financial year;
        ``"tla_time"``: treatment LA × quarter terms shared by the stacks of the treatment LA's
        comparators, with LA-within-treatment-LA dummies, for LA matching with several
        comparators per treatment LA, ``extras.la_n_comparators``).
    boot_B
        Wild cluster bootstrap draws.
    ri_pool_max, ri_B
        Randomization inference and Conley–Taber over placebo pairs
        (:mod:`fvdid.stages.placebo_pairs`): at most this many eligible pool LAs serve as placebo
        treatment LAs (sampled with ``seed`` when the pool is larger; 0 switches the stage off),
        and the randomization test samples ``ri_B`` assignments when there are more.
    mdes_icc, mdes_power
        Intracluster correlation and power of the MDES table (protocol: 0.01566, 80 %).
    cba_benefit_per_child, cba_years, cba_discount_rate, cba_costs_per_la
        Cost–benefit inputs: £ saved per child not entering care (None: not monetised), years
        of benefits (the protocol's i = 0..5), discount rate (Green Book 3.5 %), programme cost
        per LA per year.
    alpha
        Significance level (protocol: 5 %).
    progress
        Show progress bars.
    parity_in_appendix
        Replay the parity cases and put the report in the appendix.
    """

    seed: int = 0
    n_children: int = 100_000
    primary_outcome: str = "looked_after_18m"
    secondary_outcomes: tuple[str, ...] = OUTCOMES[1:]
    child_covariates: tuple[str, ...] = (
        "gender",
        "ethnicity_major",
        "age_at_referral",
        "disabled",
        "fsm",
        "uasc",
        "n_prev_cpp",
        "main_need",
    )
    categorical_covariates: tuple[str, ...] = ("gender", "ethnicity_major", "main_need")
    la_covariates: tuple[str, ...] = (
        "la_share_fsm",
        "la_share_white_british",
        "la_other_innovation",
    )
    max_missing_share: float = 0.30
    n_imputations: int = 5
    sdc_threshold: int = 10
    sdc_round_base: int = 5
    sdc_dominance_n: int = 2
    sdc_dominance_k: float = 90.0
    la_window: int = 8
    la_k: int = 10
    la_entry_lag: int = 6
    cem_by: Literal["financial_year", "period"] = "financial_year"
    time_fe: str = "referral_quarter"
    logit_period: str = "pair_fy"
    cem_fallback_loss: float = 0.2
    cem_allow_unweighted: bool = False
    boot_B: int = 9999
    ri_pool_max: int = 12
    ri_B: int = 999
    mdes_icc: float = 0.01566
    mdes_power: float = 0.8
    cba_benefit_per_child: float | None = None
    cba_years: int = 6
    cba_discount_rate: float = 0.035
    cba_costs_per_la: tuple[float, ...] | None = None
    alpha: float = 0.05
    progress: bool = True
    parity_in_appendix: bool = True
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("secondary_outcomes", "child_covariates", "categorical_covariates",
                     "la_covariates", "cba_costs_per_la"):
            v = getattr(self, name)
            if isinstance(v, list):
                object.__setattr__(self, name, tuple(v))
        self.validate()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RunConfig:
        """Build a config from a mapping; unknown keys raise naming the key and the valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise FvdidInputError(
                f"unknown configuration option(s) {unknown}; valid options: {sorted(names)}"
            )
        clean: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in values:
                v = values[f.name]
                if isinstance(v, list):
                    v = tuple(v)
                clean[f.name] = v
        return cls(**clean)

    def validate(self) -> None:
        """Raise :class:`FvdidInputError` on a value of the wrong type or outside :data:`OPTIONS`."""
        for name, opt in OPTIONS.items():
            opt.check(name, getattr(self, name), self)

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)


def load_config(path: Path | None, **overrides: Any) -> RunConfig:
    """Read a TOML or JSON configuration file (keys as :class:`RunConfig`) and apply overrides."""
    values = read_options(path)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return RunConfig.from_mapping(values)


def read_options(path: Path | None) -> dict[str, Any]:
    """The options of a TOML or JSON configuration file, as written (validated by the caller)."""
    values: dict[str, Any] = {}
    if path is not None:
        if not path.exists():
            raise FvdidInputError(f"configuration file {path} does not exist")
        text = path.read_text()
        if not text.strip():
            raise FvdidInputError(f"configuration file {path} is empty")
        try:
            if path.suffix.lower() == ".json":
                values = json.loads(text)
            else:
                values = tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise FvdidInputError(f"configuration file {path} cannot be parsed: {exc}") from exc
        if not isinstance(values, dict):
            raise FvdidInputError(f"configuration file {path} must hold a table of options")
    return values


_missing = sorted({f.name for f in dataclasses.fields(RunConfig)} ^ set(OPTIONS))
if _missing:  # pragma: no cover - a field without a schema row (or the reverse) is a bug
    raise RuntimeError(f"fvdid.config.OPTIONS and RunConfig disagree on {_missing}")
