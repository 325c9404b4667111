"""Pipeline stages: one stage a module, each computing a frozen result from plain inputs and
rendering that result as its appendix section.

Failures are explicit. A stage that cannot run for a *data* reason raises (or meets) a
:class:`DataCondition`, one of the short list :data:`DATA_CONDITIONS`; :func:`attempt` records it
for the appendix and the run goes on. Anything else (a programming error, a bad option, an
inconsistent extract) propagates and stops the run with a non-zero exit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

from fvdid.errors import FvdidInputError

__all__ = ["DATA_CONDITIONS", "DataCondition", "as_data_condition", "attempt"]

T = TypeVar("T")

DATA_CONDITIONS: dict[str, str] = {
    "no_acceptable_match": "a treatment LA has no acceptable comparator LA",
    "no_common_support": "no CEM stratum holds both FV and comparison children",
    "no_convergence": "an iterative fit did not converge on these data within its iterations",
    "separation": "the logit is (quasi-)separated: a term predicts the outcome perfectly",
    "singular_design": "the design matrix is singular on these data (a term without variation)",
    "too_few_clusters": "too few LAs (clusters or units) for the model",
    "insufficient_data": "the data left for the model cannot identify it (too few rows or no variation)",
}
"""The data conditions under which a stage reports 'not done' instead of failing the run."""


class DataCondition(Exception):
    """A stage cannot run on these data; ``kind`` is a key of :data:`DATA_CONDITIONS`."""

    def __init__(self, kind: str, detail: str) -> None:
        if kind not in DATA_CONDITIONS:
            raise ValueError(f"unknown data condition {kind!r}; expected one of {sorted(DATA_CONDITIONS)}")
        self.kind = kind
        self.detail = detail
        super().__init__(f"{DATA_CONDITIONS[kind]}: {detail}")


def as_data_condition(exc: BaseException) -> DataCondition | None:
    """The data condition an estimator's exception stands for, or None (then it propagates)."""
    from fvdid.estimators.logit import SeparationError

    if isinstance(exc, DataCondition):
        return exc
    if isinstance(exc, SeparationError):
        return DataCondition("separation", str(exc))
    if isinstance(exc, np.linalg.LinAlgError):
        return DataCondition("singular_design", str(exc))
    if isinstance(exc, FvdidInputError) and _raised_in_estimator(exc):
        # An estimator rejecting the data a stage built from the extract (no residual df, no
        # complete rows, ...); the stages validate their own options before they call one.
        return DataCondition("insufficient_data", str(exc))
    return None


def _raised_in_estimator(exc: BaseException) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_globals.get("__name__", "")
        tb = tb.tb_next
    return bool(last) and str(last).startswith("fvdid.estimators.")


def attempt(notes: list[str], label: str, fn: Callable[[], T]) -> T | None:
    """Run one analysis; a data condition is recorded in ``notes`` (for the appendix).

    Only the conditions of :data:`DATA_CONDITIONS` (and the estimator exceptions that stand for
    them: quasi-separation, a singular design, an estimator's rejection of the data it was
    given) are caught; every other exception propagates.
    """
    try:
        return fn()
    except Exception as exc:
        cond = as_data_condition(exc)
        if cond is None:
            raise
        notes.append(f"{label} not done ({cond.kind}): {exc}")
        return None
