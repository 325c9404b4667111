"""Pins of the simulated data: ``simulate(seed=0)`` frame by frame.

The first pins were byte hashes, taken before the simulator was split into a package
(``fvdid/simulation/``), so the split provably changed no byte of the data every recovery test
rests on. Byte hashes of the floating-point columns do not survive a change of machine: OpenBLAS
picks its matrix kernels by CPU (AVX-512 on one machine, AVX2 only on this one), and the simulator's
matrix products then differ in their last bits (measured here by forcing other OpenBLAS kernels
on one machine: at most 2.4e-14 relative, no discrete value changed). So the pins are now two:

* every column that is not floating point (ids, dates, categories, counts, the 0/1 outcomes)
  is hashed exactly, as before;
* every floating-point column is pinned by its count of missing values (exact) and by four
  sums, ``sum(x)``, ``sum(x**2)`` and two sums weighted by fixed pseudo-random weights, equal to
  the pinned ones within ``1e-10`` of ``sum(|x|)`` (resp. ``sum(x**2)``): ten thousand times the
  kernels' last-bit differences summed over every row, and far below any change of the data-
  generating process, which moves a value by more than rounding. A permutation of the rows
  moves the weighted sums.

The float pins were taken on this project's AVX2 machine from the code whose byte pins had been
taken on another (commit a8babc1; the byte pins of ``children``, ``truth`` and
``absence_terms``, floats included, held on both machines; those of ``child_effects``,
``la_quarter`` and ``las`` did not). A deliberate change of the data-generating process
updates these pins in its own commit and says why in the message.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from fvdid.simulation import SimulatedData, simulate

OVERALL = 'a083d0ae6c0009aafeefaa4467f2ae9d654ce51b88660d102e25f9b84867513b'
FRAMES = {
    'absence_terms': ((184806, 8), 'b6ef62de8ebaa392f31d1cd377de280fff2a1d4faf4df38627d8a731f3c65fc9'),
    'child_effects': ((100000, 7), '9bb1f950e7db1b18d75dd6143e6242909435a4f7bcb8a9e5edbe3d24b5cdcae0'),
    'children': ((100000, 34), '4c6581affc849aa93bbf59b296578da6d3802494c5ddec8be771dc33ab9737eb'),
    'la_quarter': ((4228, 17), '7d42bb0e1757d2239299cf1a5e253d9d7fbe3d7cd9190416d8a9c28dd84cc68d'),
    'las': ((151, 32), '034b4848968202e0d3248806037b4f73412084fe4ffced3f98e16e9c8a464010'),
    'truth': ((126, 4), '27d6118514375da6140eca3c43000595abae2d12081fb268940b0e6519359927'),
}
FLOATS = {
    'absence_terms': {
        'months_since_referral': (0, (1131039.83, 9160008.638500001, 565500.27931647, 565496.0525022388)),
        'rate': (0, (683323.3097788877, 6526205.82494798, 341242.7230226753, 341745.73584349867)),
    },
    'child_effects': {
        'looked_after_18m': (0, (-513.2460745352284, 30.058379986599782, -258.93058277420437, -254.9068959587966)),
        'cpp_12m': (0, (0.0, 0.0, 0.0, 0.0)),
        'days_cpp_cin_18m': (0, (0.0, 0.0, 0.0, 0.0)),
        'kinship_first_placement': (96808, (11.373959069227006, 0.2798748122662733, 5.739285762436871, 5.7502706434198645)),
        'reunified_18m': (97838, (7.376897103757272, 0.16959764913728664, 3.759242131516453, 3.688093675774718)),
        'unauth_absence_rate': (38398, (0.0, 0.0, 0.0, 0.0)),
    },
    'children': {
        'event_time_q': (49305, (28149.0, 642215.0, 14071.874603725504, 14065.77026609052)),
        'disabled': (2980, (7359.0, 7359.0, 3693.314217942301, 3659.3816606132314)),
        'fsm': (4081, (43130.0, 43130.0, 21568.0858132625, 21564.778876401484)),
        'n_prev_cpp': (34339, (14926.0, 24158.0, 7434.039472795092, 7429.378430034965)),
        'prior_cpp': (34339, (11009.0, 11009.0, 5505.518799690995, 5487.058198619634)),
        'la_share_fsm': (0, (45150.1659048819, 21001.955490004584, 22574.64800208499, 22575.658183237498)),
        'la_share_white_british': (0, (74537.06358148303, 57998.04496866362, 37268.730875468624, 37269.09819348563)),
        'looked_after_18m': (988, (3157.0, 3157.0, 1582.9462400709745, 1577.874151828466)),
        'cpp_12m': (968, (12426.0, 12426.0, 6260.410082848743, 6228.834929822944)),
        'days_cpp_cin_18m': (962, (6587250.0, 2083470890.0, 3300387.9948792933, 3292306.5149938017)),
        'kinship_first_placement': (96877, (470.0, 470.0, 239.22404704079963, 232.53211470204405)),
        'reunified_18m': (97884, (584.0, 584.0, 291.6353610805236, 293.880661288742)),
        'unauth_absence_rate': (38398, (226687.66217298107, 2028204.913738735, 113571.06776886564, 113145.79771201644)),
    },
    'la_quarter': {
        'looked_after_18m': (64, (165.85852815979183, 8.612723172977164, 82.58738895281566, 82.62174250759311)),
        'cpp_12m': (64, (540.6127616263374, 78.8005850724088, 270.0534623886493, 269.6995184339846)),
        'days_cpp_cin_18m': (64, (251649.25142450546, 16350300.688859753, 125546.11297840513, 125590.97585307239)),
        'kinship_first_placement': (78, (719.7531588429905, 191.10183825843012, 358.67287831066966, 360.8891447750814)),
        'reunified_18m': (78, (1107.4169221655893, 383.73053527724585, 554.9825403228011, 554.605108321943)),
        'unauth_absence_rate': (64, (17039.69206817591, 77424.08014958893, 8531.935246176918, 8520.736827482522)),
        'la_share_fsm': (0, (1876.8806174578265, 863.5090043221255, 937.7816336583475, 937.5654313677572)),
        'la_share_white_british': (0, (2900.1081270209233, 2185.3230344566364, 1447.8697483984447, 1449.473001892201)),
        'fv_share': (0, (57.626162383810616, 56.942795859146464, 30.492481158928307, 26.900477329433933)),
    },
    'las': {
        'dgp_referrals_per_year': (0, (650000.0000000001, 4335774312.204555, 325378.309475886, 324397.16054815595)),
        'dgp_duration_mult': (0, (152.54610674090554, 158.1502928334989, 75.93633435292402, 76.4906156640017)),
        'dgp_fe_looked_after_18m': (0, (-599.1973987359779, 2396.0589834550647, -299.7870955951637, -300.75837726769373)),
        'dgp_trend_looked_after_18m': (0, (0.5346623347923619, 0.19928041338088276, 0.0656241623382136, 0.4091780103580729)),
        'dgp_covid_looked_after_18m': (0, (-8.696963794245477, 4.091400613420113, -4.976271186985216, -5.239365026198845)),
        'dgp_fe_cpp_12m': (0, (-377.09023414401366, 953.1639849411233, -186.66450430850375, -189.18571850029403)),
        'dgp_trend_cpp_12m': (0, (-1.6873729246739981, 0.22950750357859215, -0.9246821125699315, -0.8724691007440767)),
        'dgp_covid_cpp_12m': (0, (-10.826274325970642, 3.5229146624384784, -5.592130904938009, -5.394738257605978)),
        'dgp_fe_cin_plan': (0, (-244.9628428893483, 414.1361526460479, -122.52778702014213, -121.63021746775635)),
        'dgp_trend_cin_plan': (0, (0.10870363791968013, 0.16017730825010135, -0.07229761789245476, 0.21018544619337115)),
        'dgp_covid_cin_plan': (0, (-11.304430774904745, 2.364819470689768, -6.387753262725682, -6.492754633893603)),
        'dgp_fe_kinship_first_placement': (0, (-252.25469888204987, 455.592286308918, -126.7244837111427, -124.42462662397223)),
        'dgp_trend_kinship_first_placement': (0, (-0.6812159862754528, 0.3387835336344258, -0.3080485295390932, -0.40789342059066597)),
        'dgp_covid_kinship_first_placement': (0, (9.969022654062996, 6.766474581783145, 6.615319276460331, 5.13308038237757)),
        'dgp_fe_reunified_18m': (0, (-96.3372968235609, 77.15053472797321, -46.118905319543, -48.337954206879346)),
        'dgp_trend_reunified_18m': (0, (0.6607221929907381, 0.25776445652925883, 0.3291118481140028, 0.4147530970358232)),
        'dgp_covid_reunified_18m': (0, (-24.11426075154747, 7.414444812365496, -11.644252341123803, -12.145745694094662)),
        'dgp_fe_unauth_absence_rate': (0, (-649.3236936205437, 2801.7510244489563, -324.53997098600087, -326.29357603808023)),
        'dgp_trend_unauth_absence_rate': (0, (0.8285171818953253, 0.2603996686147171, 0.23936498021418293, 0.6761410208286045)),
        'dgp_covid_unauth_absence_rate': (0, (36.32090354630264, 14.953052991752148, 18.892499051567402, 17.207000328358006)),
    },
    'truth': {
        'effect': (0, (0.2475, 0.01646875, 0.12123985082493162, 0.15172188698546962)),
    },
}


FLOAT_RTOL = 1e-10
"""Tolerance of the float sums, relative to ``sum(|x|)`` (``sum(x**2)`` for the squares): the
kernels' last-bit differences (<= 2.4e-14 relative per value) summed over every row stay below
it by four orders of magnitude."""


def _tolerances(x: np.ndarray) -> np.ndarray:
    """The allowed difference of each of a column's four sums (:data:`FLOAT_RTOL` of its scale)."""
    scale = np.nansum(np.abs(x))
    return FLOAT_RTOL * np.array([scale, np.nansum(x * x), scale, scale])


