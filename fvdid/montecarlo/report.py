"""The study's report: ``montecarlo.html`` (self-contained) and ``montecarlo.md``, and the tables
the appendix uses (:func:`size_table`, :func:`recommended_methods`, :func:`simulation_mdes`).

Figures are PNG at 200 dpi (2x), embedded as base64 in both files: rejection rates under the
null against the 5 % line and its Monte Carlo band ``alpha ± 1.96 √(alpha (1 − alpha) / R)``;
the distribution of the estimates' errors (estimate − truth) per estimator; power curves over
the effect grid with the 80 % line.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError

__all__ = ["recommended_methods", "simulation_mdes", "size_table", "write_report"]

Z95 = 1.959963984540054

#: Null replications below which a method's size is not judged (its 95 % band would be wider
#: than 5 ± 4.3 %, too wide to tell a correctly sized test from one that rejects twice as often).
MIN_REPS_VERDICT = 100
NULL = "null"
HEADLINE = "headline"


def size_table(summary: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Which inference holds its size on this design.

    One row per outcome × estimator × method of the null scenario: the rejection rate, its MCSE,
    the Monte Carlo band ``alpha ± 1.96 √(alpha (1 − alpha) / R)`` of a correctly sized test over
    ``R`` replications with a p-value (``n_reps``), and ``holds_size`` (the rate is inside the
    band).
    """
    if "alpha" in summary.columns and len(summary) and not np.allclose(summary["alpha"], alpha):
        raise FvdidInputError(
            f"the summary's rejection rates are at alpha={summary['alpha'].iloc[0]}, not {alpha}: "
            "summarise the replications again at this alpha"
        )
    s = summary[summary["effect"] == NULL]
    if s.empty:
        raise FvdidInputError(
            "size needs the null scenario: the summary has effects "
            f"{sorted(summary['effect'].unique())}; run the study with --effects null"
        )
    n = (s["n_reps"] - s["n_missing_p"]).to_numpy() if "n_missing_p" in s else s["n_reps"].to_numpy()
    half = Z95 * np.sqrt(alpha * (1 - alpha) / np.clip(n, 1, None).astype(float))
    out = pd.DataFrame({
        "outcome": s["outcome"].to_numpy(), "estimator": s["estimator"].to_numpy(),
        "method": s["method"].to_numpy(), "n_reps": n,
        "rejection_rate": s["rejection_rate"].to_numpy(),
        "rejection_rate_mcse": s["rejection_rate_mcse"].to_numpy(),
        "band_low": alpha - half, "band_high": alpha + half,
    })
    rate = out["rejection_rate"].to_numpy(float)
    # too few replications: the band is too wide to tell a correctly sized test from a bad one
    out["judged"] = out["n_reps"] >= MIN_REPS_VERDICT
    out["holds_size"] = (np.isfinite(rate) & (rate >= out["band_low"]) & (rate <= out["band_high"])
                         & out["judged"])
    out["holds_size"] = out["holds_size"].astype(bool)
    # below the band: the test does not over-reject, it is conservative (valid, with less power)
    out["conservative"] = np.isfinite(rate) & (rate < out["band_low"]) & out["judged"]
    return out.reset_index(drop=True)


def recommended_methods(summary: pd.DataFrame, outcome: str, estimator: str = HEADLINE,
                        alpha: float = 0.05) -> list[str]:
    """The inference methods of ``outcome`` × ``estimator`` whose null rejection rate is within
    the Monte Carlo band of ``alpha``, closest to ``alpha`` first (ties by name)."""
    t = size_table(summary, alpha)
    t = t[(t["outcome"] == outcome) & (t["estimator"] == estimator)]
    if t.empty:
        raise FvdidInputError(
            f"no null-scenario rows for outcome {outcome!r} and estimator {estimator!r}; "
            f"present: {sorted(set(zip(summary['outcome'], summary['estimator'])))}"
        )
    t = t[t["holds_size"]].assign(dist=lambda d: (d["rejection_rate"] - alpha).abs())
    return t.sort_values(["dist", "method"], kind="mergesort")["method"].tolist()


