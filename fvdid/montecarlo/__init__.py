"""Monte Carlo validation of the analysis on its own design (issue 20).

``fvdid.montecarlo`` is the function (:func:`fvdid.montecarlo.study.montecarlo`); the modules of
this package stay importable with ``from fvdid.montecarlo.engine import run_study``:

``design``       the TOML design and the effect scenarios (null, design, a grid)
``replication``  replication callables (the lean analysis path; a textbook OLS check)
``engine``       dask.distributed runner: spawned seeds, one Parquet file per replication, resume
``summary``      bias, RMSE, coverage, rejection rate, each with its Monte Carlo SE
``report``       montecarlo.html / .md, :func:`size_table`, :func:`recommended_methods`
"""

from __future__ import annotations

from fvdid.montecarlo.report import recommended_methods, simulation_mdes, size_table
from fvdid.montecarlo.study import MonteCarloResult, montecarlo
from fvdid.montecarlo.summary import summarise

__all__ = ["MonteCarloResult", "montecarlo", "recommended_methods", "simulation_mdes",
           "size_table", "summarise"]
