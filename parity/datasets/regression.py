"""Fixture datasets of the "regression" family (OLS, random effects, Hochberg, Rubin).

Each generator is deterministic (its own ``numpy.random.default_rng`` seed) and returns a frame
that ``python -m parity.datasets build regression`` writes to ``fixtures/data/regression/``.
Values are rounded to 6 decimals so that the CSV text is the exact data both R and Python read.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["DATASETS"]


def _round(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(6)
    return out


def panel_twfe() -> pd.DataFrame:
    """Unbalanced LA x quarter-like panel: 30 units x 10 periods, ~10% rows missing.

    Columns: unit, time, y, x1, x2, treat (staggered 0/1), cat (a/b/c), w (analytic weights),
    region (6 clusters nesting the units), and a few missing values in x2.
    """
    rng = np.random.default_rng(20240611)
    n_units, n_t = 30, 10
    unit = np.repeat(np.arange(1, n_units + 1), n_t)
    time = np.tile(np.arange(2001, 2001 + n_t), n_units)
    a_i = rng.normal(0, 1, n_units)[unit - 1]
    g_t = rng.normal(0, 0.5, n_t)[time - 2001]
    x1 = rng.normal(0, 1, len(unit)) + 0.5 * a_i
    x2 = rng.gamma(2.0, 1.0, len(unit))
    start = rng.choice([2004, 2006, 2008, 9999], n_units)[unit - 1]
    treat = (time >= start).astype(int)
    cat = rng.choice(np.array(["a", "b", "c"]), len(unit))
    w = rng.uniform(0.5, 3.0, len(unit))
    region = (unit - 1) % 6 + 1
    e = rng.normal(0, 1, len(unit)) * (1 + 0.5 * (region % 2))
    y = 1.0 + 0.8 * treat + 0.5 * x1 - 0.3 * x2 + 0.4 * (cat == "b") + a_i + g_t + e
    df = pd.DataFrame(
        {
            "unit": unit,
            "time": time,
            "region": region,
            "y": y,
            "x1": x1,
            "x2": x2,
            "treat": treat,
            "cat": cat,
            "w": w,
        }
    )
    keep = rng.uniform(size=len(df)) > 0.1
    df = df.loc[keep].reset_index(drop=True)
    df.loc[rng.choice(len(df), 4, replace=False), "x2"] = np.nan
    return _round(df)


def la_children() -> pd.DataFrame:
    """Child-level extract in 6 LAs (G = 6 clusters) over 4 years, with CEM-like weights.

    Includes singleton fixed-effect levels: three ``school`` codes that occur once.
    """
    rng = np.random.default_rng(7)
    n = 420
    la = rng.integers(1, 7, n)
    year = rng.integers(2018, 2022, n)
    treated_la = np.isin(la, [1, 2])
    post = year >= 2020
    fv = (treated_la & post).astype(int)
    age = rng.integers(0, 18, n)
    female = rng.integers(0, 2, n)
    school = rng.integers(1, 25, n)
    single_rows = rng.choice(n, 3, replace=False)
    school[single_rows] = [101, 102, 103]
    la_eff = rng.normal(0, 0.5, 7)[la]
    yr_eff = np.array([0.0, 0.1, -0.2, 0.05])[year - 2018]
    w = np.round(rng.choice([0.5, 1.0, 1.0, 2.0, 3.5], n) * rng.uniform(0.8, 1.2, n), 4)
    e = rng.normal(0, 1, n) * (0.5 + 0.25 * la)
    y = 0.3 * fv + 0.02 * age - 0.1 * female + la_eff + yr_eff + e
    return _round(
        pd.DataFrame(
            {
                "child": np.arange(1, n + 1),
                "la": la,
                "year": year,
                "school": school,
                "fv": fv,
                "age": age,
                "female": female,
                "w": w,
                "y": y,
            }
        )
    )


def re_balanced() -> pd.DataFrame:
    """Balanced panel for random effects: 40 units x 6 periods, time-invariant z."""
    rng = np.random.default_rng(99)
    n_units, n_t = 40, 6
    unit = np.repeat(np.arange(1, n_units + 1), n_t)
    time = np.tile(np.arange(1, n_t + 1), n_units)
    u = rng.normal(0, 1.2, n_units)[unit - 1]
    z = rng.normal(0, 1, n_units)[unit - 1]
    x1 = rng.normal(0, 1, len(unit)) + 0.3 * u
    x2 = rng.uniform(0, 2, len(unit))
    e = rng.normal(0, 1, len(unit))
    y = 2.0 + 0.7 * x1 - 0.4 * x2 + 0.5 * z + u + e
    return _round(pd.DataFrame({"id": unit, "t": time, "y": y, "x1": x1, "x2": x2, "z": z}))


def re_unbalanced() -> pd.DataFrame:
    """The balanced panel with ~25% of rows removed (every unit keeps at least 2 periods)."""
    df = re_balanced()
    rng = np.random.default_rng(100)
    drop = rng.uniform(size=len(df)) < 0.25
    df = df.loc[~drop]
    counts = df.groupby("id")["t"].transform("size")
    return df.loc[counts >= 2].reset_index(drop=True)


def mi_long() -> pd.DataFrame:
    """m = 5 completed datasets stacked with an ``.imp`` column (1..5), 80 rows each.

    Missing x2 values are "imputed" by a normal draw around a regression prediction, so the
    estimates differ between imputations; R never draws random numbers.
    """
    rng = np.random.default_rng(31337)
    n, m = 80, 5
    x1 = rng.normal(0, 1, n)
    x2 = 0.5 * x1 + rng.normal(0, 1, n)
    g = rng.integers(0, 2, n)
    y = 1.0 + 0.6 * x1 - 0.5 * x2 + 0.3 * g + rng.normal(0, 1, n)
    miss = rng.uniform(size=n) < 0.3
    frames = []
    for i in range(1, m + 1):
        x2i = x2.copy()
        x2i[miss] = 0.5 * x1[miss] + rng.normal(0, 1, miss.sum())
        frames.append(
            pd.DataFrame({".imp": i, ".id": np.arange(1, n + 1), "y": y, "x1": x1, "x2": x2i, "g": g})
        )
    return _round(pd.concat(frames, ignore_index=True))


def pvalues_ties() -> pd.DataFrame:
    """Eleven p-values with ties (0.01 x3, 0.04 x2), one at 1 and one NA, labelled."""
    p = [0.01, 0.04, 0.01, 0.2, 0.04, 0.0005, 0.01, 0.5, 1.0, 0.03, np.nan]
    return pd.DataFrame({"outcome": [f"o{i:02d}" for i in range(1, len(p) + 1)], "p": p})


DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "panel_twfe": panel_twfe,
    "la_children": la_children,
    "re_balanced": re_balanced,
    "re_unbalanced": re_unbalanced,
    "mi_long": mi_long,
    "pvalues_ties": pvalues_ties,
}
