"""The one formula grammar of fvdid's estimators, and its design-matrix builder.

Grammar (a deliberately small subset of R's model formulae)::

    formula := response "~" rhs [ "|" fe ("+" fe)* ]
    rhs     := term ("+" term)*  [ "-" "1" ]
    term    := factor (":" factor)* | factor ("*" factor)+ | "1" | "0"
    factor  := column | "C(" column ")"

* ``column`` is a numeric (or boolean, read as 0/1) column of the data, used as is.
* ``C(g)`` is a categorical column, treatment coded with the first level (in sorted order) as the
  reference, as R's ``factor(g)`` with ``contr.treatment``. The dummy of level ``L`` is labelled
  ``"C(g)[L]"`` by the maximum-likelihood estimators and ``"C(g)[T.L]"`` by the linear models
  (:func:`fvdid.ols`, :func:`fvdid.random_effects`; ``build_columns(dummy_label=)``); R labels
  the same column ``"factor(g)L"``, and :func:`r_factor_label` converts R's label into the first
  form. Levels are printed as R prints them: integers (also integral floats) without decimals,
  booleans as ``TRUE`` / ``FALSE``, other values with ``str``.
* ``a:b`` is the product of the columns (with a ``C()`` factor: the product with each of its
  dummies, labelled ``"a:C(g)[L]"``); ``a*b`` is ``a + b + a:b``. Terms are ordered main effects
  first, as R orders them; a repeated term is kept once, as R does.
* ``0`` or ``- 1`` removes the intercept, labelled ``"(Intercept)"`` as in R. Without an
  intercept (and without absorbed fixed effects) the first categorical main effect keeps all its
  levels, as R's ``model.matrix``.
* Columns after ``|`` are absorbed fixed effects; only :func:`fvdid.ols` accepts them
  (``parse_formula(allow_fe=True)``), and the intercept is then absorbed too.

Rows with a missing value in any column the formula (or ``extra`` columns) use are dropped and
counted (``Design.n_dropped``); levels of ``C(g)`` are those present after the drop
(R's ``drop.unused.levels = TRUE``). :func:`design_matrix` raises an error naming the collinear
terms of a rank-deficient design instead of silently dropping columns as R does (R reports
``NA`` for them); :func:`fvdid.ols`, which must check collinearity after absorbing the fixed
effects, builds its columns with :func:`build_columns` and drops collinear terms with a note.

The ``tidy()`` table of the maximum-likelihood estimators is :func:`fvdid._results.wald_table`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import linalg

from fvdid.errors import FvdidInputError, describe_rows, require_columns

__all__ = [
    "Design",
    "DummyLabel",
    "Factor",
    "ParsedFormula",
    "Term",
    "build_columns",
    "column_list",
    "design_matrix",
    "level_label",
    "numeric_column",
    "parse_formula",
    "r_factor_label",
    "sorted_levels",
]

_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"
_CAT = re.compile(rf"^C\(\s*({_NAME})\s*\)$")
_PLAIN = re.compile(rf"^{_NAME}$")

DummyLabel = Literal["level", "T.level"]


@dataclass(frozen=True)
class Factor:
    """One column of a term, used as numeric or as categorical (``C(col)``)."""

    column: str
    categorical: bool

    @property
    def label(self) -> str:
        return f"C({self.column})" if self.categorical else self.column


@dataclass(frozen=True)
class Term:
    """One right-hand-side term: a main effect (one factor) or an interaction ``a:b``."""

    factors: tuple[Factor, ...]

    @property
    def column(self) -> str:
        """The column of a main effect (the first factor's column for an interaction)."""
        return self.factors[0].column

    @property
    def categorical(self) -> bool:
        """Whether a main effect is ``C(col)`` (any factor of an interaction)."""
        return any(f.categorical for f in self.factors)

    @property
    def columns(self) -> list[str]:
        """Every column of the term."""
        return list(dict.fromkeys(f.column for f in self.factors))

    @property
    def label(self) -> str:
        return ":".join(f.label for f in self.factors)


@dataclass(frozen=True)
class ParsedFormula:
    """The response, the terms (main effects first), the intercept and the absorbed FE."""

    response: str
    terms: tuple[Term, ...]
    intercept: bool
    fe: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        """Every data column the formula uses, response first, without duplicates."""
        cols = [self.response]
        for t in self.terms:
            cols.extend(t.columns)
        cols.extend(self.fe)
        return list(dict.fromkeys(cols))


def _parse_factor(text: str, formula: str) -> Factor:
    text = text.strip()
    m = _CAT.match(text)
    if m:
        return Factor(m.group(1), True)
    if _PLAIN.match(text):
        return Factor(text, False)
    raise FvdidInputError(
        f"formula term {text!r} not understood; use column names, C(column), interactions a:b "
        f"or a*b, 0 or - 1 (formula {formula!r})"
    )


def parse_formula(formula: str, *, allow_fe: bool = False) -> ParsedFormula:
    """Parse ``"y ~ a + b + C(g) + a:b | fe1 + fe2"`` (see the module docstring).

    ``allow_fe`` admits absorbed fixed effects after ``|`` (only :func:`fvdid.ols` absorbs
    them); every other estimator gets an error naming the formula.
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        example = "y ~ x1 + x2 | fe1 + fe2" if allow_fe else "y ~ x1 + x2"
        raise FvdidInputError(f"formula must look like {example!r}, got {formula!r}")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not _PLAIN.match(lhs):
        raise FvdidInputError(f"formula response must be a single column name, got {lhs!r}")
    parts = rhs.split("|")
    if len(parts) > 2:
        raise FvdidInputError(f"formula {formula!r}: at most one '|' (before the fixed effects)")
    if len(parts) == 2 and not allow_fe:
        raise FvdidInputError(
            f"formula {formula!r}: this estimator takes no absorbed fixed effects ('|'); "
            "write them as C(column) terms"
        )
    fe: list[str] = []
    if len(parts) == 2:
        for f in parts[1].split("+"):
            f = f.strip()
            if f in ("", "0"):
                continue
            if not _PLAIN.match(f):
                raise FvdidInputError(
                    f"formula {formula!r}: fixed effect {f!r} must be a plain column name"
                )
            fe.append(f)
    # "- 1" removes the intercept; nothing else may be subtracted
    reg = re.sub(r"-\s*1\b", "+ 0", parts[0].strip())
    if "-" in reg:
        raise FvdidInputError(f"formula {formula!r}: only '- 1' may be subtracted")
    intercept = True
    terms: list[Term] = []
    for raw in reg.split("+"):
        raw = raw.strip()
        if raw == "":
            raise FvdidInputError(f"formula {formula!r}: empty term")
        if raw == "1":
            continue
        if raw == "0":
            intercept = False
            continue
        if "*" in raw:  # a*b -> a + b + a:b (several factors: every sub-interaction)
            facs = [_parse_factor(t, formula) for t in raw.split("*")]
            for mask in range(1, 2 ** len(facs)):
                sub = Term(tuple(f for i, f in enumerate(facs) if mask >> i & 1))
                if sub not in terms:
                    terms.append(sub)
            continue
        term = Term(tuple(_parse_factor(t, formula) for t in raw.split(":")))
        if term not in terms:  # R keeps a repeated term once
            terms.append(term)
    terms.sort(key=lambda t: len(t.factors))  # main effects first, as R orders them
    if fe:
        intercept = False  # absorbed by the fixed effects
    if not terms and not intercept and not fe:
        raise FvdidInputError(f"formula {formula!r} has no regressors")
    return ParsedFormula(lhs, tuple(terms), intercept, tuple(fe))


def level_label(value: object) -> str:
    """Print a factor level as R does: integral numbers without decimals."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def sorted_levels(values: pd.Series) -> list[Any]:
    """The distinct values of ``values`` in sorted order (by ``str`` when types are mixed)."""
    uniq = pd.unique(values)
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def numeric_column(frame: pd.DataFrame, col: str, *, what: str = "data") -> np.ndarray:
    """``frame[col]`` as finite floats (booleans as 0/1), or an error naming column and rows."""
    s = frame[col]
    if s.dtype != bool and not pd.api.types.is_numeric_dtype(s):
        raise FvdidInputError(
            f"column {col!r} of {what} is not numeric (dtype {s.dtype}); "
            f"write C({col}) to use it as categorical"
        )
    values = s.to_numpy(dtype=float)
    if np.isfinite(np.add.reduce(values)):  # a finite sum has no infinite or missing term
        return values
    bad = ~np.isfinite(values)
    if bad.any():
        raise FvdidInputError(
            f"column {col!r} of {what} has infinite values in {describe_rows(frame.index[bad])}"
        )
    return values


def build_columns(
    parsed: ParsedFormula,
    frame: pd.DataFrame,
    *,
    intercept: bool | None = None,
    dummy_label: DummyLabel = "level",
    what: str = "data",
) -> tuple[np.ndarray, list[str], list[str]]:
    """The design columns of ``parsed`` on complete rows ``frame``: ``(X, names, notes)``.

    ``dummy_label`` chooses how the dummy of level ``L`` of ``C(g)`` is labelled:
    ``"C(g)[L]"`` (``"level"``) or ``"C(g)[T.L]"`` (``"T.level"``, the linear models' labels).
    Without an intercept and without absorbed fixed effects the first categorical main effect
    keeps all its levels, as R's ``model.matrix``; every other ``C()`` is treatment coded.
    """
    cols, names, notes = column_list(
        parsed, frame, intercept=intercept, dummy_label=dummy_label, what=what
    )
    X = np.column_stack(cols) if cols else np.empty((len(frame), 0))
    return X, names, notes


def column_list(
    parsed: ParsedFormula,
    frame: pd.DataFrame,
    *,
    intercept: bool | None = None,
    dummy_label: DummyLabel = "level",
    what: str = "data",
) -> tuple[list[np.ndarray], list[str], list[str]]:
    """:func:`build_columns` before stacking: the columns as a list (a numeric main effect is the
    data's own array, not a copy), so a caller can place them in a larger matrix in one copy."""
    use_intercept = parsed.intercept if intercept is None else intercept
    n = len(frame)
    cols: list[np.ndarray] = []
    names: list[str] = []
    notes: list[str] = []
    if use_intercept:
        cols.append(np.ones(n))
        names.append("(Intercept)")
    full_coding = not use_intercept and not parsed.fe
    prefix = "T." if dummy_label == "T.level" else ""
    cache: dict[tuple[Factor, bool], list[tuple[str, np.ndarray]]] = {}
    for term in parsed.terms:
        parts: list[list[tuple[str, np.ndarray]]] = []
        for f in term.factors:
            full = f.categorical and full_coding and len(term.factors) == 1
            if f.categorical and len(term.factors) == 1:
                full_coding = False
            key = (f, full)
            if key not in cache:
                if f.categorical:
                    s = frame[f.column]
                    levels = sorted_levels(s)
                    if len(levels) < 2 and not full:
                        notes.append(f"C({f.column}) has a single level; it adds no column")
                    # each row's level as an integer code (the levels are pandas' distinct
                    # values, so code equality is value equality): one pass, not one per level;
                    # a level without a code (NaN, which factorize leaves out) matches no row,
                    # as ``values == nan`` did
                    codes, uniq = pd.factorize(s.to_numpy())
                    at = pd.Index(uniq).get_indexer(levels)
                    cache[key] = [
                        (f"C({f.column})[{prefix}{level_label(v)}]",
                         (codes == a).astype(float) if a >= 0 else np.zeros(len(codes)))
                        for v, a in zip(levels if full else levels[1:],
                                        at if full else at[1:], strict=True)
                    ]
                else:
                    cache[key] = [(f.column, numeric_column(frame, f.column, what=what))]
            parts.append(cache[key])
        combos: list[tuple[str, np.ndarray]] = list(parts[0])
        for part in parts[1:]:
            combos = [(f"{lab}:{pl}", col * pc) for lab, col in combos for pl, pc in part]
        for lab, col in combos:
            cols.append(col)
            names.append(lab)
    return cols, names, notes


def r_factor_label(label: str) -> str:
    """Convert R's ``"factor(g)L"`` dummy label into fvdid's ``"C(g)[L]"``; others unchanged."""
    m = re.match(rf"^factor\(({_NAME})\)(.*)$", label)
    return f"C({m.group(1)})[{m.group(2)}]" if m else label


@dataclass(frozen=True)
class Design:
    """A model frame after dropping incomplete rows.

    ``X`` has one column per label in ``names``; ``index`` holds the data's labels of the kept
    rows and ``positions`` their positions in the data; ``n_dropped`` counts rows dropped for
    missing values; ``frame`` holds the used columns of the kept rows; ``notes`` announces
    ``C()`` terms with a single level (they add no column).
    """

    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    index: pd.Index
    positions: np.ndarray
    n_dropped: int
    frame: pd.DataFrame
    notes: tuple[str, ...] = ()


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
    if parsed.fe:
        raise FvdidInputError("design_matrix takes no absorbed fixed effects ('|')")
    use_intercept = parsed.intercept if intercept is None else intercept
    frame = data[cols]
    complete = frame.notna().all(axis=1).to_numpy()
    n_dropped = int((~complete).sum())
    frame = frame.loc[complete]
    if len(frame) == 0:
        raise FvdidInputError(f"no complete rows in {what} for columns {cols}")

    X, names, notes = build_columns(parsed, frame, intercept=use_intercept, what=what)
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
    return Design(
        y, X, tuple(names), frame.index, np.flatnonzero(complete), n_dropped, frame, tuple(notes)
    )


def _check_rank(X: np.ndarray, names: Sequence[str]) -> None:
    if X.shape[1] == 0:
        return
    if X.shape[0] < X.shape[1]:
        raise FvdidInputError(
            f"{X.shape[0]} complete rows for {X.shape[1]} coefficients {list(names)}"
        )
    scale = np.sqrt((X**2).sum(axis=0))
    scale[scale == 0] = 1.0
    Xs = X / scale
    if X.shape[0] > 2 * X.shape[1]:
        # tall: the pivoted QR of the R factor of an unpivoted (blocked) QR has the pivots and
        # |diag| of the pivoted QR of X itself (the same Gram matrix), at a fraction of the cost
        from fvdid.estimators._design import qr_r

        Xs = qr_r(Xs)
    r, piv = linalg.qr(Xs, mode="r", pivoting=True)  # no Q: only the rank is needed
    d = np.abs(np.diag(r))
    tol = max(X.shape) * np.finfo(float).eps * (d[0] if d.size else 0.0) * 1e3
    rank = int((d > tol).sum())
    if rank < X.shape[1]:
        dropped = [names[i] for i in piv[rank:]]
        raise FvdidInputError(
            f"the design is rank deficient: {dropped} are linear combinations of the other "
            "terms (R would report NA for them); remove them from the formula"
        )


