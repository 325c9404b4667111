"""fvdid: the matched difference-in-differences evaluation of Family Valued, with R parity.

Public functions (one estimator per module, each returning a frozen result):

``simulate``, ``ols``, ``random_effects``, ``logit``, ``clogit``, ``tobit``, ``hurdle``, ``lmer``,
``hochberg``, ``rubin``, ``cem``, ``l1_imbalance``, ``att_gt``, ``aggte``, ``bacon``, ``boottest``,
``match_las``, and ``run`` (the main job).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from fvdid.errors import FvdidInputError

# (module, names): each module's public function(s). Imported eagerly so that ``fvdid.ols`` is the
# function, not the module of the same name.
_PUBLIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("simulate", ("simulate", "SimulatedData", "SimConfig")),
    ("ols", ("ols",)),
    ("random_effects", ("random_effects",)),
    ("logit", ("logit",)),
    ("clogit", ("clogit",)),
    ("tobit", ("tobit",)),
    ("hurdle", ("hurdle",)),
    ("lmer", ("lmer",)),
    ("hochberg", ("hochberg",)),
    ("rubin", ("rubin",)),
    ("cem", ("cem",)),
    ("imbalance", ("l1_imbalance",)),
    ("att_gt", ("att_gt",)),
    ("aggte", ("aggte",)),
    ("bacon", ("bacon",)),
    ("boottest", ("boottest",)),
    ("match_las", ("match_las",)),
    ("pipeline", ("run",)),
)

__all__ = ["FvdidInputError", "__version__"]
for _mod, _names in _PUBLIC:
    try:
        _m = importlib.import_module(f"fvdid.{_mod}")
    except ImportError as _exc:  # DEVELOPMENT ONLY: modules still being written
        if getattr(_exc, "name", "") != f"fvdid.{_mod}":
            raise
        continue
    for _n in _names:
        globals()[_n] = getattr(_m, _n)
        __all__.append(_n)
del _mod, _names
