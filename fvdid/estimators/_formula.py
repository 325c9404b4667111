"""A small, standalone formula parser and design-matrix builder.

Grammar (a deliberately small subset of R's model formulae)::

    formula := response "~" rhs
    rhs     := term ("+" term)*  [ "-" "1" ]
    term    := column | "C(" column ")" | "1" | "0"

* ``column`` is a numeric (or boolean, read as 0/1) column of the data, used as is.
* ``C(g)`` is a categorical column, treatment coded with the first level (in sorted order) as the
  reference, as R's ``factor(g)`` with ``contr.treatment``. The dummy of level ``L`` is labelled
  ``"C(g)[L]"``; R labels the same column ``"factor(g)L"``, and :func:`r_factor_label` converts
  R's label into ours. Levels are printed as R prints them: integers (also integral floats)
  without decimals, other values with ``str``.
* ``0`` or ``- 1`` removes the intercept, labelled ``"(Intercept)"`` as in R.

Rows with a missing value in any column the formula (or ``extra`` columns) use are dropped and
counted (``Design.n_dropped``); levels of ``C(g)`` are those present after the drop
(R's ``drop.unused.levels = TRUE``). A rank-deficient design raises an error naming the
collinear terms instead of silently dropping columns as R does (R reports ``NA`` for them).

The ``tidy()`` table of the maximum-likelihood estimators is :func:`fvdid._results.wald_table`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg

from fvdid.errors import FvdidInputError, describe_rows, require_columns

__all__ = [
    "Design",
    "ParsedFormula",
    "Term",
    "design_matrix",
    "level_label",
    "parse_formula",
    "r_factor_label",
]

_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"
_CAT = re.compile(rf"^C\(\s*({_NAME})\s*\)$")
_PLAIN = re.compile(rf"^{_NAME}$")


@dataclass(frozen=True)
class Term:
    """One right-hand-side term: a column used as numeric or as categorical (``C(col)``)."""

    column: str
    categorical: bool

    @property
    def label(self) -> str:
        return f"C({self.column})" if self.categorical else self.column


@dataclass(frozen=True)
class ParsedFormula:
    """The response, the terms in formula order, and whether an intercept is included."""

    response: str
    terms: tuple[Term, ...]
    intercept: bool

    @property
    def columns(self) -> list[str]:
        """Every data column the formula uses, response first, without duplicates."""
        cols = [self.response]
        for t in self.terms:
            if t.column not in cols:
                cols.append(t.column)
        return cols


def parse_formula(formula: str) -> ParsedFormula:
    """Parse ``"y ~ a + b + C(g)"`` (see the module docstring for the grammar)."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise FvdidInputError(f"formula must look like 'y ~ x1 + x2', got {formula!r}")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not _PLAIN.match(lhs):
        raise FvdidInputError(f"formula response must be a single column name, got {lhs!r}")
    intercept = True
    rhs = rhs.replace(" ", "")
    if rhs.endswith("-1"):
        intercept = False
        rhs = rhs[:-2]
    terms: list[Term] = []
    for raw in rhs.split("+") if rhs else []:
        if raw == "1":
            continue
        if raw == "0":
            intercept = False
            continue
        m = _CAT.match(raw)
        if m:
            term = Term(m.group(1), True)
        elif _PLAIN.match(raw):
            term = Term(raw, False)
        else:
            raise FvdidInputError(
                f"formula term {raw!r} not understood; use column names, C(column), 0 or - 1 "
                f"(formula {formula!r})"
            )
        if term in terms:
            raise FvdidInputError(f"formula term {raw!r} appears twice in {formula!r}")
        terms.append(term)
    if not terms and not intercept:
        raise FvdidInputError(f"formula {formula!r} has no regressors")
    return ParsedFormula(lhs, tuple(terms), intercept)