def _floats(f: pd.DataFrame) -> list[str]:
    return [c for c in f.columns if pd.api.types.is_float_dtype(f[c])]


def _weights(n: int, k: int) -> np.ndarray:
    """Fixed pseudo-random weights in [0, 1), the same on every machine (integer arithmetic)."""
    i = np.arange(n, dtype=np.uint64)
    a = (np.uint64(2654435761), np.uint64(2246822519))[k]  # Knuth's and xxHash's multipliers
    return ((i * a + np.uint64(374761393)) % np.uint64(2**32)).astype(float) / 2**32


def float_fingerprints(f: pd.DataFrame) -> dict[str, tuple[int, np.ndarray]]:
    """Per floating-point column: missing count, and ``[sum x, sum x^2, sum u1 x, sum u2 x]``."""
    out = {}
    for c in _floats(f):
        x = f[c].to_numpy(dtype=float)
        miss = np.isnan(x)
        v = np.where(miss, 0.0, x)
        out[c] = (int(miss.sum()), np.array([v.sum(), (v * v).sum(), _weights(len(v), 0) @ v,
                                             _weights(len(v), 1) @ v]))
    return out


def discrete_hash(f: pd.DataFrame) -> str:
    """SHA-256 of the frame's index and its columns that are not floating point (exact)."""
    rest = f.drop(columns=_floats(f))
    return hashlib.sha256(pd.util.hash_pandas_object(rest, index=True).to_numpy().tobytes()).hexdigest()


