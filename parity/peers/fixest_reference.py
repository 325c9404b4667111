"""A second R reference for the OLS cases clustered on a fixed effect: R's fixest.

The golden files of the ``ols`` cases come from ``lm`` + ``sandwich``. fixest (whose conventions
pyfixest follows) computes the CR1 small-sample factor differently when the cluster is also a
fixed effect (departure "d" of :data:`parity.peers.departures.KNOWN_DEPARTURES`). To show that
pyfixest's departure is fixest's convention, not an error, this module records fixest's own
numbers for those cases into ``parity/peers/fixest_reference.json``:

    R_LIBS=/opt/rlib python -m parity.peers.fixest_reference

(R with fixest installed by hand; fixest's code is not part of the repository). The JSON keeps
the R and fixest versions. Each case is run on the rows the R script of the ``ols`` family uses.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from parity.peers._common import complete_rows, parse_formula

__all__ = ["CASES", "REFERENCE_PATH", "load_reference", "record"]

REFERENCE_PATH = Path(__file__).with_name("fixest_reference.json")
CASES = ("ols_cr1_twfe", "ols_cr1_twfe_w", "ols_cr1_few_w", "ols_cr1_singletons",
         "ols_cr1_2way", "ols_cr1_2way_w")

_R = r"""
args <- commandArgs(TRUE)
spec <- jsonlite::fromJSON(args[1], simplifyVector = TRUE)
d <- utils::read.csv(args[2])
cl <- stats::as.formula(paste("~", paste(spec$cluster, collapse = " + ")))
w <- if (is.null(spec$weights)) NULL else stats::as.formula(paste("~", spec$weights))
fit <- fixest::feols(stats::as.formula(spec$formula), data = d, cluster = cl, weights = w,
                     fixef.rm = "none", fixef.tol = 1e-10)
b <- stats::coef(fit)
se <- fixest::se(fit)
out <- list(coef = list(labels = names(b), values = unname(b)),
            se = list(labels = names(se), values = unname(se[names(b)])),
            nobs = stats::nobs(fit),
            r_version = R.version.string,
            fixest = as.character(utils::packageVersion("fixest")))
cat(jsonlite::toJSON(out, digits = NA, auto_unbox = TRUE))
"""


def _run(case_name: str) -> dict[str, Any]:
    from parity.registry import get_case
    from parity.runner import load_dataset

    case = get_case(case_name)
    args = dict(case.args)
    f = parse_formula(args["formula"])
    d = complete_rows(load_dataset(case), args, list(f.variables))
    cluster = args["cluster"] if isinstance(args["cluster"], list) else [args["cluster"]]
    spec = {"formula": args["formula"], "cluster": cluster, "weights": args.get("weights")}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        d.to_csv(csv, index=False)
        script = Path(tmp) / "fixest.R"
        script.write_text(_R)
        proc = subprocess.run(["Rscript", str(script), json.dumps(spec), str(csv)],
                              capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"fixest failed on {case_name}: {proc.stderr[-500:]}")
    return json.loads(proc.stdout)


def record() -> Path:
    """Run fixest on :data:`CASES` and write :data:`REFERENCE_PATH`."""
    if shutil.which("Rscript") is None:
        raise RuntimeError("Rscript is not on the PATH")
    cases = {c: _run(c) for c in CASES}
    first = next(iter(cases.values()))
    doc = {
        "generator": "R_LIBS=/opt/rlib python -m parity.peers.fixest_reference",
        "r_version": first.pop("r_version"),
        "fixest": first.pop("fixest"),
        "call": "fixest::feols(formula, cluster = ~c1 + c2, weights = ~w, fixef.rm = 'none', "
                "fixef.tol = 1e-10), default ssc()",
        "cases": {k: {q: v[q] for q in ("coef", "se", "nobs")} for k, v in cases.items()},
    }
    REFERENCE_PATH.write_text(json.dumps(doc, indent=1) + "\n")
    return REFERENCE_PATH


def load_reference() -> dict[str, Any] | None:
    """The recorded fixest reference, or None when it was never recorded."""
    if not REFERENCE_PATH.exists():
        return None
    return json.loads(REFERENCE_PATH.read_text())


if __name__ == "__main__":
    print(record())
    sys.exit(0)
