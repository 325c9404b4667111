"""diff-diff (PyPI ``diff-diff``) against the ``bacon`` cases (R: bacondecomp::bacon).

``diff_diff.BaconDecomposition().fit(data, outcome, unit, time, first_treat)`` with
``first_treat`` the first period a unit is treated (0 never). Its 2x2s are labelled as the case:
``"treated:control"`` by timing group, 99999 for never treated; its comparison types map to
bacondecomp's names. diff-diff has no covariate-adjusted decomposition: those cases cannot run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from parity.case import Quantity
from parity.compare import label_str
from parity.peers._common import require

__all__ = ["ADAPTERS"]

_TYPES = {
    "treated_vs_never": "Treated vs Untreated",
    "earlier_vs_later": "Earlier vs Later Treated",
    "later_vs_earlier": "Later vs Earlier Treated",
}
_NEVER = 99999


def _bacon(data: pd.DataFrame, args: Mapping[str, Any]) -> dict[str, Quantity]:
    from diff_diff import BaconDecomposition

    require(not args.get("covariates"), "diff-diff's BaconDecomposition has no covariates")
    for col, val in (args.get("subset") or {}).items():
        data = data[data[col].isin(val if isinstance(val, list) else [val])]
    unit, time, treat = args["unit"], args["time"], args["treatment"]
    first = data[data[treat] == 1].groupby(unit)[time].min()
    d = data.assign(peer_first_treat=data[unit].map(first).fillna(0))
    res = BaconDecomposition().fit(d, outcome=args["y"], unit=unit, time=time,
                                   first_treat="peer_first_treat")

    def code(g: Any) -> str:
        return str(_NEVER) if g == "never_treated" else label_str(g)

    rows = pd.DataFrame(
        [{"label": f"{code(c.treated_group)}:{code(c.control_group)}",
          "type": _TYPES.get(c.comparison_type, c.comparison_type),
          "estimate": c.estimate, "weight": c.weight} for c in res.comparisons]
    )
    by = rows.groupby("type")
    return {
        "estimate": pd.Series(rows["estimate"].to_numpy(), index=rows["label"]),
        "weight": pd.Series(rows["weight"].to_numpy(), index=rows["label"]),
        "summary_weight": by["weight"].sum(),
        "summary_estimate": by.apply(lambda g: (g["estimate"] * g["weight"]).sum()
                                     / g["weight"].sum()),
        "n_by_type": by.size().astype(float),
        "twfe": float(res.twfe_estimate),
    }


_CASES = ("bacon_castle", "bacon_math_reform", "bacon_divorce", "bacon_la_quarter",
          "bacon_la_quarter_yq", "bacon_castle_cov")
ADAPTERS = {c: ("BaconDecomposition", _bacon) for c in _CASES}
