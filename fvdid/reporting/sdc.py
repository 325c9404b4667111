"""Statistical disclosure control for outputs leaving a secure environment (ONS SRS rules).

Rules, as the ONS Secure Research Service output checkers and the SACRO project's ACRO apply them:

* **threshold**: a frequency cell, or the number of contributors behind a magnitude cell, must be
  at least ``threshold`` (default 10). Zeros are counts like any other (a zero cell is suppressed
  unless declared structural), and a percentage is suppressed when its denominator or numerator
  count is.
* **dominance (N-K)**: a magnitude cell is suppressed when its ``n`` largest contributors make up
  more than ``k`` percent of the cell total (default N=2, K=90 %, ACRO's defaults).
* **secondary suppression**: when a row or column (with its published margin) has exactly one
  suppressed cell, the smallest other cell of that row/column is suppressed as well, repeatedly
  until no suppressed cell can be recovered by subtraction.
* **regressions**: the residual degrees of freedom must be at least ``threshold``.

Suppressed cells become NaN in ``SDCTable.table`` and are listed with their reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.reporting.sdc_bounds import bounds, interval_bounds, protect  # noqa: F401 (re-exported)

SUPPRESSED = "[c]"
"""How a suppressed cell is shown."""


def round_to_base(x: float, base: int = 5) -> int:
    """``x`` rounded half up to a multiple of ``base`` (ACRO's mitigation base is 5)."""
    return int(base * np.floor(x / base + 0.5)) if base > 1 else round(x)


def release_count(n: float, cfg: Any = None, *, threshold: int | None = None,
                  base: int | None = None) -> str:
    """A count of people as it may leave: "[c]" below the threshold, else rounded to the base.

    ``cfg`` supplies ``sdc_threshold`` and ``sdc_round_base`` (defaults 10 and 5); the keyword
    arguments override it. Use it in every sentence that quotes a number of children.
    """
    thr = threshold if threshold is not None else int(getattr(cfg, "sdc_threshold", 10))
    b = base if base is not None else int(getattr(cfg, "sdc_round_base", 5))
    if n is None or not np.isfinite(float(n)):
        return SUPPRESSED
    return SUPPRESSED if float(n) < thr else f"{round_to_base(float(n), b):,}"


def release_share(num: float, den: float, cfg: Any = None, *, digits: int = 1) -> str:
    """A percentage of people, derived from the released (rounded) counts; "[c]" when either
    count is below the threshold (the percentage of a small group is a count)."""
    thr = int(getattr(cfg, "sdc_threshold", 10))
    b = int(getattr(cfg, "sdc_round_base", 5))
    if not (np.isfinite(num) and np.isfinite(den)) or num < thr or den < thr or den - num < thr:
        return SUPPRESSED
    return f"{100.0 * round_to_base(num, b) / round_to_base(den, b):.{digits}f}%"


def public_source(source: Any) -> str:
    """A path as it may leave: its last component (the extract's folder or file name) only, never
    an absolute path of the analyst's machine. Non-path strings ("fvdid.simulate(...)") unchanged."""
    s = str(source)
    if "/" in s or "\\" in s:
        parts = [p for p in s.replace("\\", "/").split("/") if p]
        return parts[-1] if parts else s
    return s


_ABS_PATH = re.compile(r"(?<![\w.:/\\])(?:/[\w.\-+@~]+){2,}/?|(?<![\w])[A-Za-z]:\\[^\s'\",;]+")


def scrub_paths(text: str, base: Path | None = None) -> str:
    """``text`` with every absolute path replaced: relative to ``base`` (the output folder) when
    under it, else its last component (the extract's folder or file name). Nothing of the
    analyst's machine leaves."""
    root = None if base is None else str(Path(base).resolve())

    def rel(m: re.Match[str]) -> str:
        p = m.group(0)
        for r in (root, None if base is None else str(base)):
            if r and (p == r or p.startswith(r.rstrip("/") + "/")):
                return p[len(r):].lstrip("/") or "."
        return public_source(p.rstrip("/"))

    return _ABS_PATH.sub(rel, text)


PEOPLE_KEY = re.compile(r"^n_(?!clusters|las|pairs|imput|boot|quarters|placebo|draws|obs_per|changes|"
                        r"pre$|post$|periods|cells|comparisons|cohorts|params|iter)|children|remaining|"
                        r"excluded|^n_obs|denominator")
"""Names (keys, columns) that hold counts of people."""


def release_results(obj: Any, cfg: Any = None, *, base_dir: Path | None = None, key: str = "") -> Any:
    """A results document as it may leave: counts of people (keys matching :data:`PEOPLE_KEY`)
    through :func:`release_count` (an int rounded to the base, or "[c]"), baselines at 3
    significant digits (:func:`release_sig`), absolute paths scrubbed (:func:`scrub_paths`).
    The ``config`` and ``flow`` entries are left as they are (options; already released)."""
    if isinstance(obj, dict):
        return {k: (v if k in ("config", "flow") and not key else
                    release_results(v, cfg, base_dir=base_dir, key=str(k))) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [release_results(v, cfg, base_dir=base_dir, key=key) for v in obj]
    if isinstance(obj, str):
        return scrub_paths(obj, base_dir)
    if isinstance(obj, bool) or not isinstance(obj, int | float | np.integer | np.floating):
        return obj
    x = float(obj)
    if PEOPLE_KEY.search(key.lower()):
        r = release_count(x, cfg)
        return r if r == SUPPRESSED else int(r.replace(",", ""))
    if key.startswith("baseline"):
        return release_sig(x)
    return obj


def release_sig(x: float, sig: int = 3) -> float:
    """A statistic released at ``sig`` significant digits (a baseline 0.26436781609195403 = 23/87
    goes out as 0.264, which no longer pins down its numerator and denominator)."""
    if x is None or not np.isfinite(x) or x == 0:
        return x
    return float(f"{x:.{sig}g}")

__all__ = [
    "SDCTable",
    "acro_check",
    "bounds",
    "dof_ok",
    "frequency_table",
    "magnitude_table",
    "public_source",
    "release_count",
    "release_results",
    "release_share",
    "release_sig",
    "release_table",
    "round_to_base",
    "scrub_paths",
    "share_table",
    "suppress_counts",
]


@dataclass(frozen=True)
class SDCTable(ResultMixin):
    """A table after disclosure control.

    Attributes
    ----------
    table
        The publishable table: suppressed cells are NaN.
    raw
        The table before suppression (never leaves the secure environment).
    reasons
        Same shape as ``table``: "" for a safe cell, else "threshold", "dominance" or "secondary".
    """

    table: pd.DataFrame
    raw: pd.DataFrame
    reasons: pd.DataFrame

    @property
    def n_primary(self) -> int:
        return int(self.reasons.isin(["threshold", "dominance"]).to_numpy().sum())

    @property
    def n_secondary(self) -> int:
        return int((self.reasons == "secondary").to_numpy().sum())

    @property
    def suppressed(self) -> pd.DataFrame:
        return self.reasons != ""

    def tidy(self) -> pd.DataFrame:
        return self.table.reset_index()

    def display(self, fmt: str = "{:,.0f}", mark: str = "[c]") -> pd.DataFrame:
        """Return strings for the appendix: suppressed cells shown as ``mark``."""
        out = self.table.copy().astype(object)
        for c in out.columns:
            out[c] = [
                mark if r else ("" if pd.isna(v) else fmt.format(v))
                for v, r in zip(self.table[c], self.suppressed[c])
            ]
        return out


def _secondary(values: np.ndarray, supp: np.ndarray) -> np.ndarray:
    """Mark secondary suppressions so that no row or column has exactly one suppressed cell."""
    sec = np.zeros_like(supp)
    mask = supp.copy()
    changed = True
    while changed:
        changed = False
        for axis in (0, 1):
            m = mask if axis == 1 else mask.T
            v = values if axis == 1 else values.T
            s = sec if axis == 1 else sec.T
            for i in range(m.shape[0]):
                if m.shape[1] > 1 and m[i].sum() == 1:
                    cand = np.where(~m[i], v[i], np.inf)
                    j = int(np.argmin(cand))
                    if np.isfinite(cand[j]):
                        m[i, j] = True
                        s[i, j] = True
                        changed = True
    return sec


def suppress_counts(
    counts: pd.DataFrame, threshold: int = 10, *, secondary: bool = True
) -> SDCTable:
    """Apply the threshold rule (zeros included) and secondary suppression to a count table."""
    vals = counts.to_numpy(dtype=float)
    primary = vals < threshold
    sec = _secondary(vals, primary) if secondary else np.zeros_like(primary)
    reasons = np.where(primary, "threshold", np.where(sec, "secondary", ""))
    table = counts.astype(float).mask(primary | sec)
    return SDCTable(
        table, counts, pd.DataFrame(reasons, index=counts.index, columns=counts.columns)
    )


def frequency_table(
    data: pd.DataFrame,
    index: str | Sequence[str],
    columns: str | Sequence[str],
    *,
    threshold: int = 10,
) -> SDCTable:
    """Cross-tabulate counts and apply :func:`suppress_counts`."""
    counts = pd.crosstab(
        [data[c] for c in ([index] if isinstance(index, str) else index)],
        [data[c] for c in ([columns] if isinstance(columns, str) else columns)],
        dropna=False,
    )
    return suppress_counts(counts, threshold)


def magnitude_table(
    data: pd.DataFrame,
    index: str | Sequence[str],
    columns: str | Sequence[str],
    values: str,
    *,
    aggfunc: str = "mean",
    threshold: int = 10,
    dominance_n: int = 2,
    dominance_k: float = 90.0,
    secondary: bool = True,
) -> SDCTable:
    """Tabulate ``aggfunc(values)`` and suppress cells failing threshold or N-K dominance.

    Contributors are rows with a non-missing value; dominance compares the ``dominance_n``
    largest absolute values with the cell's total absolute value.
    """
    idx = [index] if isinstance(index, str) else list(index)
    col = [columns] if isinstance(columns, str) else list(columns)
    d = data[[*idx, *col, values]].dropna(subset=[values])
    keys = [*idx, *col]
    g = d.groupby(keys, observed=True)[values]
    agg = g.agg(aggfunc)
    n = g.count()
    absv = d.assign(_a=d[values].abs()).groupby(keys, observed=True)["_a"]
    total = absv.sum()
    top = absv.apply(lambda s: s.nlargest(dominance_n).sum())
    dominated = (total > 0) & (top > dominance_k / 100.0 * total)
    tab = agg.unstack(col)
    cnt = n.unstack(col).reindex_like(tab).fillna(0)
    dom = dominated.unstack(col).reindex_like(tab).fillna(False).astype(bool)
    few = cnt.to_numpy() < threshold
    primary_dom = dom.to_numpy() & ~few
    primary = few | primary_dom
    sec = _secondary(cnt.to_numpy(dtype=float), primary) if secondary else np.zeros_like(primary)
    reasons = np.where(
        few, "threshold", np.where(primary_dom, "dominance", np.where(sec, "secondary", ""))
    )
    table = tab.mask(primary | sec)
    return SDCTable(table, tab, pd.DataFrame(reasons, index=tab.index, columns=tab.columns))


def share_table(
    numerators: pd.DataFrame,
    denominators: pd.DataFrame,
    *,
    threshold: int = 10,
    secondary: bool = True,
) -> SDCTable:
    """Percentages whose numerator or denominator count falls below ``threshold`` are suppressed.

    Use ``secondary=True`` for additive blocks (the levels of one categorical variable, whose
    shares sum to 100 %); rows of different binary characteristics are not additive.
    """
    num = numerators.astype(float)
    den = denominators.reindex_like(num).astype(float)
    share = 100.0 * num / den.where(den > 0)
    primary = (num.to_numpy() < threshold) | (den.to_numpy() < threshold)
    sec = _secondary(num.to_numpy(), primary) if secondary else np.zeros_like(primary)
    reasons = np.where(primary, "threshold", np.where(sec, "secondary", ""))
    return SDCTable(
        share.mask(primary | sec),
        share,
        pd.DataFrame(reasons, index=num.index, columns=num.columns),
    )


def dof_ok(df_resid: float, threshold: int = 10) -> bool:
    """Whether a regression's residual degrees of freedom allow release."""
    return bool(np.isfinite(df_resid) and df_resid >= threshold)


def acro_check(
    data: pd.DataFrame,
    out_dir: Path,
    *,
    index: str,
    columns: str,
    means: Sequence[str] = (),
    regressions: Sequence[tuple[str, str, pd.DataFrame]] = (),
) -> dict[str, object] | None:
    """Run the tables through ACRO (SACRO's output checker) and write its report to ``out_dir``.

    ACRO applies the same SRS rules (threshold, dominance, zeros) with suppression on, and writes
    the outputs, their checks and a session summary in the form output checkers read. Returns a
    summary (outputs, their statuses and ACRO's reason for each: the checks it ran and what it
    recommends, with its mitigation) or None when ``acro`` is not installed.

    ``regressions`` are ``(kind, formula, data)`` with kind "ols", "logit" or "probit": each is
    fitted through ACRO's ``olsr`` / ``logitr`` / ``probitr``, which checks its residual degrees
    of freedom against the threshold, so that the output checkers see the regression outputs too.
    """
    try:
        from acro import ACRO
    except ImportError:
        return None
    import json
    import logging

    logging.disable(logging.WARNING)  # ACRO logs every step at INFO; its report holds the same
    try:
        _acro_session(ACRO, data, out_dir, index, columns, means, regressions)
    finally:
        logging.disable(logging.NOTSET)
    doc = json.loads((out_dir / "results.json").read_text())
    kept = {k: v for k, v in doc.get("results", {}).items() if not k.startswith("2ndary")}
    statuses = {k: v.get("status", "") for k, v in kept.items()}

    def reason(v: dict[str, Any]) -> str:
        # ACRO's summary: "<Kind> : \n <Check>: <text>. Variables defining table are: [...]",
        # and its exception ("Suppression automatically applied where needed").
        import re

        text = re.sub(r"\s+", " ", str(v.get("summary", ""))).strip()
        text = re.sub(r"\[((?:'[^']*'(?:,\s*)?)+)\]",
                      lambda m: ", ".join(x.strip(" '") for x in m.group(1).split(",")), text)
        text = re.sub(r"^(\w+) : ", r"\1: ", text).replace(":  ", ": ")
        exc = str(v.get("exception", "")).strip()
        return " ".join(t if t.endswith(".") else t + "." for t in (text, exc) if t) or "no reason given"

    reasons = {k: reason(v) for k, v in kept.items()}
    return {"acro_version": doc.get("version", ""), "outputs": statuses, "reasons": reasons,
            "folder": out_dir.name}  # relative to the output folder: no path of the analyst's machine


ACRO_REGRESSIONS = {"ols": "olsr", "logit": "logitr", "probit": "probitr"}
"""fvdid's regression kind -> ACRO's formula function."""


def _acro_session(
    ACRO: Any, data: pd.DataFrame, out_dir: Path, index: str, columns: str, means: Sequence[str],
    regressions: Sequence[tuple[str, str, pd.DataFrame]] = (),
) -> None:
    import contextlib
    import io
    import shutil
    import warnings

    sink = io.StringIO()  # ACRO prints its tables; the report on disk is what counts
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        session = ACRO(suppress=True)
        session.crosstab(data[index], data[columns])
        for v in means:
            if v in data.columns:
                session.crosstab(data[index], data[columns], values=data[v], aggfunc="mean")
        for kind, formula, frame in regressions:
            if kind not in ACRO_REGRESSIONS:
                from fvdid.errors import FvdidInputError

                raise FvdidInputError(f"regression kind {kind!r}: expected one of {sorted(ACRO_REGRESSIONS)}")
            getattr(session, ACRO_REGRESSIONS[kind])(formula, data=frame)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        session.finalise(str(out_dir), "json")


def release_table(
    frame: pd.DataFrame,
    counts: Sequence[str],
    *,
    shares: dict[str, Sequence[str]] | None = None,
    threshold: int = 10,
    round_base: int = 5,
    structural: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A table of counts made safe to release: small cells suppressed, the rest rounded.

    For tables whose cells can be recovered by subtraction (a flow of exclusions, matched and
    unmatched counts per pair), secondary suppression cannot protect every cell; the SRS
    practice is to suppress counts below ``threshold`` (zeros included) and round the others to
    ``round_base`` (ACRO's default mitigation base is 5), so that differences of published counts
    no longer reveal a small cell exactly.

    Parameters
    ----------
    frame
        The table (never released as is).
    counts
        Count columns: "[c]" below ``threshold``, else rounded to ``round_base``.
    shares
        Share column -> the count columns it derives from; suppressed when any of them is small.
    structural
        Boolean frame (same shape as ``frame[counts]``) of structural zeros, shown as "-".
    """
    out = frame.copy().astype(object)

    def rounded(x: float) -> str:
        return f"{int(round_base * np.floor(x / round_base + 0.5)):,}" if round_base > 1 else f"{int(x):,}"

    for c in counts:
        vals = frame[c].to_numpy(dtype=float)
        struct = structural[c].to_numpy(dtype=bool) if structural is not None and c in structural else np.zeros(len(vals), bool)
        out[c] = [
            "-" if s else ("" if np.isnan(v) else ("[c]" if v < threshold else rounded(v)))
            for v, s in zip(vals, struct)
        ]
    for s, parts in (shares or {}).items():
        small = np.zeros(len(frame), dtype=bool)
        for p in parts:
            small |= frame[p].to_numpy(dtype=float) < threshold
        out[s] = ["[c]" if b else ("" if pd.isna(v) else f"{v:.3f}") for v, b in zip(frame[s], small)]
    return out
