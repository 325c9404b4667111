"""The Python peers against the R golden files (parity/peers): linearmodels and differences.

Only these two peers are installed in CI; each test is skipped with the reason when its peer is
absent. The tests compare the peers' numbers by label with the golden files' R values.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fvdid.cli import app
from parity.compare import Labelled, normalise
from parity.golden import load_golden
from parity.peers import PEERS, adapters
from parity.peers.departures import explain
from parity.peers.runner import run_peers
from parity.registry import get_case
from parity.runner import _dataset_missing, load_dataset

needs_linearmodels = pytest.mark.skipif(
    importlib.util.find_spec("linearmodels") is None,
    reason="linearmodels is not installed (pip install '.[peers]')",
)
needs_differences = pytest.mark.skipif(
    importlib.util.find_spec("differences") is None,
    reason="differences is not installed (pip install '.[peers]')",
)


def _peer(peer: str, case_name: str) -> tuple[dict[str, Labelled], dict[str, Labelled]]:
    """The adapter's quantities and the golden R quantities of ``case_name``."""
    case = get_case(case_name)
    missing = _dataset_missing(case)
    if missing:
        pytest.skip(missing)
    out = adapters((peer,))[(peer, case_name)].fn(load_dataset(case), dict(case.args))
    return {k: normalise(v) for k, v in out.items()}, load_golden(case).quantities


def _by_label(q: Labelled) -> pd.Series:
    return pd.Series(q.values, index=list(q.labels or ("(scalar)",)))


def _assert_close(got: Labelled, ref: Labelled, atol: float) -> None:
    g, r = _by_label(got), _by_label(ref)
    assert sorted(g.index) == sorted(r.index)
    diff = (g.reindex(r.index) - r).abs()
    assert diff.max() <= atol, diff.sort_values().tail(3)


@needs_linearmodels
@pytest.mark.parametrize("case_name", ["ols_cr1_twfe", "ols_hc1_twfe_w", "ols_iid_nofe",
                                       "ols_cr1_2way"])
def test_linearmodels_ols_equals_r(case_name: str) -> None:
    got, ref = _peer("linearmodels", case_name)
    # closed-form least squares and sandwich (fixed effects absorbed by LSMR to 1e-14): only
    # summation order and the absorption's convergence differ
    _assert_close(got["coef"], ref["coef"], 1e-10)
    _assert_close(got["se"], ref["se"], 1e-10)
    assert got["nobs"].values[0] == ref["nobs"].values[0]  # row counts are integers


@needs_linearmodels
def test_linearmodels_random_effects_balanced_equals_plm() -> None:
    got, ref = _peer("linearmodels", "re_swar_balanced")
    # Swamy-Arora on a balanced panel: closed form on both sides (quasi-demeaned least squares)
    for q in ("coef", "se", "theta"):
        _assert_close(got[q], ref[q], 1e-10)
    assert abs(got["sigma2_unit"].values[0] - ref["sigma2_unit"].values[0]) < 1e-10  # closed form


@needs_linearmodels
def test_linearmodels_clustered_random_effects_is_the_known_df_departure() -> None:
    got, ref = _peer("linearmodels", "re_swar_balanced_cr1")
    se_ratio2 = (_by_label(got["se"]) / _by_label(ref["se"])) ** 2
    # linearmodels n/(n-k) against plm's G/(G-1) (n-1)/(n-k): n = 240, G = 40, exact ratio
    assert np.allclose(se_ratio2, 240 * 39 / (40 * 239), rtol=0, atol=1e-12)
    explained = explain("linearmodels", get_case("re_swar_balanced_cr1"), "se", ref, got["se"])
    assert explained is not None and explained.startswith("known departure (f)")


@needs_differences
@pytest.mark.parametrize("case_name", ["did_mpdta_nocov_dr_never", "did_panel_weights_dr"])
def test_differences_att_gt_equals_r_did(case_name: str) -> None:
    got, ref = _peer("differences", case_name)
    # the ATT(g,t), their SEs and the event-study aggregation: the propensity-score logit is
    # solved iteratively on both sides (R glm stops at a relative deviance change of 1e-8), so
    # agreement to 1e-8 (not fvdid's 1e-10)
    for q in ("att", "se", "dynamic_att", "dynamic_se", "simple_overall_att"):
        _assert_close(got[q], ref[q], 1e-8)


@needs_differences
def test_differences_group_overall_se_departure_is_reported() -> None:
    results, skipped = run_peers(("differences",), ("did_mpdta_nocov_dr_never",))
    if not results or results[0].status == "skip":
        pytest.skip(results[0].message if results else str(skipped))
    (res,) = results
    by_q = {c.quantity: c for c in res.comparisons}
    assert by_q["att"].passed and by_q["group_att"].passed
    # the overall SE of the group aggregation departs from R did's by ~0.3 %: reported, with a
    # reason (known or "unexplained"), never passed silently
    g = by_q["group_overall_se"]
    assert not g.passed and g.explanation
    assert 1e-5 < g.abs_diff < 1e-3


def test_missing_peer_is_skipped_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "linearmodels", None)  # import linearmodels -> ImportError
    results, skipped = run_peers(("linearmodels",), ("ols_cr1_twfe",))
    assert results == []
    assert "linearmodels is not installed" in skipped["linearmodels"]
    # the ImportError (here its subclass ModuleNotFoundError) is the reason given
    assert "ModuleNotFoundError: import of linearmodels halted" in skipped["linearmodels"]


@needs_linearmodels
def test_peer_without_the_option_says_why() -> None:
    (res,) = run_peers(("linearmodels",), ("ols_hc2_nofe",))[0]
    assert res.status == "skip" and "linearmodels has no HC2" in res.message


def test_tie_departure_is_exactly_two_over_two_to_the_g() -> None:
    case = get_case("boottest_enum_wcr")
    ref = load_golden(case).quantities
    p_r, g = ref["p_value"].values[0], ref["n_clusters"].values[0]
    assert g == 8  # the case enumerates 2^8 sign vectors
    off_by_ties = Labelled(None, np.array([p_r + 2 / 2**g]))
    off_by_three = Labelled(None, np.array([p_r + 3 / 2**g]))
    assert (explain("wildboottest", case, "p_value", ref, off_by_ties) or "").startswith(
        "known departure (a)")
    assert explain("wildboottest", case, "p_value", ref, off_by_three) is None


def test_registry_names_existing_cases_and_fvdid_imports_no_peer() -> None:
    reg = adapters()
    assert {p for p, _ in reg} == {p.name for p in PEERS}
    for _, case_name in reg:
        get_case(case_name)  # raises KeyError for a case that does not exist
    code = ("import sys, fvdid, fvdid.pipeline; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            f"{[p.imports for p in PEERS if p.imports != 'statsmodels']!r} "
            "or m.startswith('parity.peers')]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_linearmodels
def test_cli_peers_runs_one_case(monkeypatch: pytest.MonkeyPatch) -> None:
    res = CliRunner().invoke(app, ["parity", "--peers", "linearmodels", "--case", "ols_cr1_twfe"])
    assert res.exit_code == 0, res.output
    assert "1 case x peer comparisons, 1 matched" in res.output
    bad = CliRunner().invoke(app, ["parity", "--peers", "nopeer"])
    assert bad.exit_code != 0 and "unknown peer" in bad.output
