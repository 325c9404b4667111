"""Local authorities: the LA list, go-live dates, the calendar, volumes and LA covariates.

:func:`draw_las` draws every LA-level quantity from one generator, in a fixed order (volumes,
LA covariates, latent index components, twins, extract membership), and returns them as one
frozen :class:`LAs`; each step is a plain function that can be called and tested alone.
:func:`las_frame` turns an :class:`LAs` and the calibrated intercepts into the ``las`` frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError
from fvdid.simulation.config import SimConfig, parse_month, parse_quarter
from fvdid.simulation.constants import _COVID_VOLUME, _K, _MONTH_SEASON
from fvdid.simulation.latent import (
    Components,
    adjust_covid,
    draw_components,
    draw_extract,
    draw_twins,
    latent_index,
)

__all__ = [
    "NAT",
    "Calendar",
    "GoLive",
    "LAs",
    "Volumes",
    "calendar",
    "draw_la_covariates",
    "draw_las",
    "draw_volumes",
    "first_data_quarters",
    "go_live_table",
    "la_table",
    "las_frame",
]

NAT = np.iinfo(np.int64).min  # month / quarter ordinal marking "never" (NaT in the frames)

# --------------------------------------------------------------------------------------------
# Local authorities: code, name, region, approximate child population (thousands, 0-17)
# --------------------------------------------------------------------------------------------
_REGIONS = {
    "NE": "North East",
    "NW": "North West",
    "YH": "Yorkshire and The Humber",
    "EM": "East Midlands",
    "WM": "West Midlands",
    "EE": "East of England",
    "LON": "London",
    "SE": "South East",
    "SW": "South West",
}
_LA_TABLE = """
E06000001|Hartlepool|NE|20
E06000002|Middlesbrough|NE|33
E06000003|Redcar and Cleveland|NE|29
E06000004|Stockton-on-Tees|NE|44
E06000005|Darlington|NE|23
E06000006|Halton|NW|28
E06000007|Warrington|NW|45
E06000008|Blackburn with Darwen|NW|38
E06000009|Blackpool|NW|28
E06000010|Kingston upon Hull, City of|YH|60
E06000011|East Riding of Yorkshire|YH|61
E06000012|North East Lincolnshire|YH|35
E06000013|North Lincolnshire|YH|35
E06000014|York|YH|35
E06000015|Derby|EM|58
E06000016|Leicester|EM|85
E06000017|Rutland|EM|7
E06000018|Nottingham|EM|65
E06000019|Herefordshire, County of|WM|35
E06000020|Telford and Wrekin|WM|40
E06000021|Stoke-on-Trent|WM|60
E06000022|Bath and North East Somerset|SW|36
E06000023|Bristol, City of|SW|95
E06000024|North Somerset|SW|45
E06000025|South Gloucestershire|SW|60
E06000026|Plymouth|SW|55
E06000027|Torbay|SW|24
E06000030|Swindon|SW|53
E06000031|Peterborough|EE|50
E06000032|Luton|EE|56
E06000033|Southend-on-Sea|EE|40
E06000034|Thurrock|EE|45
E06000035|Medway|SE|66
E06000036|Bracknell Forest|SE|28
E06000037|West Berkshire|SE|36
E06000038|Reading|SE|38
E06000039|Slough|SE|42
E06000040|Windsor and Maidenhead|SE|33
E06000041|Wokingham|SE|40
E06000042|Milton Keynes|SE|69
E06000043|Brighton and Hove|SE|50
E06000044|Portsmouth|SE|44
E06000045|Southampton|SE|52
E06000046|Isle of Wight|SE|24
E06000047|County Durham|NE|100
E06000049|Cheshire East|NW|80
E06000050|Cheshire West and Chester|NW|69
E06000051|Shropshire|WM|60
E06000052|Cornwall|SW|105
E06000054|Wiltshire|SW|110
E06000055|Bedford|EE|40
E06000056|Central Bedfordshire|EE|65
E06000057|Northumberland|NE|60
E06000058|Bournemouth, Christchurch and Poole|SW|75
E06000059|Dorset|SW|68
E06000060|Buckinghamshire|SE|125
E06000061|North Northamptonshire|EM|80
E06000062|West Northamptonshire|EM|95
E08000001|Bolton|NW|65
E08000002|Bury|NW|43
E08000003|Manchester|NW|130
E08000004|Oldham|NW|60
E08000005|Rochdale|NW|52
E08000006|Salford|NW|56
E08000007|Stockport|NW|63
E08000008|Tameside|NW|50
E08000009|Trafford|NW|55
E08000010|Wigan|NW|67
E08000011|Knowsley|NW|35
E08000012|Liverpool|NW|105
E08000013|St. Helens|NW|38
E08000014|Sefton|NW|55
E08000015|Wirral|NW|66
E08000016|Barnsley|YH|53
E08000017|Doncaster|YH|67
E08000018|Rotherham|YH|59
E08000019|Sheffield|YH|120
E08000021|Newcastle upon Tyne|NE|62
E08000022|North Tyneside|NE|43
E08000023|South Tyneside|NE|31
E08000024|Sunderland|NE|55
E08000025|Birmingham|WM|290
E08000026|Coventry|WM|80
E08000027|Dudley|WM|67
E08000028|Sandwell|WM|85
E08000029|Solihull|WM|47
E08000030|Walsall|WM|68
E08000031|Wolverhampton|WM|60
E08000032|Bradford|YH|140
E08000033|Calderdale|YH|45
E08000034|Kirklees|YH|100
E08000035|Leeds|YH|180
E08000036|Wakefield|YH|75
E08000037|Gateshead|NE|41
E09000001|City of London|LON|1.3
E09000002|Barking and Dagenham|LON|70
E09000003|Barnet|LON|95
E09000004|Bexley|LON|57
E09000005|Brent|LON|78
E09000006|Bromley|LON|75
E09000007|Camden|LON|45
E09000008|Croydon|LON|95
E09000009|Ealing|LON|85
E09000010|Enfield|LON|85
E09000011|Greenwich|LON|68
E09000012|Hackney|LON|60
E09000013|Hammersmith and Fulham|LON|35
E09000014|Haringey|LON|58
E09000015|Harrow|LON|60
E09000016|Havering|LON|60
E09000017|Hillingdon|LON|75
E09000018|Hounslow|LON|65
E09000019|Islington|LON|40
E09000020|Kensington and Chelsea|LON|28
E09000021|Kingston upon Thames|LON|40
E09000022|Lambeth|LON|58
E09000023|Lewisham|LON|68
E09000024|Merton|LON|48
E09000025|Newham|LON|90
E09000026|Redbridge|LON|75
E09000027|Richmond upon Thames|LON|47
E09000028|Southwark|LON|62
E09000029|Sutton|LON|50
E09000030|Tower Hamlets|LON|75
E09000031|Waltham Forest|LON|65
E09000032|Wandsworth|LON|62
E09000033|Westminster|LON|40
E10000003|Cambridgeshire|EE|145
E10000006|Cumbria|NW|90
E10000007|Derbyshire|EM|160
E10000008|Devon|SW|145
E10000011|East Sussex|SE|110
E10000012|Essex|EE|320
E10000013|Gloucestershire|SW|130
E10000014|Hampshire|SE|280
E10000015|Hertfordshire|EE|260
E10000016|Kent|SE|340
E10000017|Lancashire|NW|260
E10000018|Leicestershire|EM|140
E10000019|Lincolnshire|EM|145
E10000020|Norfolk|EE|175
E10000023|North Yorkshire|YH|120
E10000024|Nottinghamshire|EM|170
E10000025|Oxfordshire|SE|145
E10000027|Somerset|SW|110
E10000028|Staffordshire|WM|170
E10000029|Suffolk|EE|150
E10000030|Surrey|SE|260
E10000031|Warwickshire|WM|120
E10000032|West Sussex|SE|170
E10000034|Worcestershire|WM|120
"""

_TRAILBLAZER = "E06000005"  # Darlington


def la_table() -> pd.DataFrame:
    """The 151 LAs: la_code, la_name, region (full name), size (children 0-17, thousands)."""
    rows = [line.split("|") for line in _LA_TABLE.strip().splitlines()]
    df = pd.DataFrame(rows, columns=["la_code", "la_name", "region", "size"])
    df["region"] = df["region"].map(_REGIONS)
    df["size"] = df["size"].astype(float)
    return df.sort_values("la_code", ignore_index=True)


@dataclass(frozen=True, eq=False)
class GoLive:
    """Who is treated and when (no randomness); arrays are aligned with ``table`` rows.

    ``go`` and ``fgc`` are month ordinals (:data:`NAT` where the LA never goes live);
    ``treated_idx`` lists the treatment LAs' rows in ``config.go_live`` order.
    """

    table: pd.DataFrame
    codes: np.ndarray
    treated_idx: np.ndarray
    treated: np.ndarray
    trail: np.ndarray
    pip: np.ndarray
    go: np.ndarray
    fgc: np.ndarray

    @property
    def has_go(self) -> np.ndarray:
        return self.go != NAT


def go_live_table(cfg: SimConfig) -> GoLive:
    """Validate the configured LA codes and build the treatment assignment and go-live months."""
    las = la_table()
    codes = las["la_code"].to_numpy()
    idx = {c: i for i, c in enumerate(codes)}
    n_la = len(las)
    for code, _ in cfg.go_live:
        if code not in idx:
            raise FvdidInputError(f"config go_live names {code!r}, which is not an English LA code")
    for code in cfg.partners_in_practice:
        if code not in idx:
            raise FvdidInputError(f"config partners_in_practice names unknown LA code {code!r}")
    for code, _ in cfg.late_data_las:
        if code not in idx:
            raise FvdidInputError(f"config late_data_las names unknown LA code {code!r}")
    treated_idx = np.array([idx[c] for c, _ in cfg.go_live])
    tb = idx[_TRAILBLAZER]
    if tb in treated_idx:
        raise FvdidInputError("the trailblazer (Darlington) cannot be a treatment LA")
    treated = np.zeros(n_la, bool)
    treated[treated_idx] = True
    trail = np.zeros(n_la, bool)
    trail[tb] = True
    pip = np.isin(codes, list(cfg.partners_in_practice)) & ~treated & ~trail
    go = np.full(n_la, NAT, dtype=np.int64)  # month ordinal (NaT marker)
    fgc = go.copy()
    for (code, month), lead in zip(cfg.go_live, cfg.fgc_lead_months):
        go[idx[code]] = parse_month(month, "go_live")
        fgc[idx[code]] = go[idx[code]] - int(lead)
    go[tb] = parse_month(cfg.trailblazer_go_live, "trailblazer_go_live")
    fgc[tb] = go[tb] - cfg.trailblazer_fgc_lead_months
    return GoLive(las, codes, treated_idx, treated, trail, pip, go, fgc)


@dataclass(frozen=True, eq=False)
class Calendar:
    """Time axes (ordinals): trial period months, extract months, panel and latent quarters.

    ``q`` (latent quarters) covers the panel, the extract and every go-live; ``months`` covers
    ``q`` month by month. The extract adds one month either side of the trial period.
    """

    trial_m0: int
    trial_m1: int
    ext_m0: int
    ext_m1: int
    panel_q: np.ndarray
    q: np.ndarray
    months: np.ndarray


def calendar(cfg: SimConfig, g: GoLive) -> Calendar:
    """The time axes implied by the go-live months and the configured panel."""
    go, treated = g.go, g.treated
    first_go, last_go = go[treated].min(), go[treated].max()
    trial_m0 = int(first_go - cfg.trial_months_before)  # first month in trial period
    trial_m1 = int(last_go + cfg.trial_months_after)  # last month in trial period
    ext_m0, ext_m1 = trial_m0 - 1, trial_m1 + 1
    p0 = parse_quarter(cfg.panel_start, "panel_start")
    p1 = parse_quarter(cfg.panel_end, "panel_end")
    q0 = min(p0, ext_m0 // 3, int(go[g.trail | treated].min()) // 3)
    q1 = max(p1, ext_m1 // 3)
    return Calendar(
        trial_m0=trial_m0,
        trial_m1=trial_m1,
        ext_m0=ext_m0,
        ext_m1=ext_m1,
        panel_q=np.arange(p0, p1 + 1),
        q=np.arange(q0, q1 + 1),
        months=np.arange(q0 * 3, q1 * 3 + 3),
    )


def first_data_quarters(cfg: SimConfig, g: GoLive, cal: Calendar) -> np.ndarray:
    """First quarter with data per LA (the panel start unless ``late_data_las`` says later)."""
    p0 = int(cal.panel_q[0])
    idx = {c: i for i, c in enumerate(g.codes)}
    first_q = np.full(len(g.codes), p0, dtype=np.int64)
    for code, quarter in cfg.late_data_las:
        first_q[idx[code]] = max(p0, parse_quarter(quarter, "late_data_las"))
    late = first_q > p0
    if np.any(late & (g.treated | g.trail)):
        raise FvdidInputError("late_data_las may not include a treatment LA or the trailblazer")
    return first_q


@dataclass(frozen=True, eq=False)
class Volumes:
    """Expected referrals: per year (``vol``), per month and per latent quarter; FSM base share."""

    vol: np.ndarray
    vol_m: np.ndarray
    vol_q: np.ndarray
    fsm_base: np.ndarray


def draw_volumes(
    rng: np.random.Generator, cfg: SimConfig, table: pd.DataFrame, treated: np.ndarray, cal: Calendar
) -> Volumes:
    """Draw LA sizes, FSM base shares, COVID volume dips and volume trends; monthly volumes."""
    n_la = len(table)
    size_jitter = np.exp(rng.normal(0.0, 0.15, n_la))
    fsm_base = np.clip(
        rng.normal(0.42, 0.07, n_la)
        + table["region"].map({"North East": 0.06, "London": 0.04, "South East": -0.06,
                               "East of England": -0.04, "South West": -0.04}).fillna(0.0).to_numpy(),
        0.15, 0.75,
    )  # fmt: skip
    vol = table["size"].to_numpy() * size_jitter * np.exp(1.5 * (fsm_base - 0.42))
    vol = vol / vol.sum() * cfg.national_referrals_per_year
    vol_t = vol[treated] * (cfg.treated_referrals_per_year / vol[treated].mean())
    rest = cfg.national_referrals_per_year - vol_t.sum()
    if rest <= 0:
        raise FvdidInputError("treated_referrals_per_year too large for national_referrals_per_year")
    vol[~treated] = vol[~treated] / vol[~treated].sum() * rest
    vol[treated] = vol_t
    months = cal.months
    month_of_year = months % 12
    m_idx = {m: i for i, m in enumerate(months)}
    covid_m0 = pd.Period("2020-04", freq="M").ordinal
    cov_prof = np.zeros(len(months))
    for j in range(12):
        if covid_m0 + j in m_idx:
            cov_prof[m_idx[covid_m0 + j]] = _COVID_VOLUME[j]
    cov_amp = np.clip(rng.normal(1.0, 0.3, n_la), 0.2, 2.0)
    vol_trend = rng.normal(0.0, 0.02, n_la)  # national volume flat around 650,000 a year
    years_m = (months - pd.Period("2019-10", freq="M").ordinal) / 12.0
    vol_m = (
        vol[:, None] / 12.0
        * _MONTH_SEASON[month_of_year][None, :]
        * (1.0 - cov_amp[:, None] * cov_prof[None, :])
        * np.exp(vol_trend[:, None] * years_m[None, :])
    )  # (n_la, n_months)
    vol_q = vol_m.reshape(n_la, len(cal.q), 3).sum(axis=2)
    return Volumes(vol=vol, vol_m=vol_m, vol_q=vol_q, fsm_base=fsm_base)


def years_since_2021q1(q: np.ndarray) -> np.ndarray:
    """Years from 2021Q1 to each quarter ordinal (the time axis of LA trends)."""
    return (q - pd.Period("2021Q1", freq="Q").ordinal) / 4.0


def draw_la_covariates(
    rng: np.random.Generator, table: pd.DataFrame, fsm_base: np.ndarray, cal: Calendar
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LA x quarter covariates at quarter start: FSM share, white British share, innovation flag."""
    n_la, nq = len(table), len(cal.q)
    codes = table["la_code"].to_numpy()
    years_q = years_since_2021q1(cal.q)
    covid_q0 = pd.Period("2020Q2", freq="Q").ordinal
    after_covid = (cal.q >= covid_q0).astype(float)
    share_fsm = np.clip(
        fsm_base[:, None] + 0.005 * years_q[None, :] + 0.04 * after_covid[None, :]
        + rng.normal(0, 0.005, (n_la, nq)),
        0.05, 0.85,
    )  # fmt: skip
    region = table["region"].to_numpy()
    wb_mean = np.where(region == "London", 0.35, 0.80)
    wb_mean = np.where(np.isin(codes, ["E08000025", "E06000016", "E06000039", "E06000032",
                                       "E08000032", "E08000028"]), 0.45, wb_mean)  # fmt: skip
    wb_base = np.clip(wb_mean + rng.normal(0, np.where(region == "London", 0.12, 0.07)), 0.08, 0.97)
    share_wb = np.clip(
        wb_base[:, None] - 0.004 * years_q[None, :] + rng.normal(0, 0.005, (n_la, nq)), 0.05, 0.98
    )
    adopt = rng.random(n_la) < 0.25
    adopt_q = rng.integers(cal.q[0], cal.q[-1] + 1, n_la)
    innov = (adopt[:, None] & (cal.q[None, :] >= adopt_q[:, None])).astype(np.int8)
    return share_fsm, share_wb, innov


