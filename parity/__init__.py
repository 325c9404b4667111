"""Parity framework: every fvdid number against its R reference, with provenance.

See CONTRIBUTING.md ("Parity cases") for the case contract.
"""

from parity.case import Case, Quantity, Tol
from parity.compare import Labelled, label_str

__all__ = ["Case", "Labelled", "Quantity", "Tol", "label_str"]
