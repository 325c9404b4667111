"""The ``fvdid`` command: ``run``, ``simulate``, ``parity``, ``montecarlo``."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from fvdid.errors import FvdidInputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Matched difference-in-differences evaluation of Family Valued, with R parity.",
    pretty_exceptions_enable=False,
)

N_STAGES = 7


def _fail(msg: str, code: int = 2) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


def _clock(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}"


class _StageLog:
    """Progress for a log: when a stage ends, one line with its number, label and elapsed time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 echo: Callable[[str], None] | None = None) -> None:
        self._clock = clock
        self._echo = echo or (lambda line: typer.echo(line))
        self._t0 = clock()
        self._stage: tuple[str, float] | None = None
        self._n = 0

    def start(self, label: str) -> None:
        """Called by the pipeline as each stage starts: closes the previous stage's line."""
        self._close()
        self._n += 1
        self._stage = (label, self._clock())

    def _close(self) -> None:
        if self._stage is not None:
            label, t = self._stage
            self._echo(f"[{self._n}/{N_STAGES}] {label}: {_clock(self._clock() - t)}")
            sys.stdout.flush()
            self._stage = None

    def finish(self) -> None:
        """Closes the last stage and prints the total."""
        self._close()
        self._echo(f"done {_clock(self._clock() - self._t0)}")