def _update(h: hashlib._Hash, name: str, f: pd.DataFrame) -> None:
    h.update(name.encode())
    h.update(discrete_hash(f).encode())
    h.update(",".join(map(str, f.columns)).encode())
    h.update(",".join(map(str, f.dtypes)).encode())
    h.update(",".join(map(str, f.shape)).encode())


def overall_hash(frames: dict[str, pd.DataFrame]) -> str:
    """SHA-256 over the pinned frames in name order: names, columns, dtypes, shapes, discrete values."""
    h = hashlib.sha256()
    for name in sorted(frames):
        _update(h, name, frames[name])
    return h.hexdigest()


def bytes_hash(frames: dict[str, pd.DataFrame]) -> str:
    """SHA-256 of every value's bytes (float columns included): equal runs on one machine."""
    h = hashlib.sha256()
    for name in sorted(frames):
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(frames[name], index=True).to_numpy().tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def sim() -> SimulatedData:
    return simulate(seed=0)


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_frame_pinned(sim: SimulatedData, name: str) -> None:
    shape, digest = FRAMES[name]
    frame = sim.frames()[name]
    assert frame.shape == shape
    assert discrete_hash(frame) == digest
    got = float_fingerprints(frame)
    assert sorted(got) == sorted(FLOATS.get(name, {}))
    for col, (n_missing, sums) in FLOATS.get(name, {}).items():
        g_missing, g = got[col]
        assert g_missing == n_missing, f"{name}.{col}: missing count"
        assert np.all(np.abs(g - np.array(sums)) <= _tolerances(frame[col].to_numpy(dtype=float))), (
            f"{name}.{col}: sums {g.tolist()} != pinned {list(sums)}")


def test_overall_pinned(sim: SimulatedData) -> None:
    frames = sim.frames()
    pinned = {name: frames[name] for name in FRAMES}
    assert overall_hash(pinned) == OVERALL


def test_float_fingerprint_sees_a_small_change(sim: SimulatedData) -> None:
    """The tolerance is no blanket: one value moved by 1e-6 of its column's total, or two rows
    swapped, is caught."""
    f = sim.frames()["child_effects"]
    col = "looked_after_18m"
    pinned = np.array(FLOATS["child_effects"][col][1])
    x = f[col].to_numpy(dtype=float)
    tol = _tolerances(x)
    moved = f.copy()
    i = int(np.flatnonzero(~np.isnan(x))[17])
    moved.iloc[i, moved.columns.get_loc(col)] += 1e-6 * np.nansum(np.abs(x))
    swapped = f.copy()
    j, k = np.flatnonzero(np.abs(x) > 0)[[3, 4]]
    vals = swapped[col].to_numpy(copy=True)
    vals[[j, k]] = vals[[k, j]]
    swapped[col] = vals
    for changed in (moved, swapped):
        g = float_fingerprints(changed)[col][1]
        assert np.any(np.abs(g - pinned) > tol)


def test_the_data_do_not_depend_on_blas_threads() -> None:
    """The same seed gives the same bytes with OpenBLAS on one thread or two (one machine)."""
    import os
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, 'tests'); from test_simulation_pins import "
            "bytes_hash; from fvdid.simulation import simulate; "
            "print(bytes_hash(simulate(seed=0, n_children=5000).frames()))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=root, env={**os.environ, "OPENBLAS_NUM_THREADS": t}).stdout
           for t in ("1", "2")]
    assert out[0] == out[1] and len(out[0].strip()) == 64
