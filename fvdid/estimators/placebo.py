"""Placebo tests on the matched LA pairs (protocol: "Matching on parallel trends").

:func:`placebo_tests` re-estimates the difference-in-differences of every matched pair of
:func:`~fvdid.match_las` with fake go-live dates inside the pre-period; they should give null
effects. No R reference package: the protocol's own procedure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError
from fvdid.estimators._match_las_data import standardised_changes

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

    from fvdid.estimators.match_las import LAMatchResult

__all__ = ["PlaceboResult", "placebo_tests"]


@dataclass(frozen=True)
class PlaceboResult(ResultMixin):
    """Result of :func:`placebo_tests`.

    Attributes
    ----------
    table
        One row per outcome × matched pair: ``outcome``, ``treated_la``, ``comparator_la``,
        ``real_estimate``, ``n_placebo``, ``placebo_mean``, ``placebo_sd`` (ddof = 1),
        ``p_value`` ((1 + #{|placebo| >= |real|}) / (1 + n_placebo): the real estimate counts
        as one of the assignments, so the p-value is never 0).
    overall
        One row per outcome, pairs pooled: the real estimate is the mean over pairs, each placebo
        the mean over pairs of the placebo estimates at the same distance before go-live.
    estimates
        Every estimate: ``outcome``, ``treated_la``, ``comparator_la``, ``kind`` ("placebo" or
        "real"), ``go_live`` (the fake or real date), ``quarters_before_go_live`` (0 for real),
        ``n_pre``, ``n_post``, ``estimate``.
    """

    table: pd.DataFrame
    overall: pd.DataFrame
    estimates: pd.DataFrame
    outcomes: tuple[str, ...]
    horizon: int | None
    scale: str
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """The per-pair table."""
        return self.table

    def plot(self) -> Figure:
        """Strip plot per outcome: placebo estimates (grey) and the real estimate (red) per pair."""
        from matplotlib.figure import Figure

        outcomes = list(self.outcomes)
        n_rows = [max(1, int((self.table["outcome"] == o).sum())) + 1 for o in outcomes]
        all_labels = {o: [f"{t} vs {c}" for t, c in zip(tab["treated_la"], tab["comparator_la"])]
                      for o, tab in ((o, self.table[self.table["outcome"] == o]) for o in outcomes)}
        fig = Figure(figsize=(8, 1.0 + 0.45 * sum(n_rows) + 0.6 * len(outcomes)))
        grid, label_y = _strip_layout(fig, n_rows, [s for v in all_labels.values() for s in v])
        axes = fig.subplots(len(outcomes), 1, squeeze=False, height_ratios=n_rows, gridspec_kw=grid)[:, 0]
        for ax, o, ly in zip(axes, outcomes, label_y):
            tab = self.table[self.table["outcome"] == o]
            est = self.estimates[self.estimates["outcome"] == o]
            labels = all_labels[o]
            for y, (t, c) in enumerate(zip(tab["treated_la"], tab["comparator_la"])):
                e = est[(est["treated_la"] == t) & (est["comparator_la"] == c)]
                pl = e.loc[e["kind"] == "placebo", "estimate"].to_numpy(dtype=float)
                jitter = np.linspace(-0.15, 0.15, len(pl)) if len(pl) > 1 else np.zeros(len(pl))
                ax.scatter(pl, y + jitter, s=14, color="0.55", label="placebo" if y == 0 else None)
                real = e.loc[e["kind"] == "real", "estimate"].to_numpy(dtype=float)
                ax.scatter(real, np.full(len(real), y), s=60, marker="D", color="tab:red",
                           label="real" if y == 0 else None, zorder=3)
            ov = self.overall[self.overall["outcome"] == o]
            y_all = len(labels)
            if len(ov):
                pooled = ov["placebo_estimates"].iloc[0]
                ax.scatter(pooled, np.full(len(pooled), y_all), s=14, color="0.3")
                ax.scatter([ov["real_estimate"].iloc[0]], [y_all], s=60, marker="D",
                           color="darkred", zorder=3)
            ax.set_yticks(range(len(labels) + 1), [*labels, "mean over pairs"])
            ax.axvline(0.0, color="black", lw=0.8)
            ax.set_title(f"placebo tests: {o}", fontsize=10, y=1.0)  # y given: not measured
            ax.set_xlabel(f"DiD estimate ({self.scale} scale)")
            ax.xaxis.set_label_coords(0.5, ly)
            ax.yaxis.set_label_coords(-0.1, 0.5)
            if len(labels):
                ax.legend(loc="best", fontsize=8)
        # Disclosure control: the points are DiD estimates (differences of means over the pair's
        # quarters), not counts; the figure's data is attached for the appendix's audit.
        fig._fvdid_data = self.estimates.drop(columns=[c for c in self.estimates.columns
                                                       if self.estimates[c].dtype == object
                                                       and c not in ("outcome", "treated_la",
                                                                     "comparator_la", "kind")]).copy()
        fig._fvdid_sdc = [{"output": "figure la_placebo", "action": "checked",
                           "what": "DiD estimates of each pair", "why": "estimates of LA × quarter "
                           "means, no counts plotted; the LA-quarters behind them are the trend "
                           "figure's, checked there"}]
        return fig


def _strip_layout(fig: Figure, n_rows: Sequence[int], labels: Sequence[str]) -> tuple[dict[str, float], list[float]]:
    """A fixed layout of the strip plot: ``gridspec_kw`` (the left margin fits the longest pair
    label, measured once) and the y of each panel's x label in axes coordinates.

    Drawn without a layout engine: a constrained layout measured every tick label several times,
    most of the figure's drawing time.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    w, h = fig.get_size_inches()
    size = FontProperties(size=mpl.rcParams["ytick.labelsize"]).get_size_in_points()
    dpi = 192  # measured at the PNG's resolution (hinting makes text wider at low resolution)
    r = RendererAgg(1, 1, dpi)
    longest = max([r.get_text_width_height_descent(s, FontProperties(size=size), ismath=False)[0]
                   for s in [*labels, "mean over pairs"]]) * 72 / dpi  # points
    pt = 1 / 72
    left = (longest + 2 * mpl.rcParams["ytick.major.size"] + 10) * pt  # label, tick and pad, margin
    top, below = 0.4, 0.62  # the title above a panel; x ticks and label below it
    gap = below + top
    grid = {"left": min(left / w, 0.6), "right": 1 - 0.2 / w, "top": 1 - top / h, "bottom": below / h,
            "hspace": gap / ((h - top - below - gap * (len(n_rows) - 1)) / len(n_rows))}
    ax_h = [(h - top - below - gap * (len(n_rows) - 1)) * n / sum(n_rows) for n in n_rows]
    tick_room = (mpl.rcParams["xtick.major.size"] + mpl.rcParams["xtick.major.pad"]
                 + 1.3 * FontProperties(size=mpl.rcParams["xtick.labelsize"]).get_size_in_points() + 4) * pt
    return grid, [-tick_room / a for a in ax_h]


def _did(y_t: np.ndarray, y_c: np.ndarray, post: np.ndarray) -> float:
    """2 × T DiD: (post − pre mean change of treated) − (same of comparator)."""
    return float(
        (y_t[post].mean() - y_t[~post].mean()) - (y_c[post].mean() - y_c[~post].mean())
    )


def placebo_tests(
    result: LAMatchResult,
    la_quarter: pd.DataFrame,
    *,
    outcome: str | Sequence[str],
    n_placebo: int | None = None,
    horizon: int | None = None,
    first_fake: int | None = None,
    min_pre: int = 2,
    end: Literal["go_live", "entry_lag"] = "go_live",
    use: Literal["chosen", "ranking"] = "chosen",
    scale: Literal["raw", "standardised"] = "raw",
    unit: str = "la",
    time: str = "quarter",
) -> PlaceboResult:
    """Placebo tests: fake go-live dates in the pre-period should give null DiD estimates.

    For every matched pair (treatment LA ``T``, comparator ``C``; ``use="chosen"`` the chosen
    pairs, ``"ranking"`` all ``k`` ranked pairs) with real go-live ``g``:

    - the data are the quarters where both LAs have the outcome (``scale="raw"``: the LA × quarter
      rates; ``"standardised"``: the z-scores used for matching);
    - the **placebo** estimates use only quarters before ``g`` (``end="go_live"``; with
      ``end="entry_lag"`` only quarters before ``g - entry_lag``, so that cohorts possibly touched
      by the programme stay out). Each fake go-live ``f`` runs over the quarters
      ``g - first_fake`` ... (last usable quarter) (default ``first_fake = window + entry_lag``,
      i.e. from the start of the matching window) that leave at least ``min_pre`` (2) quarters
      before ``f`` and at least one at or after ``f``. The estimate is the 2 × T DiD
      ``(mean post − mean pre of T) − (mean post − mean pre of C)`` with pre = quarters before
      ``f``, post = quarters from ``f``, all within the placebo data; ``n_placebo`` keeps that
      many fake dates evenly spread over the eligible ones (deterministic);
    - the **real** estimate is the same formula with the real go-live: pre = the same quarters the
      placebo data use, post = ``g`` ... ``g + horizon - 1`` (all quarters from ``g`` when
      ``horizon`` is None);
    - ``p_value`` is ``(1 + #{|placebo| >= |real|}) / (1 + n_placebo)`` (the real estimate is one
      of the assignments; never 0, smallest ``1 / (1 + n_placebo)``), shown beside ``n_placebo``.

    ``overall`` pools the pairs of an outcome: the mean over pairs of the real estimates against
    the means over pairs of the placebo estimates at the same number of quarters before go-live.

    R: no reference package; arguments follow fvdid's vocabulary (``unit`` = the LA identifier,
    ``time`` = the quarter, as in :func:`~fvdid.match_las`).
    """
    outcomes = [outcome] if isinstance(outcome, str) else [str(o) for o in outcome]
    for o in outcomes:
        if o not in result.outcomes:
            raise FvdidInputError(
                f"outcome {o!r} was not matched; the result holds {list(result.outcomes)}"
            )
    if n_placebo is not None and (not isinstance(n_placebo, int) or n_placebo < 1):
        raise FvdidInputError(f"n_placebo must be None or an integer >= 1, got {n_placebo!r}")
    if horizon is not None and (not isinstance(horizon, int) or horizon < 1):
        raise FvdidInputError(f"horizon must be None or an integer >= 1, got {horizon!r}")
    if min_pre < 1:
        raise FvdidInputError(f"min_pre must be >= 1, got {min_pre!r}")
    if end not in ("go_live", "entry_lag"):
        raise FvdidInputError(f"end must be 'go_live' or 'entry_lag', got {end!r}")
    if use not in ("chosen", "ranking"):
        raise FvdidInputError(f"use must be 'chosen' or 'ranking', got {use!r}")
    if scale not in ("raw", "standardised"):
        raise FvdidInputError(f"scale must be 'raw' or 'standardised', got {scale!r}")
    first = result.window + result.entry_lag if first_fake is None else int(first_fake)
    notes: list[str] = []

    est_rows: list[dict[str, Any]] = []
    for o in outcomes:
        long = standardised_changes(la_quarter, o, unit=unit, time=time)
        var = "value" if scale == "raw" else "z"
        wide = long.pivot(index="la", columns="quarter", values=var)
        src = result.chosen if use == "chosen" else result.ranking
        pairs = src.loc[src["outcome"] == o, ["treated_la", "comparator_la"]]
        for t, c in pairs.itertuples(index=False, name=None):
            g = result.go_live[t]
            stop = g if end == "go_live" else g - result.entry_lag
            both = wide.loc[[t, c]].notna().all(axis=0)
            qs = [q for q in wide.columns if both[q]]
            pre_q = [q for q in qs if q < stop]
            post_q = [q for q in qs if q >= g and (horizon is None or q < g + horizon)]
            yt, yc = wide.loc[t], wide.loc[c]
            if pre_q and post_q:
                sel = pre_q + post_q
                post = np.array([q >= g for q in sel])
                real = _did(yt[sel].to_numpy(float), yc[sel].to_numpy(float), post)
                est_rows.append({
                    "outcome": o, "treated_la": t, "comparator_la": c, "kind": "real",
                    "go_live": g, "quarters_before_go_live": 0, "n_pre": len(pre_q),
                    "n_post": len(post_q), "estimate": real,
                })
            else:
                notes.append(f"{o}: pair {t}–{c} has no post-period (or pre-period) data; "
                             "no real estimate")
            fakes = [
                f for f in pre_q
                if f >= g - first
                and sum(q < f for q in pre_q) >= min_pre
                and sum(q >= f for q in pre_q) >= 1
            ]
            if n_placebo is not None and len(fakes) > n_placebo:
                idx = np.unique(np.round(np.linspace(0, len(fakes) - 1, n_placebo)).astype(int))
                fakes = [fakes[i] for i in idx]
            if not fakes:
                notes.append(f"{o}: pair {t}–{c} has no eligible fake go-live quarter")
            y_t = yt[pre_q].to_numpy(float)
            y_c = yc[pre_q].to_numpy(float)
            for f in fakes:
                post = np.array([q >= f for q in pre_q])
                est_rows.append({
                    "outcome": o, "treated_la": t, "comparator_la": c, "kind": "placebo",
                    "go_live": f, "quarters_before_go_live": (g - f).n,
                    "n_pre": int((~post).sum()), "n_post": int(post.sum()),
                    "estimate": _did(y_t, y_c, post),
                })
    estimates = pd.DataFrame(
        est_rows,
        columns=["outcome", "treated_la", "comparator_la", "kind", "go_live",
                 "quarters_before_go_live", "n_pre", "n_post", "estimate"],
    )

    def _summ(real: float, pl: np.ndarray) -> dict[str, Any]:
        n = len(pl)
        return {
            "real_estimate": real,
            "n_placebo": n,
            "placebo_mean": float(pl.mean()) if n else math.nan,
            "placebo_sd": float(pl.std(ddof=1)) if n > 1 else math.nan,
            # a permutation p-value counts the real estimate among the placebos: never 0
            "p_value": float((1 + np.sum(np.abs(pl) >= abs(real))) / (1 + n))
            if n and not math.isnan(real) else math.nan,
        }

    table_rows = []
    overall_rows = []
    for o in outcomes:
        e = estimates[estimates["outcome"] == o]
        src = result.chosen if use == "chosen" else result.ranking
        pairs = src.loc[src["outcome"] == o, ["treated_la", "comparator_la"]]
        reals = []
        for t, c in pairs.itertuples(index=False, name=None):
            ep = e[(e["treated_la"] == t) & (e["comparator_la"] == c)]
            r = ep.loc[ep["kind"] == "real", "estimate"]
            real = float(r.iloc[0]) if len(r) else math.nan
            if not math.isnan(real):
                reals.append(real)
            pl = ep.loc[ep["kind"] == "placebo", "estimate"].to_numpy(float)
            table_rows.append({"outcome": o, "treated_la": t, "comparator_la": c,
                               **_summ(real, pl)})
        pl_e = e[e["kind"] == "placebo"]
        pooled = pl_e.groupby("quarters_before_go_live")["estimate"].mean().to_numpy(float)
        real_mean = float(np.mean(reals)) if reals else math.nan
        overall_rows.append({"outcome": o, "n_pairs": len(pairs), **_summ(real_mean, pooled),
                             "placebo_estimates": [float(x) for x in pooled]})
    table = pd.DataFrame(
        table_rows,
        columns=["outcome", "treated_la", "comparator_la", "real_estimate", "n_placebo",
                 "placebo_mean", "placebo_sd", "p_value"],
    )
    overall = pd.DataFrame(
        overall_rows,
        columns=["outcome", "n_pairs", "real_estimate", "n_placebo", "placebo_mean",
                 "placebo_sd", "p_value", "placebo_estimates"],
    )
    return PlaceboResult(
        table=table,
        overall=overall,
        estimates=estimates,
        outcomes=tuple(outcomes),
        horizon=horizon,
        scale=scale,
        notes=tuple(notes),
    )
