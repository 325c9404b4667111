"""Stage ``parity``: replay of every parity case against its golden file, for the appendix.

The appendix shows one summary row per case; the comparisons of every case are collapsed under
it and written in full to ``parity.html`` beside the appendix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fvdid.reporting.appendix import AppendixTable, Section

__all__ = ["parity_by_case", "parity_section", "parity_summary", "peers_summary"]


def parity_summary() -> pd.DataFrame:
    """The parity report frame (case × quantity × |diff| × tolerance × pass), replay mode."""
    from parity.report import report_frame, run_all

    return report_frame(run_all("replay"))


def _status(s: pd.Series) -> str:
    vals = set(s)
    return "fail" if "fail" in vals else "pass" if vals <= {"pass"} else "skip" if vals <= {"skip"} else "pass/skip"


def parity_by_case(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per case: family, comparisons, how many failed, the largest |difference|, status."""
    rows = []
    for case, g in frame.groupby("case", sort=False):
        compared = g[g["quantity"].astype(str) != ""]
        diffs = pd.to_numeric(compared["max_abs_diff"], errors="coerce").to_numpy(dtype=float)
        diffs = diffs[np.isfinite(diffs)]
        rows.append({
            "case": case, "family": g["family"].iloc[0],
            "quantities compared": len(compared),
            "failed": int((compared["pass"] == "fail").sum()),
            "largest |difference|": float(diffs.max()) if len(diffs) else np.nan,
            "status": _status(g["pass"]),
            "reason": "; ".join(sorted({str(r) for r in g["reason"] if str(r)} if g["pass"].ne("pass").any() else set())),
        })
    return pd.DataFrame(rows, columns=["case", "family", "quantities compared", "failed",
                                       "largest |difference|", "status", "reason"])


def peers_summary() -> pd.DataFrame | None:
    """Per Python peer: case comparisons run and matched, from the committed peers results.

    Reads ``parity/peers/results.json`` (written by ``fvdid parity --peers``); never runs a peer.
    None when the file (or the parity framework) is absent.
    """
    try:
        from parity.peers.report import load_results
    except ImportError:
        return None
    doc = load_results()
    if not doc or not doc.get("results"):
        return None
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for r in doc["results"]:
        n = counts.setdefault((r["peer"], r["version"]),
                              {"cases run": 0, "matched": 0, "departed": 0, "explained": 0})
        if r["status"] == "skip":
            continue
        n["cases run"] += 1
        n["matched" if r["status"] == "pass" else "departed"] += 1
        fails = [c for c in r["comparisons"] if not c["passed"]]
        n["explained"] += bool(fails) and all(
            c["explanation"].startswith("known departure") for c in fails)
    rows = [{"peer": p, "version": v, **n} for (p, v), n in counts.items()]
    return pd.DataFrame(rows)


def parity_section(frame: pd.DataFrame) -> Section:
    """The appendix section of the parity report."""
    cases = parity_by_case(frame)
    compared = frame[frame["quantity"].astype(str) != ""]
    n_fail = int((compared["pass"] == "fail").sum())
    n_case_fail = int((cases["status"] == "fail").sum())
    skipped = cases[cases["status"] == "skip"]
    text = (
        f"Replay of every parity case against its golden file: {len(cases):,} cases, "
        f"{len(compared):,} comparisons; {n_fail:,} comparisons in {n_case_fail:,} cases fail"
    )
    if len(skipped):
        by_reason = skipped.groupby("reason", sort=True)["case"].count()
        why = "; ".join(f"{n} because {reason}" for reason, n in by_reason.items())
        text += (
            f"; {len(skipped):,} cases were skipped and not compared ({why}). "
            "With R and the packages installed, `fvdid parity` exports the R packages' data sets "
            "into ~/.cache/fvdid/r-data and runs them"
        )
    else:
        text += "; no case was skipped"
    paragraphs = [text + ". `fvdid parity --live` re-runs them against R."]
    tables = [AppendixTable("parity_cases", "Parity by case (replay)", cases),
              AppendixTable("parity", "Parity report (replay): every comparison", frame,
                            collapsed=True, page="parity")]
    peers = peers_summary()
    if peers is not None:
        paragraphs.append(
            f"The Python peers against the same golden files (parity/PEERS.md, from "
            f"`fvdid parity --peers`): {int(peers['cases run'].sum()):,} case × peer comparisons, "
            f"{int(peers['matched'].sum()):,} matched; of the {int(peers['departed'].sum()):,} "
            f"that depart, {int(peers['explained'].sum()):,} are known departures. fvdid's "
            "numbers do not depend on them.")
        tables.insert(1, AppendixTable("parity_peers", "Python peers against R", peers))
    return Section("Parity with the R references", tuple(paragraphs), tuple(tables))
