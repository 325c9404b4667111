"""Clean-room pieces checked on their own terms (issue 15).

* the bootstrap confidence interval's ends are the jumps of ``p(r)`` across ``alpha``
  (Roodman et al. 2019: the interval is the set of ``r`` the test does not reject);
* ``r_pretty`` (written from ``?pretty``) chooses the same unit and number of breaks as R's
  ``pretty()``, checked live where ``Rscript`` is on the PATH.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

import fvdid
from fvdid.estimators._cem_coarsen import r_pretty
from parity.registry import get_case
from parity.runner import load_dataset


def _boot(r: float, conf_int: bool) -> fvdid.BoottestResult:
    case = get_case("boottest_enum_wcr")
    a = case.args
    data = load_dataset(case)
    fit = fvdid.ols(a["formula"], data, vcov="CR1", cluster=a["cluster"])
    return fvdid.boottest(
        fit, a["param"], a["cluster"], data=data, B=int(a["B"]), r=r, conf_int=conf_int,
        sign_level=float(a["sign_level"]), seed=int(a["seed"]),
    )


def test_ci_ends_are_where_the_bootstrap_p_crosses_alpha() -> None:
    base = _boot(0.0, True)
    assert base.B < 9999  # full enumeration: p(r) is the same step function at every r
    lo, hi = base.conf_int
    se = abs(base.point_estimate / base.t_stat)
    # the ends are bisected to a cell of 1e-6 se (tol); 1e-5 se either side lies beyond the cell,
    # so one side must be kept (p >= alpha) and the other rejected. uniroot's 10 steps stopped up
    # to 8e-5 away from the jump, which this check would catch.
    step = 1e-5 * se
    for end, outward in ((lo, -1.0), (hi, 1.0)):
        p_in = _boot(end - outward * step, False).p_value
        p_out = _boot(end + outward * step, False).p_value
        assert p_in >= 0.05 > p_out, (end, p_in, p_out)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript (R) is not installed")
def test_r_pretty_agrees_with_r_on_random_ranges(tmp_path) -> None:
    rng = np.random.default_rng(15)
    cases = []
    for i in range(600):
        kind = i % 3
        if kind == 0:
            lo, hi = sorted(rng.normal(0.0, 10.0 ** rng.integers(-3, 6), 2))
        elif kind == 1:
            lo = float(rng.integers(-50, 50))
            hi = lo + float(rng.integers(1, 200))
        else:
            lo, hi = 0.0, float(rng.uniform(0.0, 10.0 ** rng.integers(0, 6)))
        cases.append([float(lo), float(hi), int(rng.integers(1, 40))])
    src, out = tmp_path / "ranges.json", tmp_path / "pretty.json"
    src.write_text(json.dumps(cases))
    script = (
        f'x <- jsonlite::fromJSON("{src}"); '
        "o <- lapply(seq_len(nrow(x)), function(i) pretty(c(x[i, 1], x[i, 2]), n = x[i, 3], "
        f'min.n = 1)); writeLines(jsonlite::toJSON(o, digits = NA), "{out}")'
    )
    run = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        pytest.skip(f"R could not run pretty() (jsonlite missing?): {run.stderr[-200:]}")
    ref = json.loads(out.read_text())
    for (lo, hi, n), want in zip(cases, ref, strict=True):
        got = r_pretty(lo, hi, n, 1)
        want = np.asarray(want, dtype=float)
        assert got.size == want.size, (lo, hi, n, got, want)
        # same unit and grid; the spacing may differ in the last bits (R's seq), hence 1e-14
        # relative to the span of the breaks
        span = want[-1] - want[0]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-14 * span)


def test_r_pretty_documented_examples() -> None:
    # the examples of ?pretty, with their printed results
    def pretty(x, n=5):
        return list(r_pretty(float(min(x)), float(max(x)), n, n // 3))

    assert pretty(range(1, 16)) == [0, 2, 4, 6, 8, 10, 12, 14, 16]
    assert pretty(range(1, 16), n=4) == [0, 5, 10, 15]
    assert pretty([2 * i for i in range(1, 16)]) == [0, 5, 10, 15, 20, 25, 30]
    assert pretty(range(1, 21)) == [0, 5, 10, 15, 20]
    assert pretty(range(1, 21), n=2) == [0, 10, 20]
    assert pretty(range(1, 21), n=10) == list(range(0, 21, 2))