def level_label(value: object) -> str:
    """Print a factor level as R does: integral numbers without decimals."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def r_factor_label(label: str) -> str:
    """Convert R's ``"factor(g)L"`` dummy label into fvdid's ``"C(g)[L]"``; others unchanged."""
    m = re.match(rf"^factor\(({_NAME})\)(.*)$", label)
    return f"C({m.group(1)})[{m.group(2)}]" if m else label


@dataclass(frozen=True)
class Design:
    """A model frame after dropping incomplete rows.

    ``X`` has one column per label in ``names``; ``index`` holds the data's labels of the kept
    rows and ``positions`` their positions in the data; ``n_dropped`` counts rows dropped for
    missing values; ``frame`` holds the used columns of the kept rows.
    """

    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    index: pd.Index
    positions: np.ndarray
    n_dropped: int
    frame: pd.DataFrame


def design_matrix(
    formula: str | ParsedFormula,
    data: pd.DataFrame,
    *,
    extra: Sequence[str] = (),
    intercept: bool | None = None,
    what: str = "data",
) -> Design:
    """Build the response and design matrix of ``formula`` on ``data``.

    Parameters
    ----------
    formula
        A formula string or a :class:`ParsedFormula`.
    data
        The data frame.
    extra
        Further columns (weights, cluster, strata, group) whose missing values also drop a row.
    intercept
        Override the formula's intercept (``False`` for conditional logit).
    what
        How error messages name the data.
    """
    parsed = parse_formula(formula) if isinstance(formula, str) else formula
    cols = parsed.columns + [c for c in extra if c is not None and c not in parsed.columns]
    require_columns(data, cols, what=what)
    use_intercept = parsed.intercept if intercept is None else intercept
    frame = data[cols]
    complete = frame.notna().all(axis=1).to_numpy()
    n_dropped = int((~complete).sum())
    frame = frame.loc[complete]
    if len(frame) == 0:
        raise FvdidInputError(f"no complete rows in {what} for columns {cols}")

    blocks: list[np.ndarray] = []
    names: list[str] = []
    full_coding = not use_intercept  # R: without an intercept the first factor keeps all levels
    if use_intercept:
        blocks.append(np.ones((len(frame), 1)))
        names.append("(Intercept)")
    for term in parsed.terms:
        s = frame[term.column]
        if term.categorical:
            levels = sorted(pd.unique(s))
            codes = pd.Categorical(s, categories=levels).codes
            lab = [level_label(v) for v in levels]
            keep = range(len(levels)) if full_coding else range(1, len(levels))
            full_coding = False
            for j in keep:
                blocks.append((codes == j).astype(float)[:, None])
                names.append(f"C({term.column})[{lab[j]}]")
        else:
            if s.dtype == bool:
                values = s.to_numpy(dtype=float)
            elif pd.api.types.is_numeric_dtype(s):
                values = s.to_numpy(dtype=float)
            else:
                raise FvdidInputError(
                    f"column {term.column!r} of {what} is not numeric (dtype {s.dtype}); "
                    f"write C({term.column}) to use it as categorical"
                )
            if not np.all(np.isfinite(values)):
                bad = frame.index[~np.isfinite(values)]
                raise FvdidInputError(
                    f"column {term.column!r} of {what} has infinite values in {describe_rows(bad)}"
                )
            blocks.append(values[:, None])
            names.append(term.column)
    X = np.hstack(blocks) if blocks else np.empty((len(frame), 0))
    ys = frame[parsed.response]
    if ys.dtype == bool:
        y = ys.to_numpy(dtype=float)
    elif pd.api.types.is_numeric_dtype(ys):
        y = ys.to_numpy(dtype=float)
    else:
        raise FvdidInputError(
            f"response column {parsed.response!r} of {what} is not numeric (dtype {ys.dtype})"
        )
    _check_rank(X, names)
    return Design(y, X, tuple(names), frame.index, np.flatnonzero(complete), n_dropped, frame)


def _check_rank(X: np.ndarray, names: Sequence[str]) -> None:
    if X.shape[1] == 0:
        return
    if X.shape[0] < X.shape[1]:
        raise FvdidInputError(
            f"{X.shape[0]} complete rows for {X.shape[1]} coefficients {list(names)}"
        )
    scale = np.sqrt((X**2).sum(axis=0))
    scale[scale == 0] = 1.0
    r, piv = linalg.qr(X / scale, mode="r", pivoting=True)  # no Q: only the rank is needed
    d = np.abs(np.diag(r))
    tol = max(X.shape) * np.finfo(float).eps * (d[0] if d.size else 0.0) * 1e3
    rank = int((d > tol).sum())
    if rank < X.shape[1]:
        dropped = [names[i] for i in piv[rank:]]
        raise FvdidInputError(
            f"the design is rank deficient: {dropped} are linear combinations of the other "
            "terms (R would report NA for them); remove them from the formula"
        )


