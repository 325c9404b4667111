"""Stage ``parity``: replay of every parity case against its golden file, for the appendix."""

from __future__ import annotations

import pandas as pd

from fvdid.reporting.appendix import AppendixTable, Section

__all__ = ["parity_section", "parity_summary"]


def parity_summary() -> pd.DataFrame:
    """The parity report frame (case × quantity × |diff| × tolerance × pass), replay mode."""
    from parity.report import report_frame, run_all

    return report_frame(run_all("replay"))


def parity_section(frame: pd.DataFrame) -> Section:
    """The appendix section of the parity report."""
    n_fail = int((frame["pass"] == "fail").sum())
    return Section(
        "Parity with the R references",
        (f"Replay of every parity case against its golden file: {len(frame)} comparisons, "
         f"{n_fail} failing. `fvdid parity --live` re-runs them against R.",),
        (AppendixTable("parity", "Parity report (replay)", frame),))
