"""wildboottest against the ``boottest`` cases (R: fwildclusterboot::boottest).

``wildboottest.wildboottest.wildboottest(model, B, cluster, param, weights_type, impose_null,
bootstrap_type="11", seed)`` on a ``statsmodels`` OLS of the case's ``formula`` (fixed effects as
``C()`` dummies). wildboottest tests ``r = 0`` only, two-tailed only, without regression weights,
with one clustering and no separate bootstrap cluster; other cases cannot run. With Rademacher
weights and ``2^G <= B`` it enumerates the ``2^G`` sign vectors, as fwildclusterboot does, so
the p-value is compared exactly: see :data:`parity.peers.departures.KNOWN_DEPARTURES` (ties).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from parity.case import Quantity
from parity.peers._common import complete_rows, parse_formula, require

__all__ = ["ADAPTERS", "check_boottest_args"]

_TYPES = {"rademacher": "rademacher", "mammen": "mammen", "webb": "webb", "norm": "norm"}


def check_boottest_args(args: Mapping[str, Any], who: str) -> None:
    """Raise :class:`parity.peers.PeerCannotRun` for a boottest case ``who`` has no option for."""
    require(float(args.get("r", 0.0)) == 0.0, f"{who} tests r = 0 only (case: r = {args['r']})")
    require(args.get("p_val_type", "two-tailed") == "two-tailed",
            f"{who} reports the two-tailed p-value only (case: {args['p_val_type']})")
    require(not args.get("weights"), f"{who} has no regression weights")
    require(isinstance(args["cluster"], str), f"{who} clusters on one variable only")
    require(not args.get("bootcluster"), f"{who} has no separate bootstrap cluster")
    require(args["type"] in _TYPES, f"{who} has no {args['type']} weights")


def _wildboottest(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    import statsmodels.formula.api as smf
    from wildboottest.wildboottest import wildboottest

    check_boottest_args(args, "wildboottest")
    f = parse_formula(args["formula"])
    d = complete_rows(data, args, list(f.variables))
    rhs = " + ".join([f.rhs, *(f"C({c})" for c in f.fe)])
    model = smf.ols(f"{f.y} ~ {rhs}", d)
    kind = args["type"]
    out = wildboottest(model, B=int(args["B"]), cluster=d[args["cluster"]].to_numpy(),
                       param=args["param"], weights_type=kind,
                       impose_null=bool(args["impose_null"]), bootstrap_type="11",
                       seed=int(args["seed"]), show=False, parallel=False)
    row = out.iloc[0]
    t_col = next(c for c in out.columns if "statistic" in c.lower())
    p_col = next(c for c in out.columns if "p-value" in c.lower() or "pvalue" in c.lower())
    return {"t_stat": float(row[t_col]), "p_value": float(row[p_col]),
            "n_clusters": float(np.unique(d[args["cluster"]]).size)}


_CASES = ("boottest_enum_wcr", "boottest_enum_wcu", "boottest_voters_rademacher",
          "boottest_voters_norm", "boottest_enum_greater", "boottest_enum_twfe_wcr")
ADAPTERS = {c: ("wildboottest (WCR/WCU 11)", _wildboottest) for c in _CASES}
