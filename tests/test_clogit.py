"""fvdid.clogit: exact likelihood against brute force, matched-pair identities, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from fvdid.clogit import clogit
from fvdid.errors import FvdidInputError
from fvdid.logit import logit


def _matched(sizes: list[tuple[int, int]], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s, (m, cases) in enumerate(sizes):
        x1 = rng.normal(size=m) + rng.normal()
        x2 = rng.binomial(1, 0.5, m)
        score = 0.9 * x1 - 0.5 * x2 + rng.gumbel(size=m)
        y = np.zeros(m, dtype=int)
        y[np.argsort(-score)[:cases]] = 1
        rows += [(s, y[i], x1[i], x2[i]) for i in range(m)]
    return pd.DataFrame(rows, columns=["s", "y", "x1", "x2"])


def _brute_force_loglik(beta: np.ndarray, d: pd.DataFrame) -> float:
    """Exact conditional log-likelihood by enumerating every subset (small strata only)."""
    total = 0.0
    for _, g in d.groupby("s"):
        eta = g[["x1", "x2"]].to_numpy() @ beta
        y = g["y"].to_numpy()
        k = int(y.sum())
        if k in (0, len(y)):
            continue
        denom = [eta[list(c)].sum() for c in itertools.combinations(range(len(y)), k)]
        total += eta[y == 1].sum() - np.logaddexp.reduce(denom)
    return total


def test_exact_matches_brute_force_enumeration() -> None:
    d = _matched([(6, 2), (7, 3), (5, 1), (8, 4), (4, 2), (6, 3), (7, 2), (5, 2)] * 3, seed=1)
    fit = clogit("y ~ x1 + x2", d, strata="s")
    b = fit.params.to_numpy()
    assert fit.loglik == pytest.approx(_brute_force_loglik(b, d), abs=1e-10)
    # the estimate is a stationary point of the brute-force likelihood: central differences
    # with h = 1e-5 carry ~1e-9 of error, so 1e-6 is a clear bound for a zero gradient
    h, eye = 1e-5, np.eye(2)
    grad = [
        (_brute_force_loglik(b + h * e, d) - _brute_force_loglik(b - h * e, d)) / (2 * h)
        for e in eye
    ]
    np.testing.assert_allclose(grad, 0.0, atol=1e-6)
    # SEs: inverse of the brute-force Hessian by second differences (h = 1e-3, O(h^2) ~ 1e-6)
    h = 1e-3
    f = lambda v: _brute_force_loglik(v, d)  # noqa: E731
    hess = np.array(
        [
            [
                (
                    f(b + h * ei + h * ej)
                    - f(b + h * ei - h * ej)
                    - f(b - h * ei + h * ej)
                    + f(b - h * ei - h * ej)
                )
                / (4 * h * h)
                for ej in eye
            ]
            for ei in eye
        ]
    )
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    np.testing.assert_allclose(fit.std_errors.to_numpy(), se, rtol=1e-4)


def test_matched_pairs_equal_logit_on_differences() -> None:
    d = _matched([(2, 1)] * 150, seed=2)
    fit = clogit("y ~ x1 + x2", d, strata="s")
    # P(case = row i | one case in {i, j}) = expit((x_i - x_j)' b): a logit without intercept
    case = d[d.y == 1].set_index("s")[["x1", "x2"]]
    ctrl = d[d.y == 0].set_index("s")[["x1", "x2"]]
    diff = (case - ctrl.loc[case.index]).reset_index(drop=True)
    diff = pd.concat([diff.assign(y=1), (-diff).assign(y=0)], ignore_index=True)
    ref = logit("y ~ 0 + x1 + x2", diff)
    # each pair enters the stacked logit twice (as +d with y=1 and -d with y=0): same score,
    # double the information, so coefficients agree and the SEs differ by sqrt(2)
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(
        fit.std_errors.to_numpy(), ref.std_errors.to_numpy() * np.sqrt(2), atol=1e-9
    )


def test_one_case_per_stratum_methods_coincide() -> None:
    d = _matched([(5, 1)] * 60 + [(2, 1)] * 40, seed=3)
    exact = clogit("y ~ x1 + x2", d, strata="s")
    for method in ("efron", "breslow"):
        other = clogit("y ~ x1 + x2", d, strata="s", method=method)
        # with one case per stratum all three likelihoods are the same function
        pd.testing.assert_series_equal(exact.params, other.params, atol=1e-10, rtol=0)
        pd.testing.assert_series_equal(exact.std_errors, other.std_errors, atol=1e-10, rtol=0)


def test_large_strata_are_stable_and_symmetric() -> None:
    d = _matched([(400, 200), (300, 40), (250, 180)], seed=4)
    fit = clogit("y ~ x1 + x2", d, strata="s")
    assert fit.converged and np.isfinite(fit.std_errors).all()
    # swapping cases and controls negates the coefficients (the likelihood is symmetric)
    flipped = clogit("y ~ x1 + x2", d.assign(y=1 - d.y), strata="s")
    pd.testing.assert_series_equal(-fit.params, flipped.params, atol=1e-9, rtol=0)
    pd.testing.assert_series_equal(fit.std_errors, flipped.std_errors, atol=1e-9, rtol=0)


def test_uninformative_strata_are_counted() -> None:
    d = _matched([(3, 1)] * 30, seed=5)
    extra = pd.DataFrame(
        {
            "s": [100, 101, 102, 102],
            "y": [1, 0, 0, 0],
            "x1": [0.1, 0.2, 0.3, 0.4],
            "x2": [0, 1, 0, 1],
        }
    )
    fit = clogit("y ~ x1 + x2", pd.concat([d, extra], ignore_index=True), strata="s")
    base = clogit("y ~ x1 + x2", d, strata="s")
    assert fit.n_uninformative_strata == 3 and fit.n_uninformative_rows == 4
    assert fit.nobs == len(d) + 4 and fit.n_strata == 33
    assert any("3 of 33 strata" in note for note in fit.notes)
    pd.testing.assert_series_equal(fit.params, base.params, atol=1e-12, rtol=0)


def test_one_row_per_stratum_raises() -> None:
    d = pd.DataFrame({"s": range(10), "y": [0, 1] * 5, "x1": np.arange(10.0)})
    with pytest.raises(FvdidInputError, match="no stratum of 's'"):
        clogit("y ~ x1", d, strata="s")


def test_missing_values_dropped_and_counted() -> None:
    d = _matched([(4, 1)] * 30, seed=6).astype({"s": float})
    d.loc[[0, 5], "x1"] = np.nan
    d.loc[[9], "s"] = np.nan
    fit = clogit("y ~ x1 + x2", d, strata="s")
    assert fit.n_dropped == 3 and fit.nobs == len(d) - 3


def test_bad_input() -> None:
    d = _matched([(3, 1)] * 10, seed=7)
    with pytest.raises(FvdidInputError, match="'zz'"):
        clogit("y ~ x1", d, strata="zz")
    bad = d.assign(y=d.y.astype(float))
    bad.loc[[4], "y"] = 0.5
    with pytest.raises(FvdidInputError, match=r"'y'.*1 row \(e\.g\. 4\)"):
        clogit("y ~ x1", bad, strata="s")
    with pytest.raises(FvdidInputError, match="do not vary within"):
        clogit("y ~ x1 + sx", d.assign(sx=d.s * 1.0), strata="s")
    with pytest.raises(FvdidInputError, match="method"):
        clogit("y ~ x1", d, strata="s", method="approx")  # type: ignore[arg-type]
