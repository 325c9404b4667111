"""Statistical disclosure control: threshold, zeros, dominance, secondary suppression, ACRO."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fvdid.sdc import (
    dof_ok,
    frequency_table,
    magnitude_table,
    release_table,
    share_table,
    suppress_counts,
)


def test_threshold_and_zeros_are_suppressed() -> None:
    counts = pd.DataFrame({"a": [50, 9, 0], "b": [40, 30, 20]}, index=["r1", "r2", "r3"])
    t = suppress_counts(counts, 10, secondary=False)
    assert t.suppressed.loc["r2", "a"] and t.suppressed.loc["r3", "a"]
    assert not t.suppressed.loc["r1", "a"]
    assert np.isnan(t.table.loc["r2", "a"]) and t.table.loc["r1", "b"] == 40
    assert t.n_primary == 2 and t.n_secondary == 0


def test_secondary_suppression_leaves_no_lone_cell() -> None:
    counts = pd.DataFrame({"a": [50, 9, 60], "b": [40, 30, 20], "c": [70, 80, 90]})
    t = suppress_counts(counts, 10)
    supp = t.suppressed.to_numpy()
    # No row or column may have exactly one suppressed cell (it could be recovered from margins).
    assert all(r.sum() != 1 for r in supp)
    assert all(c.sum() != 1 for c in supp.T)
    assert t.n_primary == 1 and t.n_secondary >= 2
    # The smallest other cell of the row is the one chosen: row 1 -> column b (30).
    assert t.reasons.iloc[1, 1] == "secondary"


def test_share_suppressed_when_numerator_or_denominator_small() -> None:
    num = pd.DataFrame({"t": [5, 40], "c": [30, 60]}, index=["x", "y"])
    den = pd.DataFrame({"t": [100, 100], "c": [8, 200]}, index=["x", "y"])
    t = share_table(num, den, threshold=10, secondary=False)
    assert t.reasons.loc["x", "t"] == "threshold"  # numerator 5 < 10
    assert t.reasons.loc["x", "c"] == "threshold"  # denominator 8 < 10
    assert t.table.loc["y", "c"] == pytest.approx(30.0)  # 60/200 exactly


def test_dominance_rule() -> None:
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"g": ["a"] * 20 + ["b"] * 20, "k": ["x"] * 40, "v": rng.uniform(1, 2, 40)})
    d.loc[0, "v"] = 1e6  # one contributor dominates cell a
    t = magnitude_table(d, "g", "k", "v", threshold=10, dominance_n=2, dominance_k=90, secondary=False)
    assert t.reasons.loc["a", "x"] == "dominance"
    assert t.reasons.loc["b", "x"] == ""


def test_dof_rule() -> None:
    assert dof_ok(10, 10) and not dof_ok(9, 10) and not dof_ok(float("nan"))


def test_primary_suppression_agrees_with_acro() -> None:
    acro = pytest.importorskip("acro", reason="acro (SACRO output checking) not installed")
    rng = np.random.default_rng(0)
    d = pd.DataFrame(
        {"a": rng.choice(["x", "y", "z"], 300, p=[0.6, 0.35, 0.05]), "b": rng.choice(["p", "q"], 300, p=[0.9, 0.1])}
    )
    ours = suppress_counts(pd.crosstab(d.a, d.b), 10, secondary=False)
    ac = acro.ACRO(suppress=True)
    theirs = ac.crosstab(d.a, d.b)
    pd.testing.assert_frame_equal(
        ours.suppressed, theirs.isna().reindex_like(ours.suppressed), check_names=False
    )


def test_frequency_table_counts() -> None:
    d = pd.DataFrame({"a": ["x"] * 12 + ["y"] * 3, "b": ["p"] * 15})
    t = frequency_table(d, "a", "b")
    assert t.raw.loc["x", "p"] == 12 and t.suppressed.loc["y", "p"]


def test_release_table_suppresses_rounds_and_marks_structural_zeros() -> None:
    f = pd.DataFrame({"step": ["start", "a", "b"], "n": [1003, 7, 0], "m": [0, 52, 48], "s": [0.5, 0.1, 0.2]})
    structural = pd.DataFrame({"n": [False] * 3, "m": [True, False, False]})
    out = release_table(f, ["n", "m"], shares={"s": ["n"]}, threshold=10, round_base=5, structural=structural)
    assert list(out["n"]) == ["1,005", "[c]", "[c]"]  # 1003 rounds to 1005; 7 and 0 are small
    assert list(out["m"]) == ["-", "50", "50"]  # 52 and 48 both round to 50
    assert list(out["s"]) == ["0.500", "[c]", "[c]"]  # shares of small groups go with them
