"""The SRS-like simulator: LAs and go-live dates, the LA × quarter panel, children, outcomes.

One module per thing simulated; each piece is a plain function of a generator, the config and
the arrays it needs (the DGP itself is documented in :mod:`fvdid.simulation.core`, and in
``help(fvdid.simulate)``):

=====================  ======================================================================
module                 contents
=====================  ======================================================================
``config``             :class:`SimConfig`, validation, parsing from mappings
``constants``          fixed covariate distributions, coefficients, COVID and term profiles
``las``                LA table, go-live table, calendar, volumes, LA covariates, ``las`` frame
``latent``             latent index components (FE, trend, COVID, cycles), twins, extract LAs
``rates``              covariate support, intercept calibration, expected LA-quarter rates
``panel``              the LA × quarter aggregate panel (``la_quarter``)
``children``           referrals, covariates, open-referral days, missingness, ``children``
``outcomes``           treatment schedule ``tau``, potential outcomes, effects, ``truth``
``absence``            school terms and absence sessions (``absence_terms``)
``shocks``             named common shocks other than COVID, ``SimulatedData.shocks``
``data``               :class:`SimulatedData`
``core``               :func:`simulate`, which calls the pieces in order
=====================  ======================================================================
"""

from __future__ import annotations

from fvdid.simulation.config import SimConfig
from fvdid.simulation.core import OUTCOMES, simulate
from fvdid.simulation.data import SimulatedData

__all__ = ["OUTCOMES", "SimConfig", "SimulatedData", "simulate"]
