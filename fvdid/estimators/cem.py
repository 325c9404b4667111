"""Coarsened exact matching (CEM), with the conventions of R's ``cem`` package (version 1.1.31).

The method is the one of Iacus, King and Porro (2011, 2012): every covariate is temporarily
coarsened (numeric columns cut into intervals, categorical columns kept as they are or merged into
user-defined groups), each unit is put in the stratum of its coarsened covariate profile, strata
lacking a treated or a control unit are pruned, and the units that remain are weighted so that,
within every stratum, the weighted control group has the size of the treated group.

What ``cem`` does, and fvdid therefore does as well (each point was checked against the package
documentation and against its output on the LaLonde data sets):

* A numeric column is cut with ``cut(x, breaks, include.lowest = TRUE, right = TRUE)``: intervals
  ``[b0, b1], (b1, b2], ..., (b_{k-2}, b_{k-1}]``. A cutpoint *count* ``k`` (given directly, or
  produced by a rule) means ``k`` equally spaced cutpoints from ``min(x)`` to ``max(x)`` (R's
  ``seq(min, max, length = k)``), i.e. ``k - 1`` intervals; duplicated cutpoints are removed; a
  single cutpoint leaves the column uncoarsened. Rules: ``"sturges"`` (the default)
  ``ceiling(log2(n) + 1)`` where ``n`` counts the missing values too; ``"scott"`` and ``"fd"``
  (R's ``nclass.scott`` / ``nclass.FD``, from their help page); ``"ss"`` (the cost of Shimazaki and
  Shinomoto, 2007, minimised over 2–100 cutpoints, with the edge tolerance ``?hist`` documents).
  These are *not* numpy's ``histogram_bin_edges``. Every rule, ``pretty`` (L1 breaks) and the
  ``hist`` counts are written from R's help pages and the papers they cite, not from R's or
  cem's code (sources in ``fvdid.estimators._cem_coarsen``).
* Non-numeric columns (strings, categoricals, booleans) are matched exactly, as R matches factor
  levels; a column named in ``grouping`` becomes categorical: values listed in one group are
  merged, values not listed stay their own level, and ``grouping`` overrides ``cutpoints``.
* A numeric column left uncoarsened (a single cutpoint, or a constant column) is matched on its
  values printed with 15 significant digits, as ``cem`` compares pasted values.
* A missing value is a level of its own: units missing the same covariate are matched together
  when the rest of their coarsened profile agrees (cem's default; no listwise deletion).
* Weights: ``1`` for matched units of the baseline group; ``(m_b^s / m_g^s) * (M_g / M_b)`` for a
  matched unit of group ``g`` in stratum ``s`` (``m`` counts matched units of the stratum, ``M``
  all matched units); ``0`` for unmatched units.
* ``k2k = True`` keeps ``min(n_T^s, n_C^s)`` units of each group in every matched stratum, all
  with weight 1. ``cem``'s default (``method = NULL``) picks the units at random with R's random
  number generator, so the units kept cannot be reproduced outside R: fvdid draws them with a
  numpy generator seeded by ``seed`` and guarantees the same counts per stratum.

Stratum ids
-----------
``CEMResult.strata`` gives every unit (matched or not) the id of its coarsened cell: ids run
``1..n_strata`` in the order in which the cells first appear in ``data`` (for matched units these
are exactly the ids of ``cem``'s ``mstrata``). Ids therefore depend on the row order; compare two
matchings with :func:`canonical_strata` (ids renumbered in the order of the sorted index labels),
or :meth:`CEMResult.partition`, which compare the partition, not the integers.

Departures (documented, all on inputs where ``cem`` itself misbehaves)
----------------------------------------------------------------------
* Explicit cutpoints that do not cover a column raise :class:`FvdidInputError` (``cem`` silently
  turns the uncovered values into missing values and matches them with the real missing ones).
* ``"scott"``, ``"fd"`` and ``"ss"`` on a column with missing values are computed on the
  non-missing values, with a note (``cem`` stops with an error there).
* A ``grouping`` whose values match nothing, or that lists a value twice, raises (``cem`` would
  collapse the whole column into one level, or let the later group win).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError, check_binary, require_columns
from fvdid.estimators._cem_coarsen import (
    CutSpec,
    check_options,
    coarsen,
    combine,
)

__all__ = ["CEMResult", "canonical_strata", "cem"]


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


def canonical_strata(strata: pd.Series) -> pd.Series:
    """Renumber stratum ids ``1, 2, ...`` in order of first appearance along the sorted index.

    Two matchings define the same partition of the units exactly when their canonical strata are
    equal; this is how the parity cases compare fvdid with R (whose ids follow other schemes).
    """
    order = np.argsort(strata.index.to_numpy(), kind="stable")
    ids, _ = pd.factorize(strata.to_numpy()[order])
    out = np.empty(len(strata), dtype=np.int64)
    out[order] = np.asarray(ids) + 1
    return pd.Series(out, index=strata.index, name="stratum")


@dataclass(frozen=True)
class CEMResult(ResultMixin):
    """Result of :func:`cem`.

    Attributes
    ----------
    strata : pd.Series
        Stratum id of every unit (matched or not), aligned to ``data.index``; ids ``1..n_strata``
        in order of first appearance (R ``mstrata`` for the matched units).
    matched : pd.Series
        ``True`` for units kept by the matching (R ``matched``).
    weights : pd.Series
        CEM weights (R ``w``): 1 for matched baseline units, 0 for unmatched units.
    counts : pd.DataFrame
        Rows ``All``, ``Matched``, ``Unmatched``; columns ``G0``, ``G1`` (R ``tab``).
    breaks : dict
        Column -> cutpoints actually used (``None`` for columns matched exactly or grouped).
    n_strata, n_matched_strata : int
        Number of coarsened cells, and of cells holding both groups (R ``n.strata``,
        ``length(mstrataID)``).
    """

    strata: pd.Series
    matched: pd.Series
    weights: pd.Series
    counts: pd.DataFrame
    breaks: dict[str, list[float] | None]
    n_strata: int
    n_matched_strata: int
    treatment: str
    covariates: tuple[str, ...]
    baseline: int
    k2k: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def params(self) -> pd.Series:
        """Headline numbers as a labelled Series (for uniformity with the other estimators)."""
        c = self.counts
        return pd.Series(
            {
                "n_strata": float(self.n_strata),
                "n_matched_strata": float(self.n_matched_strata),
                "matched_G0": float(c.loc["Matched", "G0"]),
                "matched_G1": float(c.loc["Matched", "G1"]),
                "unmatched_G0": float(c.loc["Unmatched", "G0"]),
                "unmatched_G1": float(c.loc["Unmatched", "G1"]),
            }
        )

    def tidy(self) -> pd.DataFrame:
        """Long table of the sample sizes: ``status`` (All/Matched/Unmatched), ``group``, ``n``."""
        long = self.counts.stack().reset_index()
        long.columns = ["status", "group", "n"]
        return long

    def partition(self) -> frozenset[frozenset[Hashable]]:
        """The strata as a set of sets of index labels (independent of the id scheme)."""
        groups = self.strata.groupby(self.strata.to_numpy()).groups
        return frozenset(frozenset(v) for v in groups.values())

    def canonical_strata(self) -> pd.Series:
        """Stratum ids renumbered along the sorted index (see :func:`canonical_strata`)."""
        return canonical_strata(self.strata)

    def summary(self) -> str:
        lines = [
            "CEMResult",
            f"treatment: {self.treatment} (baseline group {self.baseline}); "
            f"covariates: {', '.join(self.covariates)}",
            f"strata: {self.n_strata}; matched strata: {self.n_matched_strata}"
            + ("; k2k" if self.k2k else ""),
            self.counts.to_string(),
        ]
        for col, br in self.breaks.items():
            if br is not None:
                lines.append(f"cutpoints {col}: {', '.join(f'{b:g}' for b in br)}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def cem(
    data: pd.DataFrame,
    treatment: str,
    *,
    covariates: Sequence[str] | None = None,
    cutpoints: Mapping[str, CutSpec] | None = None,
    grouping: Mapping[str, Sequence[Sequence[Any]]] | None = None,
    k2k: bool = False,
    baseline: int = 1,
    seed: int | None = None,
) -> CEMResult:
    """Coarsened exact matching, as R's ``cem::cem`` (1.1.31).

    Parameters
    ----------
    data : pd.DataFrame
        One row per unit (R ``data``).
    treatment : str
        Binary 0/1 (or boolean) column (R ``treatment``).
    covariates : list of str, optional
        Columns to match on; default every column except ``treatment`` (R: the columns of
        ``data`` not listed in ``drop``).
    cutpoints : dict, optional
        Column -> ``"sturges"`` (default for numeric columns), ``"scott"``, ``"fd"``, ``"ss"``, an
        integer number of equally spaced cutpoints over the column's range, or an explicit list
        of cutpoints that covers the column (R ``cutpoints``).
    grouping : dict, optional
        Column -> list of lists of values, each list merged into one level (``None``/NaN inside a
        list merges the missing values too); the column is then matched exactly on the merged
        levels and its cutpoints are ignored (R ``grouping``).
    k2k : bool
        Keep the same number of treated and control units in each stratum (R ``k2k``, with
        ``method = NULL``: random choice, drawn here from ``numpy.random.default_rng(seed)``).
    baseline : {0, 1}
        Group whose matched units get weight 1 (R ``baseline.group``, default ``"1"``).
    seed : int, optional
        Seed of the random choice made by ``k2k``. R: ``set.seed(seed)`` before ``cem()``
        (R's stream differs, so the choice of units is not reproduced draw for draw).

    Returns
    -------
    CEMResult
    """
    require_columns(data, [treatment])
    g = check_binary(data, treatment)
    if covariates is None:
        covariates = [c for c in data.columns if c != treatment]
    else:
        if isinstance(covariates, str):
            covariates = [covariates]
        covariates = list(covariates)
    require_columns(data, covariates)
    if not covariates:
        raise FvdidInputError("no covariates to match on; expected at least one column")
    if baseline not in (0, 1):
        raise FvdidInputError(f"baseline must be 0 or 1 (a value of {treatment!r}); got {baseline!r}")
    n_group = np.bincount(g, minlength=2)
    for lev in (0, 1):
        if n_group[lev] == 0:
            raise FvdidInputError(
                f"column {treatment!r} has no unit with value {lev}; expected both treated (1) "
                f"and control (0) units, got {len(g)} rows all equal to {1 - lev}"
            )
    check_options(data, treatment, covariates, cutpoints, grouping)

    notes: list[str] = []
    codes, used = coarsen(data, covariates, cutpoints, grouping, notes)
    n = len(data)
    ids = combine(codes, n)
    n_strata = int(ids.max()) + 1 if n else 0

    cnt = np.bincount(ids * 2 + g, minlength=2 * n_strata).reshape(n_strata, 2)
    both = (cnt > 0).all(axis=1)
    matched = both[ids]

    if k2k:
        rng = np.random.default_rng(seed)
        keep_n = cnt.min(axis=1)
        u = rng.random(n)
        order = np.lexsort((u, g, ids))
        cell = ids[order] * 2 + g[order]
        start = np.r_[0, np.flatnonzero(np.diff(cell)) + 1]
        first = np.repeat(start, np.diff(np.r_[start, n]))
        rank = np.arange(n) - first
        kept = np.zeros(n, dtype=bool)
        kept[order] = matched[order] & (rank < keep_n[ids[order]])
        matched = kept
        weights = matched.astype(float)
    else:
        mcnt = np.where(both[:, None], cnt, 0)
        tot = mcnt.sum(axis=0).astype(float)
        b = baseline
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = mcnt[:, b][:, None] / mcnt  # m_b^s / m_g^s
            w_cell = ratio * (tot / tot[b])[None, :]
        w_cell[~both] = 0.0
        weights = np.where(matched, w_cell[ids, g], 0.0)

    groups_in = np.bincount(g, minlength=2)
    groups_m = np.bincount(g[matched], minlength=2)
    counts = pd.DataFrame(
        [groups_in, groups_m, groups_in - groups_m],
        index=["All", "Matched", "Unmatched"],
        columns=["G0", "G1"],
    ).astype(int)

    idx = data.index
    return CEMResult(
        strata=pd.Series(ids + 1, index=idx, name="stratum"),
        matched=pd.Series(matched, index=idx, name="matched"),
        weights=pd.Series(weights, index=idx, name="weight"),
        counts=counts,
        breaks=used,
        n_strata=n_strata,
        n_matched_strata=int(both.sum()),
        treatment=treatment,
        covariates=tuple(covariates),
        baseline=int(baseline),
        k2k=bool(k2k),
        notes=tuple(notes),
    )