@dataclass(frozen=True, eq=False)
class LAs:
    """Everything drawn at LA level (arrays aligned with ``go_live.table`` rows, la_code order).

    ``eta`` is the latent index ``(component, LA, latent quarter)`` without the intercepts that
    :func:`fvdid.simulation.rates.expected_rates` calibrates.
    """

    go_live: GoLive
    cal: Calendar
    first_q: np.ndarray
    volumes: Volumes
    share_fsm: np.ndarray
    share_wb: np.ndarray
    innov: np.ndarray
    components: Components
    twin_of: np.ndarray
    decoy: np.ndarray
    in_extract: np.ndarray
    eta: np.ndarray

    @property
    def n_la(self) -> int:
        return len(self.go_live.codes)

    @property
    def late(self) -> np.ndarray:
        return self.first_q > self.cal.panel_q[0]

    @property
    def eligible(self) -> np.ndarray:
        """Possible comparators: not treated, not the trailblazer, not PiP, not late data."""
        g = self.go_live
        return ~g.treated & ~g.trail & ~g.pip & ~self.late


def draw_las(rng: np.random.Generator, cfg: SimConfig) -> LAs:
    """Draw every LA-level quantity from ``rng`` (the order of the draws is part of the DGP)."""
    g = go_live_table(cfg)
    cal = calendar(cfg, g)
    first_q = first_data_quarters(cfg, g, cal)
    late = first_q > cal.panel_q[0]
    volumes = draw_volumes(rng, cfg, g.table, g.treated, cal)
    share_fsm, share_wb, innov = draw_la_covariates(rng, g.table, volumes.fsm_base, cal)
    comps = draw_components(rng, cfg, len(g.codes), len(cal.q), g.treated)
    eligible = ~g.treated & ~g.trail & ~g.pip & ~late
    big = g.table["size"].to_numpy() >= 40  # twins of comparable size (statistical neighbours)
    comps, twin_of, decoy = draw_twins(rng, cfg, comps, g.treated_idx, eligible & big,
                                       g.pip & big, late & big)  # fmt: skip
    comps = adjust_covid(cfg, comps, g.treated)
    eta = latent_index(comps, cal.q, years_since_2021q1(cal.q), innov)
    pre = (cal.q >= cal.panel_q[0]) & (cal.q < (g.go[g.treated].min() // 3))
    in_extract = draw_extract(rng, cfg, comps, pre, g.treated_idx, g.treated | g.trail,
                              eligible, big)  # fmt: skip
    return LAs(
        go_live=g, cal=cal, first_q=first_q, volumes=volumes, share_fsm=share_fsm,
        share_wb=share_wb, innov=innov, components=comps, twin_of=twin_of, decoy=decoy,
        in_extract=in_extract, eta=eta,
    )  # fmt: skip


def las_frame(las: LAs, mu: np.ndarray) -> pd.DataFrame:
    """The ``las`` frame; ``dgp_fe_<k>`` includes the calibrated intercept ``mu[k]``."""
    g, comps = las.go_live, las.components
    codes, has_go = g.codes, g.has_go
    df = pd.DataFrame(
        {
            "la_code": codes.astype(object),
            "la_name": g.table["la_name"].to_numpy(dtype=object),
            "region": g.table["region"].to_numpy(dtype=object),
            "treated": g.treated,
            "trailblazer": g.trail,
            "go_live": pd.PeriodIndex.from_ordinals(np.where(has_go, g.go, NAT), freq="M"),
            "fgc_start": pd.PeriodIndex.from_ordinals(np.where(has_go, g.fgc, NAT), freq="M"),
            "partners_in_practice": g.pip,
            "first_data_quarter": pd.PeriodIndex.from_ordinals(las.first_q, freq="Q-DEC"),
            "in_extract": las.in_extract,
            "dgp_referrals_per_year": las.volumes.vol,
            "dgp_twin_of": np.where(las.twin_of >= 0, codes[np.maximum(las.twin_of, 0)], None).astype(object),
            "dgp_decoy": las.decoy,
            "dgp_duration_mult": comps.dur,
        }
    )
    for k, name in enumerate(_K):
        df[f"dgp_fe_{name}"] = comps.fe[k] + mu[k]
        df[f"dgp_trend_{name}"] = comps.trend[k]
        df[f"dgp_covid_{name}"] = comps.covid[k]
    return df
