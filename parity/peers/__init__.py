"""Three-way parity: the Python ecosystem's packages (the *peers*) against the R references.

Each peer has one module here (``parity/peers/<peer>.py``) with a few adapter functions: an
adapter takes a parity case's dataset and literal ``args`` (the same ones the R script and
fvdid read), calls the peer, and returns the case's quantities by label, like a case's
``fvdid`` callable. It returns only the quantities the peer computes; those are compared with
the golden file's R values under the case's own tolerances (:mod:`parity.peers.runner`).

An adapter raises :class:`PeerCannotRun` (with the reason) when the peer has no equivalent of
the case's arguments. A peer that is not installed is skipped with the ``ImportError``.

fvdid itself never imports this package: its results do not depend on any peer.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from parity.case import Quantity

__all__ = [
    "PEERS",
    "Adapter",
    "Peer",
    "PeerCannotRun",
    "adapters",
    "peer_unavailable",
    "peer_version",
]

AdapterFn = Callable[[pd.DataFrame, Mapping[str, Any]], Mapping[str, Quantity]]


class PeerCannotRun(Exception):
    """The peer has no equivalent of this case's arguments; the message says why."""


@dataclass(frozen=True)
class Peer:
    """A Python package compared with R: its adapter module, import name and PyPI name."""

    name: str
    module: str
    imports: str
    dist: str


PEERS: tuple[Peer, ...] = (
    Peer("linearmodels", "parity.peers.linearmodels", "linearmodels", "linearmodels"),
    Peer("differences", "parity.peers.differences", "differences", "differences"),
    Peer("statsmodels", "parity.peers.statsmodels", "statsmodels", "statsmodels"),
    Peer("pyfixest", "parity.peers.pyfixest", "pyfixest", "pyfixest"),
    Peer("wildboottest", "parity.peers.wildboottest", "wildboottest", "wildboottest"),
    Peer("csdid", "parity.peers.csdid", "csdid", "csdid"),
    Peer("diff_diff", "parity.peers.diff_diff", "diff_diff", "diff-diff"),
    Peer("cem", "parity.peers.cem", "cem", "cem"),
)


@dataclass(frozen=True)
class Adapter:
    """One peer's implementation of one parity case.

    ``estimator`` names the peer's function (for PEERS.md); ``fn(data, args)`` returns the
    quantities the peer computes, by the case's labels.
    """

    peer: str
    case: str
    estimator: str
    fn: AdapterFn


def peer_unavailable(peer: Peer) -> str | None:
    """None when ``peer`` imports; otherwise the reason (the ImportError) it is skipped."""
    try:
        importlib.import_module(peer.imports)
    except ImportError as exc:
        return f"{peer.dist} is not installed ({type(exc).__name__}: {exc}); pip install '.[peers]'"
    return None


def peer_version(peer: Peer) -> str:
    """The installed version of the peer's distribution ('' when absent)."""
    from importlib import metadata

    try:
        return metadata.version(peer.dist)
    except metadata.PackageNotFoundError:
        return ""


def adapters(names: tuple[str, ...] = ()) -> dict[tuple[str, str], Adapter]:
    """The registry ``(peer, case) -> Adapter`` of the peers named (all when none).

    The adapter modules import their peer lazily (inside the functions), so the registry is
    complete whether or not the peers are installed.
    """
    known = {p.name: p for p in PEERS}
    unknown = sorted(set(names) - set(known))
    if unknown:
        from fvdid.errors import FvdidInputError

        raise FvdidInputError(f"unknown peer(s) {unknown}; the peers are {sorted(known)}")
    out: dict[tuple[str, str], Adapter] = {}
    for p in PEERS:
        if names and p.name not in names:
            continue
        mod = importlib.import_module(p.module)
        for case, (estimator, fn) in mod.ADAPTERS.items():
            out[(p.name, case)] = Adapter(p.name, case, estimator, fn)
    return out
