"""Named common shocks: the responses of every LA, their effect on the latent index, the table.

The built-in ``"covid"`` shock is part of the latent index components
(:mod:`fvdid.simulation.latent`). Every other configured shock is a persistent step on one
latent index from its start month: LA ``i`` responds ``mean + sd * z_i`` (+
``treated_differential`` in the treatment LAs) on the logit scale, ``z`` drawn from a stream of
its own (:data:`SHOCK_STREAM`), so configuring a shock changes no other draw.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from fvdid.simulation.config import LATENT_COMPONENTS, Shock, SimConfig, parse_month
from fvdid.simulation.constants import LA
from fvdid.simulation.las import Calendar, LAs

__all__ = ["SHOCK_STREAM", "apply_shocks", "draw_shock_responses", "extra_shocks",
           "shock_profile", "shocks_frame"]  # fmt: skip

#: Second word of the seed of the shock stream: ``np.random.default_rng([seed, SHOCK_STREAM])``.
SHOCK_STREAM = 0x5C0C


def extra_shocks(cfg: SimConfig) -> tuple[Shock, ...]:
    """The configured shocks other than the built-in ``"covid"``, in config order."""
    return tuple(s for s in cfg.shocks if s.name != "covid")


def draw_shock_responses(
    rng: np.random.Generator, shocks: tuple[Shock, ...], treated: np.ndarray
) -> dict[str, np.ndarray]:
    """Each LA's response to each shock (logit scale), in ``shocks`` order (the order of draws)."""
    out = {}
    for sh in shocks:
        z = rng.normal(0.0, 1.0, len(treated))
        out[sh.name] = sh.mean + float(sh.sd) * z + sh.treated_differential * treated
    return out


def shock_profile(start: str, cal: Calendar) -> np.ndarray:
    """Share of each latent quarter's months on or after the ``start`` month (0 to 1)."""
    m0 = parse_month(start, "shock start")
    return (cal.months.reshape(len(cal.q), 3) >= m0).mean(axis=1)


def apply_shocks(las: LAs, shocks: tuple[Shock, ...], responses: dict[str, np.ndarray]) -> LAs:
    """A copy of ``las`` whose latent index includes the shocks' steps."""
    eta = las.eta.copy()
    for sh in shocks:
        k = LATENT_COMPONENTS.index(sh.outcome)
        eta[k] += responses[sh.name][:, None] * shock_profile(sh.start, las.cal)[None, :]
    return dataclasses.replace(las, eta=eta)


def shocks_frame(cfg: SimConfig, las: LAs, responses: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per (shock, LA): la_code, shock, date (period[M]), response, outcome.

    ``response`` is the LA's true response on the logit scale of the ``outcome`` index; for
    ``"covid"`` it is the looked-after index's response at the peak quarter (2020Q2), the
    ``dgp_covid_looked_after_18m`` column of ``las``.
    """
    codes = las.go_live.codes.astype(object)
    parts = []
    for sh in cfg.shocks:
        if sh.name == "covid":
            resp = las.components.covid[LA]
        else:
            resp = responses[sh.name]
        parts.append(
            pd.DataFrame(
                {
                    "la_code": codes,
                    "shock": sh.name,
                    "date": pd.PeriodIndex.from_ordinals(
                        np.full(len(codes), parse_month(sh.start, "shock start")), freq="M"
                    ),
                    "response": np.asarray(resp, dtype=float),
                    "outcome": sh.outcome,
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {"la_code": pd.Series(dtype=object), "shock": pd.Series(dtype=object),
             "date": pd.PeriodIndex([], freq="M"), "response": pd.Series(dtype=float),
             "outcome": pd.Series(dtype=object)}
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True)