def simulation_mdes(summary: pd.DataFrame, outcome: str, estimator: str = HEADLINE,
                    power: float = 0.8) -> pd.DataFrame:
    """Per method, the effect at which power reaches ``power`` on the grid (linear interpolation
    between the grid points either side, in order of the effect's size); NaN if it never does."""
    s = summary[(summary["outcome"] == outcome) & (summary["estimator"] == estimator)
                & np.isfinite(summary["effect_value"]) & (summary["effect"] != NULL)]
    rows = []
    for method, g in s.groupby("method", sort=True):
        g = g.assign(size=g["effect_value"].abs()).sort_values("size")
        x, y = g["effect_value"].to_numpy(float), g["rejection_rate"].to_numpy(float)
        val = float("nan")
        for i in range(len(x)):
            if y[i] >= power:
                if i == 0:
                    val = x[0] if abs(x[0]) == 0 else float("nan")  # below the grid: unknown
                else:
                    w = (power - y[i - 1]) / (y[i] - y[i - 1])
                    val = float(x[i - 1] + w * (x[i] - x[i - 1]))
                break
        rows.append({"outcome": outcome, "estimator": estimator, "method": method,
                     "grid_points": len(x), "mdes": val, "mdes_pp": 100 * val,
                     "max_power": float(np.nanmax(y)) if len(y) else float("nan")})
    return pd.DataFrame(rows, columns=["outcome", "estimator", "method", "grid_points", "mdes",
                                       "mdes_pp", "max_power"])


def analytic_mdes(baseline: float, icc: float = 0.01566, alpha: float = 0.05,
                  power: float = 0.8) -> pd.DataFrame:
    """The protocol's analytic MDES table (it ignores the staggering: footnote 15)."""
    from fvdid.stages.power import mdes

    rows = []
    for label, j, n in (("protocol inputs: 5 LAs of 15,600 children", 5, 15_600.0),
                        ("5 treatment + 5 comparison LAs of 15,600 children", 10, 15_600.0)):
        r = mdes(n_clusters=j, cluster_size=n, icc=icc, power=power, alpha=alpha,
                 baseline=baseline if 0 < baseline < 1 else None)
        rows.append({"design": label, "clusters": j, "MDES (d)": r.mdes_d, "MDES (pp)": r.mdes_pp})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- figures


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=200, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _fig_size(summary: pd.DataFrame, alpha: float) -> str | None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if NULL not in set(summary["effect"]):
        return None
    t = size_table(summary, alpha)
    labels = [f"{o} · {e} · {m}" for o, e, m in zip(t["outcome"], t["estimator"], t["method"])]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(t) + 1.2))
    y = np.arange(len(t))[::-1]
    r = int(t["n_reps"].max())
    half = Z95 * np.sqrt(alpha * (1 - alpha) / max(r, 1))
    ax.axvspan(alpha - half, alpha + half, color="0.85", label=f"MC band (R={r})")
    ax.axvline(alpha, color="k", lw=1, label=f"{alpha:.0%}")
    ax.errorbar(t["rejection_rate"], y, xerr=Z95 * t["rejection_rate_mcse"], fmt="o",
                color="tab:blue", ms=4, label="rate ± 1.96 MCSE")
    bad = ~t["holds_size"].to_numpy()
    ax.plot(t["rejection_rate"][bad], y[bad], "o", color="tab:red", ms=5, label="outside the band")
    ax.set_yticks(y, labels, fontsize=7)
    top = np.nanmax([*(t["rejection_rate"] + Z95 * t["rejection_rate_mcse"]), alpha + half])
    ax.set_xlim(0, min(1.0, 1.1 * float(top)))
    ax.set_xlabel("rejection rate under the null")
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def _horizontal() -> dict[str, Any]:
    import matplotlib

    major, minor = (int(v) for v in matplotlib.__version__.split(".")[:2])
    return {"orientation": "horizontal"} if (major, minor) >= (3, 10) else {"vert": False}


def _fig_errors(rows: pd.DataFrame) -> str | None:
    """Box plots of estimate − truth: one panel per outcome (its own scale), the named effect
    scenarios only when there are any, rows without a truth left out."""
    import matplotlib.pyplot as plt

    first = rows.drop_duplicates(["effect", "outcome", "estimator", "replication"])
    first = first[np.isfinite(first["truth"]) & np.isfinite(first["estimate"])]
    named = first[first["effect"].isin([NULL, "design"])]
    first = named if len(named) else first
    if first.empty:
        return None
    panels = [(o, list(g.groupby(["effect", "estimator"], sort=True))[:20])
              for o, g in first.groupby("outcome", sort=False)]
    heights = [0.28 * len(gs) + 0.8 for _, gs in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, (outcome, groups) in zip(axes[:, 0], panels):
        data = [(g["estimate"] - g["truth"]).to_numpy() for _, g in groups]
        pos = np.arange(1, len(data) + 1)
        ax.boxplot(data, positions=pos, **_horizontal())
        ax.set_yticks(pos, [" · ".join(map(str, k)) for k, _ in groups], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="k", lw=1)
        ax.set_title(outcome, fontsize=8, loc="left")
    axes[-1, 0].set_xlabel("estimate − truth (the outcome's scale)")
    fig.tight_layout()
    return _png(fig)


def _fig_power(summary: pd.DataFrame, outcome: str) -> str | None:
    import matplotlib.pyplot as plt

    s = summary[(summary["outcome"] == outcome) & (summary["estimator"] == HEADLINE)
                & (summary["effect"] != NULL) & np.isfinite(summary["effect_value"])]
    if s["effect"].nunique() < 2:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for m, g in s.groupby("method", sort=True):
        g = g.sort_values("effect_value")
        ax.errorbar(g["effect_value"], g["rejection_rate"], yerr=Z95 * g["rejection_rate_mcse"],
                    marker="o", ms=3, label=m, capsize=2)
    ax.axhline(0.8, color="k", lw=1, ls="--", label="80 %")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"effect on {outcome}")
    ax.set_ylabel("power (rejection rate)")
    ax.legend(fontsize=7)
    return _png(fig)


