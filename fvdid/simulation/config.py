"""Configuration of the simulator: :class:`SimConfig`, its validation and parsing from mappings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fvdid._results import to_plain
from fvdid.errors import FvdidInputError

__all__ = ["COVID_SHOCK", "LATENT_COMPONENTS", "Shock", "SimConfig", "parse_month", "parse_quarter"]

#: Components of the latent LA x quarter index a shock can hit (logit scale).
LATENT_COMPONENTS = ("looked_after_18m", "cpp_12m", "cin_plan", "kinship_first_placement",
                     "reunified_18m", "unauth_absence_rate")  # fmt: skip


@dataclass(frozen=True)
class Shock:
    """A named common shock: a step in the latent index of every LA from ``start`` on.

    Attributes
    ----------
    name : str
        Unique label (``"covid"`` is the built-in COVID shock, see below).
    start : str
        First month affected, ``"YYYY-MM"``.
    mean, sd : float
        Mean and SD of the LA-specific response (logit scale of the ``outcome`` index); each LA
        draws ``mean + sd * z``. For ``"covid"`` ``sd=None`` means ``SimConfig.covid_sd``.
    treated_differential : float
        Extra response of the treatment LAs (logit scale): a shock that coincides with
        go-live and hits treatment LAs harder biases a DiD by about this much.
    outcome : str
        Latent component hit (one of :data:`LATENT_COMPONENTS`).

    Notes
    -----
    ``"covid"`` keeps the simulator's historical COVID shock: it hits all six indices with the
    profile 1, .55, .7, .85 over 2020Q2..2021Q1 (``start`` must be ``"2020-04"`` and ``outcome``
    ``"looked_after_18m"``); ``mean`` and ``sd`` are the looked-after index's and the other
    indices scale with them (default means -0.05, -0.08, -0.05, 0.05, -0.15, 0.25). Its responses
    come from the LA-level stream. Other shocks are persistent steps (a quarter partly after
    ``start`` gets the share of its months affected) on one index, drawn from a separate stream,
    so adding one leaves every other draw unchanged.
    """

    name: str
    start: str
    mean: float
    sd: float | None
    treated_differential: float = 0.0
    outcome: str = "looked_after_18m"

    @classmethod
    def from_value(cls, value: Any, where: str = "shocks") -> Shock:
        """A shock from a :class:`Shock`, a mapping of its fields or a sequence in field order."""
        if isinstance(value, Shock):
            return value
        names = [f.name for f in dataclasses.fields(cls)]
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - set(names))
            if unknown:
                raise FvdidInputError(f"config {where} has unknown key(s) {unknown}; valid: {names}")
            data = dict(value)
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and 4 <= len(value) <= 6:
            data = dict(zip(names, value))
        else:
            raise FvdidInputError(
                f"config {where} must be a mapping or a list (name, start, mean, sd"
                f"[, treated_differential[, outcome]]), got {value!r}"
            )
        missing = [k for k in ("name", "start", "mean", "sd") if k not in data]
        if missing:
            raise FvdidInputError(f"config {where} lacks {missing}, got {value!r}")
        for k in ("mean", "sd", "treated_differential"):
            v = data.get(k, 0.0)
            if v is None and k == "sd":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(v):
                raise FvdidInputError(f"config {where}.{k} must be a finite number, got {v!r}")
            data[k] = float(v)
        data["name"], data["start"] = str(data["name"]), str(data["start"])
        data["outcome"] = str(data.get("outcome", "looked_after_18m"))
        return cls(**data)


#: The default shock: the historical COVID shock (looked-after index N(-0.05, covid_sd)).
COVID_SHOCK = Shock("covid", "2020-04", -0.05, None)

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
    shocks : tuple of Shock
        Named common shocks (default: the COVID shock alone, :data:`COVID_SHOCK`). Items may
        also be mappings or lists in :class:`Shock` field order. ``()`` removes COVID.
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
    shocks: tuple[Shock, ...] = (COVID_SHOCK,)

    def __post_init__(self) -> None:
        self._check_shocks()
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
            parse_month(month, f"go_live[{code!r}]")
        parse_month(self.trailblazer_go_live, "trailblazer_go_live")
        if len(self.fgc_lead_months) != len(self.go_live):
            raise FvdidInputError(
                f"config 'fgc_lead_months' needs one value per treatment LA ({len(self.go_live)}), "
                f"got {len(self.fgc_lead_months)}"
            )
        if any(int(m) < 0 for m in self.fgc_lead_months):
            raise FvdidInputError("config 'fgc_lead_months' must be non-negative")
        for name in ("panel_start", "panel_end"):
            parse_quarter(getattr(self, name), name)
        for code, q in self.late_data_las:
            parse_quarter(q, f"late_data_las[{code!r}]")
        if parse_quarter(self.panel_end, "panel_end") < parse_quarter(self.panel_start, "panel_start"):
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

    def _check_shocks(self) -> None:
        value = self.shocks
        if isinstance(value, (str, bytes, Mapping, Shock)) or not isinstance(value, Sequence):
            raise FvdidInputError(f"config 'shocks' must be a list of shocks, got {value!r}")
        shocks = tuple(Shock.from_value(v, f"shocks[{i}]") for i, v in enumerate(value))
        object.__setattr__(self, "shocks", shocks)
        names = [s.name for s in shocks]
        if len(set(names)) != len(names) or "" in names:
            raise FvdidInputError(f"config 'shocks' needs unique non-empty names, got {names}")
        for sh in shocks:
            where = f"shocks[{sh.name!r}]"
            parse_month(sh.start, f"{where}.start")
            if sh.outcome not in LATENT_COMPONENTS:
                raise FvdidInputError(
                    f"config {where}.outcome must be one of {list(LATENT_COMPONENTS)}, got {sh.outcome!r}"
                )
            if sh.sd is None and sh.name != "covid":
                raise FvdidInputError(f"config {where}.sd must be a number (None only for 'covid')")
            if sh.sd is not None and sh.sd < 0:
                raise FvdidInputError(f"config {where}.sd must be non-negative, got {sh.sd!r}")
            if sh.name == "covid":
                if parse_month(sh.start, where) != parse_month(COVID_SHOCK.start, where) \
                        or sh.outcome != COVID_SHOCK.outcome:
                    raise FvdidInputError(
                        f"config {where}: the COVID shock's start ({COVID_SHOCK.start}) and outcome "
                        f"({COVID_SHOCK.outcome}) are fixed; name another shock to move or retarget it"
                    )
                if sh.mean == 0.0:
                    raise FvdidInputError(
                        f"config {where}.mean must be non-zero (it scales every index's COVID "
                        "response); remove the 'covid' shock to switch COVID off"
                    )
                if sh.sd is not None and sh.sd != self.covid_sd and self.covid_sd != _field_default("covid_sd"):
                    raise FvdidInputError(
                        f"config sets both covid_sd ({self.covid_sd}) and {where}.sd ({sh.sd}); "
                        "set one of them"
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
            kwargs[key] = value if key == "shocks" else _coerce(key, value, str(types[key]))
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (round-trips through :meth:`from_mapping`)."""
        return to_plain(self)


def _field_default(name: str) -> Any:
    return next(f.default for f in dataclasses.fields(SimConfig) if f.name == name)


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


def parse_month(text: str, what: str) -> int:
    try:
        return pd.Period(str(text), freq="M").ordinal
    except (ValueError, TypeError) as exc:
        raise FvdidInputError(f"config {what} must be a month 'YYYY-MM', got {text!r}") from exc


def parse_quarter(text: str, what: str) -> int:
    try:
        return pd.Period(str(text), freq="Q-DEC").ordinal
    except (ValueError, TypeError) as exc:
        raise FvdidInputError(f"config {what} must be a quarter 'YYYYQn', got {text!r}") from exc

