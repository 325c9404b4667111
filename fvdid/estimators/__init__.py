"""The estimators: one module per estimator with an R reference (see :mod:`fvdid`)."""