# ---------------------------------------------------------------------------- the files


def _md_table(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False, floatfmt=".4g") if len(df) else "_(none)_"


def write_report(out_dir: str | Path, summary: pd.DataFrame, rows: pd.DataFrame,
                 failures: pd.DataFrame, *, primary_outcome: str, alpha: float = 0.05,
                 baseline: float | None = None, notes: Sequence[str] = ()) -> dict[str, Path]:
    """Write ``montecarlo.html`` and ``montecarlo.md`` into ``out_dir``; return their paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    out = Path(out_dir)
    sections: list[tuple[str, str, pd.DataFrame | None, str | None]] = []
    show = ["effect", "outcome", "estimator", "method", "n_reps", "bias", "bias_mcse", "rmse",
            "rmse_mcse", "coverage", "coverage_mcse", "rejection_rate", "rejection_rate_mcse",
            "mean_se", "empirical_sd", "se_ratio", "n_failed"]
    sections.append(("Performance", "Per effect scenario × outcome × estimator × inference "
                     "method, with Monte Carlo SEs (Morris, White & Crowther 2019). Under the null "
                     "the rejection rate is the size, under an effect the power.",
                     summary[show], None))
    if NULL in set(summary["effect"]):
        st = size_table(summary, alpha)
        sections.append(("Which inference holds its size on this design",
                         f"Rejection rate at {alpha:.0%} under the null; a method holds its size "
                         "when the rate is within the Monte Carlo band of a correctly sized test.",
                         st, _fig_size(summary, alpha)))
    sections.append(("Distribution of the estimates", "Error (estimate − the replication's "
                     "truth) per effect × outcome × estimator.", None, _fig_errors(rows)))
    pw = _fig_power(summary, primary_outcome)
    if pw is not None:
        md = simulation_mdes(summary, primary_outcome)
        text = (f"Power of the headline estimate of {primary_outcome} over the effect grid. The "
                "simulation MDES (80 % power, interpolated on the grid) accounts for the "
                "staggered design; the protocol's analytic MDES, beside it, ignores the "
                "staggering (protocol, footnote 15).")
        sections.append(("Power and the simulation MDES", text, md, pw))
        if baseline is not None:
            sections.append(("The protocol's analytic MDES", "", analytic_mdes(baseline, alpha=alpha), None))
    if len(failures):
        sections.append(("Failed replications", "Replications whose analysis raised (first line "
                         "of the error).", failures.assign(
                             error=failures["error"].str.strip().str.split("\n").str[-1]), None))
    notes_txt = "".join(f"- {n}\n" for n in notes)
    md_parts = ["# Monte Carlo study\n", notes_txt]
    h_parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Monte Carlo study</title>"
               "<style>body{font-family:sans-serif;max-width:70em;margin:auto}table{border-"
               "collapse:collapse;font-size:80%}td,th{border:1px solid #ccc;padding:2px 6px}"
               "</style></head><body><h1>Monte Carlo study</h1>",
               "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"]
    for title, text, table, fig in sections:
        md_parts.append(f"\n## {title}\n\n{text}\n")
        h_parts.append(f"<h2>{html.escape(title)}</h2><p>{html.escape(text)}</p>")
        if fig is not None:
            md_parts.append(f"\n![{title}](data:image/png;base64,{fig})\n")
            h_parts.append(f"<img alt='{html.escape(title)}' style='max-width:100%' "
                           f"src='data:image/png;base64,{fig}'>")
        if table is not None:
            md_parts.append("\n" + _md_table(table) + "\n")
            h_parts.append(table.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="—"))
    h_parts.append("</body></html>")
    paths = {"html": out / "montecarlo.html", "md": out / "montecarlo.md"}
    paths["html"].write_text("".join(h_parts))
    paths["md"].write_text("".join(md_parts))
    return paths