@app.command()
def run(
    out: Annotated[Path, typer.Option("--out", help="Folder for the appendix and results.")],
    data: Annotated[Path | None, typer.Option("--data", help="Extract folder (children, las, la_quarter as CSV/Parquet/.dta). Default: simulate.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML or JSON file of options.")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="Column-mapping file (TOML/JSON) for a real extract.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (simulator, imputations, bootstrap).")] = None,
    n_children: Annotated[int | None, typer.Option("--n-children", help="Size of the simulated extract.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    montecarlo: Annotated[Path | None, typer.Option("--montecarlo", help="Folder of a Monte Carlo study (fvdid montecarlo --out DIR): its size table decides the recommended inference.")] = None,
) -> None:
    """Run the analysis end to end and write appendix.html, appendix.md and results.json."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from fvdid.config import load_config
    from fvdid.pipeline import run as run_pipeline

    try:
        cfg = load_config(config, seed=seed, n_children=n_children)
        if quiet or not cfg.progress:
            res = run_pipeline(cfg, data=data, mapping=mapping, out_dir=out, montecarlo=montecarlo)
        elif not sys.stdout.isatty():  # piped to a log: one line per stage, with its time
            log = _StageLog()
            res = run_pipeline(cfg, data=data, mapping=mapping, out_dir=out, progress=log.start,
                                   montecarlo=montecarlo)
            log.finish()
        else:
            with Progress(
                TextColumn("[bold]fvdid run[/bold]"), BarColumn(), TextColumn("{task.description}"),
                TimeElapsedColumn(), transient=False,
            ) as bar:
                task = bar.add_task("starting", total=N_STAGES)

                def step(label: str) -> None:
                    bar.update(task, advance=1 if bar.tasks[0].description != "starting" else 0,
                               description=label)

                res = run_pipeline(cfg, data=data, mapping=mapping, out_dir=out, progress=step, montecarlo=montecarlo)
                bar.update(task, completed=N_STAGES, description="done")
    except FvdidInputError as exc:
        _fail(str(exc))
        return
    p = res.primary
    from fvdid.stages.estimate import headline_sentence

    typer.echo(headline_sentence(p))
    typer.echo(
        f"  {p.headline_model} model by the protocol's rule: "
        + (f"pair-level t({p.df:.0f}) p={p.p_value:.3g}, "
           if p.headline_inference == "IM_pairs_tq-1" else "")
        + f"CR1 t({p.n_clusters - 1}) p={p.headline_cr1_p_value:.3g}; linear CR2 "
        f"p={p.cr2_p_value:.3g}, wild bootstrap (WCR) p={p.boot_p_value:.3g}; on {p.n_clusters} LAs"
    )
    for k, v in res.paths.items():
        typer.echo(f"wrote {k}: {v}")


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the tables into.")],
    seed: Annotated[int, typer.Option("--seed")] = 0,
    n_children: Annotated[int, typer.Option("--n-children")] = 100_000,
    fmt: Annotated[str, typer.Option("--format", help="Comma-separated: parquet,csv")] = "parquet,csv",
) -> None:
    """Simulate an SRS-like extract and write it (Parquet and CSV)."""
    from fvdid.simulation import simulate as sim

    formats = tuple(f.strip() for f in fmt.split(",") if f.strip())
    bad = sorted(set(formats) - {"parquet", "csv"})
    if bad:
        _fail(f"--format accepts parquet and csv, got {bad}")
    try:
        res = sim(seed=seed, n_children=n_children)
    except FvdidInputError as exc:
        _fail(str(exc))
        return
    for paths in res.write(out, formats=formats).values():
        for p in paths:
            typer.echo(f"wrote {p}")


@app.command()
def parity(
    live: Annotated[bool, typer.Option("--live", help="Call R now (rpy2) and check the golden files.")] = False,
    replay: Annotated[bool, typer.Option("--replay", help="Compare with the golden files (default).")] = False,
    record: Annotated[bool, typer.Option("--record", help="Rewrite the golden files from R.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write parity.html/.md/.json here.")] = None,
    case: Annotated[list[str] | None, typer.Option("--case", help="Only these cases.")] = None,
    family: Annotated[list[str] | None, typer.Option("--family", help="Only these families.")] = None,
    peers: Annotated[bool, typer.Option("--peers", help="Compare the Python peers (PEER ...) with R; writes parity/PEERS.md.")] = False,
    peer_names: Annotated[list[str] | None, typer.Argument(metavar="[PEER]...", help="With --peers: only these peers.", show_default=False)] = None,
) -> None:
    """Compare every estimator with its R reference and print the parity report."""
    if sum([live, replay, record]) > 1:
        _fail("choose one of --live, --replay, --record")
    if peer_names and not peers:
        _fail("peer names are only read with --peers")
    if peers:
        try:
            from parity.peers.report import run_and_report
        except ImportError:
            _fail("the parity framework ships with the repository: run from a clone (pip install -e .)")
            return
        try:
            code = run_and_report(tuple(peer_names or ()), tuple(case or ()), tuple(family or ()),
                                  out, echo=typer.echo)
        except FvdidInputError as exc:
            _fail(str(exc))
            return
        raise typer.Exit(code)
    try:
        from parity.report import report_frame, run_all, summary_counts, write_report
    except ImportError:
        _fail("the parity framework ships with the repository: run from a clone (pip install -e .)")
        return
    mode = "live" if live else "record" if record else "replay"
    try:
        results = run_all(mode, case or (), family or (), progress=sys.stderr.isatty())
    except FvdidInputError as exc:
        _fail(str(exc))
        return
    from parity.report import scrub_paths, skip_summary

    frame = report_frame(results)
    with __import__("pandas").option_context(
        "display.width", 200, "display.max_rows", 2000, "display.max_colwidth", 120
    ):
        typer.echo(frame.to_string(index=False))
    c = summary_counts(results)
    if out:
        for k, p in write_report(results, out).items():
            typer.echo(f"wrote {k}: {scrub_paths(str(p))}")
    typer.echo(f"parity {mode}: {c['pass']} passed, {c['fail']} failed, {c['skip']} skipped")
    for why, names in skip_summary(results):
        typer.echo(f"skipped {len(names)}: {why}")
    if c["fail"]:
        raise typer.Exit(1)


def _replicate(kind: str, kinds: dict[str, Any], primary_only: bool, config: Path | None,
               robustness: bool = True, checks: bool = True) -> Any:
    """The replication callable of ``fvdid montecarlo``: its run options checked up front."""
    if kind != "analysis":
        return kinds[kind]()
    opts: dict[str, Any] = {}
    if config is not None:
        from fvdid.config import RunConfig, read_options

        opts = dict(read_options(config))
        RunConfig.from_mapping(opts)  # unknown or ill-typed options fail before any replication
    return kinds[kind](run_options=tuple(sorted(opts.items())), secondary=not primary_only,
                       sensitivity=not primary_only, robustness=robustness, checks=checks)


@app.command()
def montecarlo(
    out: Annotated[Path, typer.Option("--out", help="Folder of the study (replications, summary, report).")],
    reps: Annotated[int, typer.Option("--reps", help="Replications per effect scenario.")] = 500,
    design: Annotated[Path | None, typer.Option("--design", help="TOML: SimConfig fields plus n_children.")] = None,
    effects: Annotated[str, typer.Option("--effects", help="Comma-separated: null,design.")] = "null,design",
    effect_grid: Annotated[str | None, typer.Option("--effect-grid", help="Primary-outcome effects a:b:k (power curves).")] = None,
    methods: Annotated[str | None, typer.Option("--methods", help="Comma-separated inference methods to keep (default: all).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="tcp://host:port of a dask scheduler (default: a local cluster).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Local workers (default: the machine's cores).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Master seed of the replication seeds.")] = 0,
    replication: Annotated[str, typer.Option("--replication", help="analysis (the lean analysis path) or textbook (OLS with known answers: a check of the engine).")] = "analysis",
    primary_only: Annotated[bool, typer.Option("--primary-only", help="Analyse the primary outcome alone (no secondary outcomes, no sensitivity analyses).")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="TOML of run options for every replication's analysis (e.g. n_imputations, boot_B).")] = None,
    robustness: Annotated[bool, typer.Option("--robustness/--no-robustness", help="Fit the robustness models (FGLS random effects, tobit, hurdle, LMM) in every replication.")] = True,
    checks: Annotated[bool, typer.Option("--checks/--no-checks", help="Fit the primary's specification checks (the protocol-literal pooled specification, the logit with the other period terms, the LA matching's extract check) in every replication; --no-checks studies the headline's inference alone.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display.")] = False,
) -> None:
    """Monte Carlo study of the analysis on its own design; resumes when run again."""
    from fvdid.montecarlo.replication import AnalysisReplication, TextbookReplication
    from fvdid.montecarlo.study import montecarlo as run_study

    replicates = {"analysis": AnalysisReplication, "textbook": TextbookReplication}
    if replication not in replicates:
        _fail(f"--replication accepts {sorted(replicates)}, got {replication!r}")
    meths = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    try:
        res = run_study(out, reps=reps, design=design, effects=effects, effect_grid=effect_grid,
                        methods=meths, scheduler=scheduler, workers=workers, seed=seed,
                        replicate=_replicate(replication, replicates, primary_only, config, robustness,
                                             checks),
                        progress=False if quiet else None)
    except FvdidInputError as exc:
        _fail(str(exc))
        return
    r = res.run
    typer.echo(f"{r.n_run} replications run ({r.reps_per_second:.2f}/s on {r.workers} worker(s)), "
               f"{r.n_skipped} already saved, {r.n_failed} failed")
    for k, v in res.paths.items():
        typer.echo(f"wrote {k}: {v}")


if __name__ == "__main__":  # pragma: no cover
    app()
