"""Benchmarks of fvdid against the R references and the Python peers (``python -m bench``).

See :mod:`bench.harness` (the machinery), :mod:`bench.workloads` (datasets, implementations,
targets), ``bench/impl_python.py`` and ``bench/impl_r/`` (one process per implementation) and
``bench/setup_peers.sh`` (the separate venv of the Python peers). The per-estimator scripts
``bench/bench_*.py`` are the estimator developers' own quick checks.
"""
