"""Configuration of ``fvdid run``: every default is the protocol's number."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fvdid.errors import FvdidInputError

__all__ = ["OUTCOMES", "RunConfig", "load_config"]

OUTCOMES: tuple[str, ...] = (
    "looked_after_18m",
    "cpp_12m",
    "days_cpp_cin_18m",
    "kinship_first_placement",
    "reunified_18m",
    "unauth_absence_rate",
)
"""The protocol's six outcomes (Table 1), primary first."""


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
    boot_B
        Wild cluster bootstrap draws.
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
    cem_fallback_loss: float = 0.2
    cem_allow_unweighted: bool = False
    boot_B: int = 9999
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
        cfg = cls(**clean)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise :class:`FvdidInputError` on values outside their range."""
        if self.n_children < 1_000:
            raise FvdidInputError(f"n_children must be at least 1000, got {self.n_children}")
        if not 0 < self.max_missing_share < 1:
            raise FvdidInputError(
                f"max_missing_share must be in (0, 1), got {self.max_missing_share}"
            )
        if self.sdc_threshold < 1:
            raise FvdidInputError(f"sdc_threshold must be >= 1, got {self.sdc_threshold}")
        if self.n_imputations < 0:
            raise FvdidInputError(f"n_imputations must be >= 0, got {self.n_imputations}")
        if not 0 < self.alpha < 1:
            raise FvdidInputError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.primary_outcome not in OUTCOMES:
            raise FvdidInputError(
                f"primary_outcome must be one of {OUTCOMES}, got {self.primary_outcome!r}"
            )

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)


def load_config(path: Path | None, **overrides: Any) -> RunConfig:
    """Read a TOML or JSON configuration file (keys as :class:`RunConfig`) and apply overrides."""
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
    values.update({k: v for k, v in overrides.items() if v is not None})
    return RunConfig.from_mapping(values)
