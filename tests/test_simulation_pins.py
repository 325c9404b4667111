"""Byte pins of the simulated data: ``simulate(seed=0)`` hashed frame by frame.

The pins were taken before the simulator was split into a package (``fvdid/simulation/``), so
the split provably changed no byte of the data every recovery test rests on. A deliberate change
of the data-generating process updates these pins in its own commit and says why in the message.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from fvdid.simulation import SimulatedData, simulate

OVERALL = "f00f7a042e87d0714531b43827915efa28d1a6b2107e1aeda6768044284d458e"
FRAMES = {
    "absence_terms": ((184806, 8), "e52ca2b0d7be84a4fc77168b2155004cc777c1a2470d511cec1950704b52d7b4"),
    "child_effects": ((100000, 7), "1a5a51c3ad5ef7d0793b64abcc4f26b2f96ca15f4a935a07673cdee606373206"),
    "children": ((100000, 34), "67151155798267d221ee299ca5aa565f57681bffc9c719896b65854beb566486"),
    "la_quarter": ((4228, 17), "7f7da0904ef69339f266ce12c96ce96f04db5dca843a8435827ffef67795aa2f"),
    "las": ((151, 32), "2fb582f6c70a33a5db7f17c8ac0d387660686a3fba8535f5f31168cc1036b67f"),
    "truth": ((126, 4), "015e74d8d039706a2aea011f223a6ddaf8b558afcafb77249ae43fa71061b656"),
}


def _update(h: hashlib._Hash, name: str, f: pd.DataFrame) -> None:
    h.update(name.encode())
    h.update(pd.util.hash_pandas_object(f, index=True).to_numpy().tobytes())
    h.update(",".join(map(str, f.columns)).encode())
    h.update(",".join(map(str, f.dtypes)).encode())


def values_hash(f: pd.DataFrame) -> str:
    """SHA-256 of one frame's values (row hashes with the index); names and dtypes are in OVERALL."""
    return hashlib.sha256(pd.util.hash_pandas_object(f, index=True).to_numpy().tobytes()).hexdigest()


def overall_hash(frames: dict[str, pd.DataFrame]) -> str:
    """SHA-256 over the pinned frames in name order."""
    h = hashlib.sha256()
    for name in sorted(frames):
        _update(h, name, frames[name])
    return h.hexdigest()


@pytest.fixture(scope="module")
def sim() -> SimulatedData:
    return simulate(seed=0)


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_frame_pinned(sim: SimulatedData, name: str) -> None:
    shape, digest = FRAMES[name]
    frame = sim.frames()[name]
    assert frame.shape == shape
    assert values_hash(frame) == digest


def test_overall_pinned(sim: SimulatedData) -> None:
    frames = sim.frames()
    pinned = {name: frames[name] for name in FRAMES}
    assert overall_hash(pinned) == OVERALL


def test_the_data_do_not_depend_on_blas_threads() -> None:
    """The same seed gives the same bytes with OpenBLAS on one thread or two (any machine)."""
    import os
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, 'tests'); from test_simulation_pins import "
            "overall_hash; from fvdid.simulation import simulate; "
            "print(overall_hash(simulate(seed=0, n_children=5000).frames()))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=root, env={**os.environ, "OPENBLAS_NUM_THREADS": t}).stdout
           for t in ("1", "2")]
    assert out[0] == out[1] and len(out[0].strip()) == 64
