"""Individual-level matching (protocol: "Individual-level Matching").

Within each matched LA pair (a treatment LA and one of its comparators), children of the treatment
LA are matched to children of the comparator LA by coarsened exact matching (:func:`fvdid.cem`),
exactly on the pair and on the financial year of referral. When more than ``fallback_loss`` of a
pair's treatment-LA children would be left unmatched, that pair is matched within the period
instead (before / after the treatment LA's go-live), and the choice is reported per pair.

Coarsening (the protocol's list):

* gender: the four codes 0 (not recorded / unborn), 1 male, 2 female, 3 indeterminate; code 4
  (missing in the extract) is treated as a missing value, which CEM keeps as a level of its own —
  it is *not* merged with 0, so children with a missing gender match only each other;
* age at referral in completed years: 0–3, 4–12, 13+;
* major ethnic group (White, Mixed, Asian, Black, Other; missing = a level of its own);
* disability, FSM / pupil premium, UASC, prior CPP (0/1; missing = a level of its own).

All these are matched as categories (nothing is left to an automatic binning rule). One CEM run
covers all pairs (the pair and year/period enter as exact covariates), so the weights are the
CEM weights of the stacked sample: matched treatment-LA children weigh 1, matched comparator
children ``(m_T^s / m_C^s) * (M_C / M_T)``. A comparator LA may serve several treatment LAs
(matching with replacement): its children then appear once per pair in the long output.

The L1 imbalance per pair is computed on the raw covariates (age in years with cem's default
breaks, the others as categories), before matching and with the CEM weights after it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError, describe_rows, require_columns
from fvdid.estimators.cem import cem
from fvdid.estimators.imbalance import l1_imbalance
from fvdid.reporting.appendix import AppendixTable, Section
from fvdid.reporting.figures import MIN_FONT_PT
from fvdid.reporting.release import released_cem

__all__ = [
    "PROTOCOL_COVARIATES",
    "ChildMatchResult",
    "balance_plot",
    "cem_section",
    "coarsen_children",
    "match_children",
]

PROTOCOL_COVARIATES: tuple[str, ...] = (
    "gender",
    "age_at_referral",
    "ethnicity_major",
    "disabled",
    "fsm",
    "uasc",
    "prior_cpp",
)
_GENDER_MISSING = 4


@dataclass(frozen=True)
class ChildMatchResult(ResultMixin):
    """Result of :func:`match_children` (plain data).

    Attributes
    ----------
    matches : pd.DataFrame
        One row per pair × child: ``pair_id, treated_la, comparator_la, child_id, treated,
        level, cell, stratum, weight, matched`` (``level`` is ``"financial_year"`` or
        ``"period"``, ``cell`` the year or period the child was matched within).
    pairs : pd.DataFrame
        One row per pair: sizes, matched counts and shares, the share of treated children lost
        under matching by financial year, the level used, L1 (and LCS) before and after.
    balance : pd.DataFrame
        Per covariate level: share among treated, among controls before and after weighting,
        and the standardised differences before and after.
    share_matched, share_treated_matched : float
        Over all pair × child rows, and over the treatment-LA rows.
    """

    matches: pd.DataFrame
    pairs: pd.DataFrame
    balance: pd.DataFrame
    share_matched: float
    share_treated_matched: float
    covariates: tuple[str, ...]
    by: str
    fallback_loss: float
    notes: tuple[str, ...] = field(default=())

    @property
    def weights(self) -> pd.Series:
        """CEM weights of the long frame, labelled ``pair_id:child_id``."""
        idx = self.matches["pair_id"].astype(str) + ":" + self.matches["child_id"].astype(str)
        return pd.Series(self.matches["weight"].to_numpy(), index=idx, name="weight")

    def tidy(self) -> pd.DataFrame:
        """The per-pair summary."""
        return self.pairs.copy()

    def summary(self) -> str:
        cols = [
            "pair_id", "treated_la", "comparator_la", "level", "n_treated", "n_control",
            "share_treated_matched", "l1_before", "l1_after",
        ]
        with pd.option_context("display.width", 140, "display.max_columns", 20):
            body = self.pairs[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}")
        lines = [
            "ChildMatchResult",
            f"CEM within pair × {self.by} (fallback to pair × period above "
            f"{self.fallback_loss:.0%} of treated children unmatched)",
            f"matched: {self.share_matched:.1%} of pair × child rows, "
            f"{self.share_treated_matched:.1%} of treatment-LA children",
            body,
        ]
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def coarsen_children(children: pd.DataFrame, covariates: Sequence[str] = PROTOCOL_COVARIATES) -> pd.DataFrame:
    """The protocol's coarsening as categorical (string) columns; missing values stay missing."""
    require_columns(children, list(covariates), what="children")
    out = pd.DataFrame(index=children.index)
    for col in covariates:
        s = children[col]
        if col == "age_at_referral":
            age = pd.to_numeric(s, errors="coerce")
            bad = s.notna() & (age.isna() | (age < 0))
            if bad.any():
                raise FvdidInputError(
                    f"column 'age_at_referral' of children: {describe_rows(children.index[bad])} "
                    "are not ages in years >= 0"
                )
            years = np.floor(age)
            band = np.where(years <= 3, "0-3", np.where(years <= 12, "4-12", "13+")).astype(object)
            band[age.isna().to_numpy()] = None
            out[col] = pd.Categorical(band, categories=["0-3", "4-12", "13+"])
        elif col == "gender":
            g = pd.to_numeric(s, errors="coerce")
            bad = s.notna() & ~g.isin([0, 1, 2, 3, _GENDER_MISSING])
            if bad.any():
                raise FvdidInputError(
                    f"column 'gender' of children: {describe_rows(children.index[bad])} hold "
                    f"{sorted(set(map(str, s[bad])))[:5]}; expected codes 0-3 (4 = missing)"
                )
            out[col] = _as_labels(g.where(g != _GENDER_MISSING))
        else:
            out[col] = _as_labels(s)
    return out


