"""``fvdid.montecarlo()``: run (or resume) a Monte Carlo study, summarise it, write its report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError
from fvdid.montecarlo.design import Design, load_design, parse_grid, scenarios
from fvdid.montecarlo.engine import Replicate, StudyRun, load_replications, run_study
from fvdid.montecarlo.replication import AnalysisReplication
from fvdid.montecarlo.report import write_report
from fvdid.montecarlo.summary import summarise

__all__ = ["MonteCarloResult", "montecarlo"]


@dataclass(frozen=True)
class MonteCarloResult(ResultMixin):
    """A study's summary (one row per effect × outcome × estimator × method) and its files."""

    out_dir: Path
    table: pd.DataFrame = field(repr=False)  # summary.parquet (``summary()`` is the text form)
    run: StudyRun
    complete: bool
    n_replication_rows: int
    paths: dict[str, Path] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        return self.table


def montecarlo(
    out: str | Path,
    *,
    reps: int = 500,
    design: str | Path | Mapping[str, Any] | Design | None = None,
    effects: str | Sequence[str] = ("null", "design"),
    effect_grid: str | Sequence[float] | None = None,
    methods: Sequence[str] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    seed: int = 0,
    replicate: Replicate | None = None,
    alpha: float = 0.05,
    primary_outcome: str | None = None,
    progress: bool | None = None,
    progress_every: int = 10,
    stop_after: int | None = None,
    report: bool = True,
    client: Any = None,
) -> MonteCarloResult:
    """Monte Carlo validation of the analysis on its own design.

    Every replication simulates an extract of ``design`` under an effect scenario and analyses it
    (``replicate``; default the lean analysis path, :class:`AnalysisReplication`). Replications
    are saved one by one under ``out/replications`` and a study run again resumes where it
    stopped (see :mod:`fvdid.montecarlo.engine`). Writes ``out/summary.parquet`` and, with
    ``report``, ``out/montecarlo.html`` and ``out/montecarlo.md``.

    Parameters
    ----------
    out
        The study's folder.
    reps
        Replications per effect scenario.
    design
        A TOML file, a mapping or a :class:`Design` (keys: ``n_children`` and the ``SimConfig``
        fields); ``None``: the default design.
    effects, effect_grid
        Named scenarios (``"null"``, ``"design"``) and a grid of primary-outcome effects
        (``"a:b:k"`` or values) for power curves.
    methods
        Keep only these inference methods.
    scheduler, workers, client
        Where to run: see :func:`fvdid.montecarlo.engine.run_study`.
    seed
        The master seed (replication seeds are spawned from it).
    alpha
        Test level of the rejection rates.
    primary_outcome
        Outcome of the power curves and the MDES (default ``looked_after_18m`` when present,
        else the first outcome).
    progress, progress_every, stop_after
        Progress display; stop after this many new replications (an interrupted run).
    """
    d = design if isinstance(design, Design) else (
        Design.from_mapping(design) if isinstance(design, Mapping) else load_design(design))
    scs = scenarios(effects, parse_grid(effect_grid))
    rep = replicate if replicate is not None else AnalysisReplication()
    outp = Path(out)
    run = run_study(outp, rep, d, scs, reps, seed=seed, methods=methods, scheduler=scheduler,
                    workers=workers, client=client, progress=progress,
                    progress_every=progress_every, stop_after=stop_after)
    rows, failures = load_replications(outp)
    if rows.empty and len(failures):
        raise FvdidInputError(
            f"every replication failed ({len(failures)}); the first error:\n{failures['error'].iloc[0]}"
        )
    if methods is not None and len(rows):
        absent = sorted(set(methods) - set(rows["method"]))
        if absent:
            raise FvdidInputError(f"method(s) {absent} never reported; the replications report "
                                  f"{sorted(rows['method'].unique())}")
    summary = summarise(rows, alpha=alpha, failures=failures)
    paths = {"replications": outp / "replications", "summary": outp / "summary.parquet"}
    tmp = outp / ".summary.parquet.tmp"
    summary.to_parquet(tmp, index=False)
    tmp.replace(paths["summary"])
    wanted = {sc.label for sc in scs}
    counts = rows.drop_duplicates(["effect", "replication"]).groupby("effect").size()
    complete = all(int(counts.get(label, 0)) + int((failures["effect"] == label).sum()) >= reps
                   for label in wanted)
    if report and len(rows):
        outcomes = list(dict.fromkeys(rows["outcome"]))
        prim = primary_outcome or ("looked_after_18m" if "looked_after_18m" in outcomes else outcomes[0])
        baseline = float(d.config().base_looked_after_18m) if prim == "looked_after_18m" else None
        notes = [f"design: n_children = {d.n_children}, {len(d.sim)} SimConfig override(s); "
                 f"replication: {rep!r}",
                 f"master seed {seed}; {reps} replications per scenario requested; effect "
                 f"scenarios: {', '.join(sc.label for sc in scs)}",
                 f"this run: {run.n_run} replications in {run.seconds:.1f} s on {run.workers} "
                 f"worker(s), {run.n_skipped} already saved" + ("" if complete else
                                                                 "; the study is incomplete")]
        paths.update(write_report(outp, summary, rows, failures, primary_outcome=prim,
                                  alpha=alpha, baseline=baseline, notes=notes))
    return MonteCarloResult(outp, summary, run, complete, len(rows), paths)