def _as_labels(s: pd.Series) -> pd.Categorical:
    """Values as a categorical of labels (integral numbers without decimals); missing stays NaN."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    labels = [
        str(int(v)) if isinstance(v, (float, np.floating, int, np.integer)) and float(v).is_integer()
        else str(v)
        for v in uniq
    ]
    cats, inv = np.unique(np.asarray(labels, dtype=object), return_inverse=True) if labels else (
        np.empty(0, dtype=object), np.empty(0, dtype=np.int64))
    new_codes = np.where(codes >= 0, inv.ravel()[np.maximum(codes, 0)] if len(inv) else -1, -1)
    return pd.Categorical.from_codes(new_codes, categories=list(cats))


def _fy_start(fy: pd.Series) -> pd.Series:
    return pd.to_numeric(fy.astype(str).str.slice(0, 4), errors="coerce")


def _period_of(
    sub: pd.DataFrame, la: str, go_live: Mapping[str, Any] | None, pairs_go: Mapping[str, Any]
) -> pd.Series:
    when = pairs_go.get(la)
    if when is None and go_live is not None:
        when = go_live.get(la)
    if when is None or (not isinstance(when, pd.Period) and pd.isna(when)):
        raise FvdidInputError(
            f"matching within period for treatment LA {la!r} needs its go-live date; pass "
            "go_live={la: date} or a 'go_live' column in pairs"
        )
    start = when.start_time if isinstance(when, pd.Period) else pd.Timestamp(when)
    for col in ("referral_date", "referral_month"):
        if col in sub.columns:
            d = sub[col]
            if isinstance(d.dtype, pd.PeriodDtype):
                d = d.dt.start_time
            if not pd.api.types.is_datetime64_any_dtype(d.dtype):
                d = pd.to_datetime(d, errors="coerce")
            if d.isna().any():
                raise FvdidInputError(
                    f"column {col!r} of children: {describe_rows(sub.index[d.isna()])} have no "
                    "date; expected one to place the child before or after go-live"
                )
            return pd.Series(np.where(d >= start, "post", "pre"), index=sub.index)
    raise FvdidInputError(
        "matching within period needs the children's 'referral_date' (or 'referral_month') column"
    )


def _smd(a: float, b: float) -> float:
    """Standardised difference of two shares (pooled binomial standard deviation)."""
    s = np.sqrt((a * (1 - a) + b * (1 - b)) / 2)
    return float((a - b) / s) if s > 0 else 0.0


def _balance(coarse: pd.DataFrame, treated: np.ndarray, w: np.ndarray, covs: Sequence[str]) -> pd.DataFrame:
    """Shares of every covariate level by group, before and after weighting (missing = a level)."""
    t = treated == 1
    rows = []
    for col in covs:
        cat = coarse[col].astype("category")
        labels = [*map(str, cat.cat.categories), "(missing)"]
        codes = cat.cat.codes.to_numpy().astype(np.int64)
        codes[codes < 0] = len(labels) - 1
        k = len(labels)

        def shares(mask: np.ndarray, weights: np.ndarray | None, codes: np.ndarray = codes,
                   k: int = k) -> np.ndarray:
            wt = None if weights is None else weights[mask]
            tot = np.bincount(codes[mask], weights=wt, minlength=k)
            return tot / tot.sum() if tot.sum() > 0 else np.full(k, np.nan)

        pt, pc0 = shares(t, None), shares(~t, None)
        pt1, pc1 = shares(t, w), shares(~t, w)
        for j, lev in enumerate(labels):
            if pt[j] == 0 and pc0[j] == 0:
                continue
            rows.append(
                {
                    "covariate": col,
                    "level": lev,
                    "share_treated": pt[j],
                    "share_control_before": pc0[j],
                    "share_treated_after": pt1[j],
                    "share_control_after": pc1[j],
                    "smd_before": _smd(pt[j], pc0[j]),
                    "smd_after": _smd(pt1[j], pc1[j]),
                }
            )
    return pd.DataFrame(rows)


def match_children(
    children: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    by: Literal["financial_year", "period"] = "financial_year",
    fallback_loss: float = 0.2,
    go_live: Mapping[str, Any] | pd.DataFrame | None = None,
    covariates: Sequence[str] = PROTOCOL_COVARIATES,
) -> ChildMatchResult:
    """Coarsened exact matching of children within matched LA pairs (protocol stage).

    Parameters
    ----------
    children : pd.DataFrame
        One row per child: ``child_id, la_code, financial_year`` and the covariates (simulator /
        extract schema); ``referral_date`` (or ``referral_month``) when periods are needed.
    pairs : pd.DataFrame
        ``treated_la, comparator_la`` (one row per pair; duplicates, e.g. one row per outcome,
        are collapsed); an optional ``go_live`` column.
    by : {"financial_year", "period"}
        The level matched exactly within each pair to begin with.
    fallback_loss : float
        When matching by financial year leaves more than this share of a pair's treatment-LA
        children unmatched, the pair is matched within period (pre/post go-live) instead.
    go_live : mapping or DataFrame, optional
        Treatment LA -> go-live date or Period, or a frame with ``la_code, go_live`` (such as
        ``simulate().las``); needed only for period matching.
    covariates : sequence of str
        Covariates to coarsen and match on (default: the protocol's list).
    """
    if by not in ("financial_year", "period"):
        raise FvdidInputError(f"by must be 'financial_year' or 'period'; got {by!r}")
    if not 0 <= fallback_loss <= 1:
        raise FvdidInputError(f"fallback_loss must be a share in [0, 1]; got {fallback_loss!r}")
    covs = list(covariates)
    require_columns(children, ["child_id", "la_code", "financial_year", *covs], what="children")
    require_columns(pairs, ["treated_la", "comparator_la"], what="pairs")
    pr = pairs.drop_duplicates(["treated_la", "comparator_la"]).reset_index(drop=True)
    if pr.empty:
        raise FvdidInputError("pairs is empty; expected at least one treated_la/comparator_la pair")
    same = pr["treated_la"] == pr["comparator_la"]
    if same.any():
        raise FvdidInputError(
            f"pairs: {describe_rows(pr.index[same])} pair an LA with itself; expected two LAs"
        )
    if isinstance(go_live, pd.DataFrame):
        require_columns(go_live, ["la_code", "go_live"], what="go_live")
        go_live = dict(zip(go_live["la_code"], go_live["go_live"]))
    pairs_go: dict[str, Any] = {}
    if "go_live" in pr.columns:
        pairs_go = dict(zip(pr["treated_la"], pr["go_live"]))
    coarse_all = coarsen_children(children, covs)
    by_la = children.groupby("la_code", sort=False).indices
    blocks = []
    for k, (t_la, c_la) in enumerate(zip(pr["treated_la"], pr["comparator_la"]), start=1):
        for la, role in ((t_la, "treatment"), (c_la, "comparator")):
            if la not in by_la:
                raise FvdidInputError(
                    f"pairs: {role} LA {la!r} (pair {k}) has no children in the children table"
                )
        rows = np.concatenate([by_la[t_la], by_la[c_la]])
        sub = children.iloc[rows]
        blk = pd.DataFrame(
            {
                "pair_id": k,
                "treated_la": t_la,
                "comparator_la": c_la,
                "child_id": sub["child_id"].to_numpy(),
                "treated": (sub["la_code"].to_numpy() == t_la).astype(int),
                "financial_year": sub["financial_year"].astype(str).to_numpy(),
                "_row": rows,
            }
        )
        blocks.append(blk)
    long = pd.concat(blocks, ignore_index=True)
    cov_long = coarse_all.iloc[long["_row"].to_numpy()].reset_index(drop=True)
    data = pd.concat([long[["pair_id", "treated"]], cov_long], axis=1)
    notes: list[str] = []

    def run(cell: pd.Series) -> Any:
        cell_codes, cells = pd.factorize(cell.astype(str))
        codes, _ = pd.factorize(long["pair_id"].to_numpy() * len(cells) + cell_codes)
        data["_cell"] = pd.Categorical.from_codes(codes, categories=range(int(codes.max()) + 1))
        return cem(data, "treated", covariates=["_cell", *covs])

    periods: pd.Series | None = None

    def get_periods() -> pd.Series:
        nonlocal periods
        if periods is None:
            parts = []
            for k, t_la in zip(pr.index + 1, pr["treated_la"]):
                m = (long["pair_id"] == k).to_numpy()
                src = children.iloc[long.loc[m, "_row"].to_numpy()]
                per = _period_of(src, t_la, go_live, pairs_go)
                parts.append(pd.Series(per.to_numpy(), index=long.index[m]))
            periods = pd.concat(parts).reindex(long.index)
        return periods

    loss_year = pd.Series(np.nan, index=pr.index + 1)
    if by == "financial_year":
        first = run(long["financial_year"])
        tm = long["treated"].to_numpy() == 1
        unmatched_t = pd.Series(tm & ~first.matched.to_numpy()).groupby(long["pair_id"]).sum()
        n_t = pd.Series(tm).groupby(long["pair_id"]).sum()
        loss_year = (unmatched_t / n_t.replace(0, np.nan)).reindex(pr.index + 1)
        level = pd.Series(
            np.where(loss_year > fallback_loss, "period", "financial_year"), index=pr.index + 1
        )
    else:
        level = pd.Series("period", index=pr.index + 1)
    lvl_row = level.reindex(long["pair_id"]).to_numpy()
    if (lvl_row == "period").any():
        cell = long["financial_year"].where(lvl_row == "financial_year", get_periods())
        res = run(cell)
        n_fb = int((level == "period").sum()) if by == "financial_year" else 0
        if n_fb:
            notes.append(
                f"{n_fb} pair(s) matched within period: by financial year more than "
                f"{fallback_loss:.0%} of their treatment-LA children were unmatched"
            )
    else:
        cell = long["financial_year"]
        res = first

    w = res.weights.to_numpy()
    matched = res.matched.to_numpy()
    matches = pd.DataFrame(
        {
            "pair_id": long["pair_id"],
            "treated_la": long["treated_la"],
            "comparator_la": long["comparator_la"],
            "child_id": long["child_id"],
            "treated": long["treated"],
            "level": lvl_row,
            "cell": cell.astype(str).to_numpy(),
            "stratum": res.strata.to_numpy(),
            "weight": w,
            "matched": matched,
        }
    )

    # raw covariates for L1: age in years (numeric, cem's default breaks), the rest categorical
    raw = cov_long.copy()
    if "age_at_referral" in covs:
        raw["age_at_referral"] = pd.to_numeric(
            children["age_at_referral"], errors="coerce"
        ).to_numpy()[long["_row"].to_numpy()]
    raw["treated"] = long["treated"].to_numpy()
    summaries = []
    for k in pr.index + 1:
        m = (long["pair_id"] == k).to_numpy()
        d = raw.loc[m]
        tr = d["treated"].to_numpy() == 1
        row: dict[str, Any] = {
            "pair_id": k,
            "treated_la": pr.loc[k - 1, "treated_la"],
            "comparator_la": pr.loc[k - 1, "comparator_la"],
            "level": level[k],
            "n_treated": int(tr.sum()),
            "n_control": int((~tr).sum()),
            "n_treated_matched": int((matched[m] & tr).sum()),
            "n_control_matched": int((matched[m] & ~tr).sum()),
        }
        row["share_treated_matched"] = row["n_treated_matched"] / max(row["n_treated"], 1)
        row["share_matched"] = (row["n_treated_matched"] + row["n_control_matched"]) / m.sum()
        row["loss_by_year"] = float(loss_year[k])
        row["l1_before"] = row["lcs_before"] = row["l1_after"] = row["lcs_after"] = np.nan
        if tr.any() and (~tr).any():
            before = l1_imbalance(d, "treated", covs)
            row["l1_before"], row["lcs_before"] = before.l1, before.lcs
            kept = w[m] > 0
            # L1 over the covariates observed among the matched rows (a covariate missing in
            # every matched row has no distribution to compare).
            obs = [c for c in covs if d.loc[kept, c].notna().any()]
            if (matched[m] & tr).any() and obs:
                after = l1_imbalance(d, "treated", obs, weights=w[m])
                row["l1_after"], row["lcs_after"] = after.l1, after.lcs
        summaries.append(row)
    pair_tab = pd.DataFrame(summaries)
    tmask = long["treated"].to_numpy() == 1
    return ChildMatchResult(
        matches=matches,
        pairs=pair_tab,
        balance=_balance(cov_long, long["treated"].to_numpy(), w, covs),
        share_matched=float(matched.mean()),
        share_treated_matched=float(matched[tmask].mean()) if tmask.any() else float("nan"),
        covariates=tuple(covs),
        by=by,
        fallback_loss=float(fallback_loss),
        notes=tuple(notes),
    )


def _balance_counts(result: ChildMatchResult) -> tuple[pd.DataFrame, dict[str, float]]:
    """Children behind each plotted share: every level's count in each group before and after."""
    b = result.balance
    p = result.pairs
    n = {k: float(p[k].sum()) if k in p else float("nan")
         for k in ("n_treated", "n_control", "n_treated_matched", "n_control_matched")}
    return pd.DataFrame({
        "n_treated": b["share_treated"] * n["n_treated"],
        "n_control": b["share_control_before"] * n["n_control"],
        "n_treated_matched": b["share_treated_after"] * n["n_treated_matched"],
        "n_control_matched": b["share_control_after"] * n["n_control_matched"],
    }, index=b.index), n


def balance_plot(result: ChildMatchResult, threshold: int = 10) -> Figure:
    """Love plot: standardised difference of every covariate level before and after matching.

    Disclosure control: a level held by fewer than ``threshold`` children of a group (or by all
    but fewer than ``threshold``), before or after matching, is not plotted (its share would
    reveal the count); the figure says how many. The plotted data is attached as
    ``fig._fvdid_data`` and the check as ``fig._fvdid_sdc``.
    """
    b = result.balance
    cnt, tot = _balance_counts(result)
    rest = pd.DataFrame({c: tot[c] - cnt[c] for c in cnt.columns})
    small = ((cnt.round() < threshold) & (cnt.round() > 0)) | ((rest.round() < threshold) & (rest.round() > 0))
    small = small.any(axis=1) | cnt.isna().any(axis=1)
    hidden = int(small.sum())
    b = b[~small.to_numpy()]
    labels = [f"{c}: {lev}" for c, lev in zip(b["covariate"], b["level"])]
    y = np.arange(len(b))[::-1]
    fig = Figure(figsize=(6.5, 0.28 * len(b) + 1.6))
    ax = fig.subplots()
    ax.scatter(b["smd_before"], y, marker="o", facecolors="none", edgecolors="C3", label="before")
    ax.scatter(b["smd_after"], y, marker="o", color="C0", label="after (CEM weights)")
    ax.axvline(0, color="grey", lw=0.8)
    for v in (-0.1, 0.1):
        ax.axvline(v, color="grey", lw=0.6, ls=":")
    ax.set_yticks(y, labels, fontsize=MIN_FONT_PT)  # the size the appendix would raise them to
    msg = (f"Not plotted: {hidden} covariate level(s) held by fewer than {threshold} children of "
           "a group (or by all but fewer), before or after matching.")
    # the note wrapped to the figure: a label wider than the figure costs the PNG a second draw
    ax.set_xlabel("standardised difference (treatment LA − comparator LA)\n" + "\n".join(textwrap.wrap(msg, 72)))
    ax.set_title("Covariate balance of children before and after CEM")
    ax.legend(loc="lower right", fontsize=MIN_FONT_PT)
    fig.tight_layout()
    keep = ~small.to_numpy()
    fig._fvdid_data = pd.concat([b[["covariate", "level", "smd_before", "smd_after"]].reset_index(drop=True),
                                 (5 * np.floor(cnt[keep] / 5 + 0.5)).reset_index(drop=True)], axis=1)
    fig._fvdid_sdc = [{"output": "figure cem_balance", "action": "suppressed",
                       "what": f"{hidden} covariate level(s)", "why": msg}]
    return fig


def cem_section(analyses: Mapping[str, Any], primary_outcome: str, cfg: Any) -> Section | None:
    """The appendix section of CEM (None when CEM ran for no outcome)."""
    pa = analyses[primary_outcome]
    if pa.cem_pairs is None:
        return None
    from fvdid.reporting.release import released_flow

    tabs = tuple(AppendixTable(f"cem_{o}", f"CEM within matched pairs: {o}",
                               released_cem(a.cem_pairs, cfg, released_flow(a.flow, cfg)))
                 for o, a in analyses.items() if a.cem_pairs is not None)
    figs = () if pa.balance_figure is None else (
        ("cem_balance", f"Covariate balance before and after CEM ({pa.outcome})", pa.balance_figure),)
    return Section(
        "Individual-level matching (CEM)",
        ("Coarsening: gender (4 codes), age 0–3 / 4–12 / 13+, major ethnic group, disability, FSM, "
         "UASC, prior CPP; exact on matched pair × financial year, falling back to pair × period "
         f"when more than {cfg.cem_fallback_loss:.0%} of treated children would be lost.",),
        tabs, figs)
