"""Inconsistent input and options fail loudly, naming what is wrong (issue 18, issue 19 point 5).

Each test builds a small simulated extract, breaks one thing, and checks the error names the
table, the column or option, the rows (as file line numbers) and what was expected.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fvdid.cli import app
from fvdid.config import OPTIONS, RunConfig, load_config
from fvdid.errors import FvdidInputError
from fvdid.io import Extract, derive_fv, load_extract, validate_extract
from fvdid.simulation import simulate
from fvdid.simulation.core import SimulatedData

runner = CliRunner()
Tables = dict[str, pd.DataFrame]
TREATED = "E08000026"  # Coventry, a treatment LA of the default simulation


@pytest.fixture(scope="module")
def sim() -> SimulatedData:
    return simulate(seed=0, n_children=3000)


@pytest.fixture()
def tables(sim: SimulatedData) -> Tables:
    return {n: sim.frames()[n].copy() for n in ("children", "las", "la_quarter")}


def _comparator(children: pd.DataFrame, las: pd.DataFrame) -> str:
    """An LA with children, never treated and without a go-live date."""
    never = set(las.loc[las["go_live"].isna() & ~las["treated"], "la_code"])
    return sorted(set(children["la_code"]) & never)[0]


def _write(folder: Path, tables: dict[str, pd.DataFrame], fmt: str = "csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _lines(positions: list[int]) -> str:
    """A CSV's data row i (0-based) is line i + 2 (line 1 is the header)."""
    return ", ".join(str(p + 2) for p in positions)


def _error(folder: Path, mapping: Path | None = None) -> str:
    with pytest.raises(FvdidInputError) as err:
        load_extract(folder, mapping)
    return str(err.value)


# --- the simulator's own extracts pass -------------------------------------------------------------


def test_simulated_extract_passes_and_is_unchanged(sim: SimulatedData, tmp_path: Path) -> None:
    ex = Extract(sim.children, sim.las, sim.la_quarter, sim.absence_terms, "sim", "h")
    out = validate_extract(ex)
    pd.testing.assert_frame_equal(out.children, sim.children)
    pd.testing.assert_frame_equal(out.las, sim.las)
    pd.testing.assert_frame_equal(out.la_quarter, sim.la_quarter)
    # identical Parquet and CSV copies, as `fvdid simulate` writes them, are fine
    sim.write(tmp_path / "x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = load_extract(tmp_path / "x")
    assert len(got.children) == len(sim.children)


def test_derived_fv_is_the_simulators(sim: SimulatedData) -> None:
    fv = derive_fv(sim.children, sim.las)
    assert fv.equals(sim.children["fv"].astype("int8"))
    assert fv.sum() > 0 and (fv == 0).sum() > 0  # both groups present, so the check can fail


# --- cross-table consistency -----------------------------------------------------------------------


def test_treatment_la_without_children(tables: Tables, tmp_path: Path) -> None:
    ch = tables["children"]
    tables["children"] = ch[ch["la_code"] != TREATED]
    msg = _error(_write(tmp_path, tables))
    assert TREATED in msg and "no children" in msg


def test_children_la_absent_from_la_table(tables: Tables, tmp_path: Path) -> None:
    ch, las = tables["children"], tables["las"]
    la = _comparator(ch, las)
    tables["las"] = las[las["la_code"] != la]
    n = int((ch["la_code"] == la).sum())
    first = [int(i) for i in ch.index[ch["la_code"] == la][:3]]
    msg = _error(_write(tmp_path, tables))
    assert la in msg and f"{n:,} rows" in msg and _lines(first) in msg and "las table" in msg


def test_treated_la_disagrees_with_la_table(tables: Tables, tmp_path: Path) -> None:
    ch = tables["children"]
    la = _comparator(ch, tables["las"])
    rows = [int(i) for i in ch.index[ch["la_code"] == la][:2]]
    ch.loc[rows, "treated_la"] = True
    msg = _error(_write(tmp_path, tables))
    assert "'treated_la'" in msg and f"2 rows (lines {_lines(rows)} of children.csv)" in msg
    assert la in msg


def test_fv_in_an_untreated_la(tables: Tables, tmp_path: Path) -> None:
    ch = tables["children"]
    la = _comparator(ch, tables["las"])
    rows = [int(i) for i in ch.index[ch["la_code"] == la][:2]]
    ch.loc[rows, "fv"] = 1
    msg = _error(_write(tmp_path, tables))
    assert "'fv'" in msg and f"2 rows (lines {_lines(rows)} of children.csv)" in msg
    assert "2 with fv = 1 in an LA without a go-live date" in msg


def test_fv_differs_from_the_protocols_definition(tables: Tables, tmp_path: Path) -> None:
    ch = tables["children"]
    after = ch.index[(ch["la_code"] == TREATED) & (ch["fv"] == 1)]
    before = ch.index[(ch["la_code"] == TREATED) & (ch["fv"] == 0)]
    rows = sorted([int(after[0]), int(after[1]), int(before[0])])
    ch.loc[rows, "fv"] = 1 - ch.loc[rows, "fv"]
    msg = _error(_write(tmp_path, tables))
    assert f"3 rows (lines {_lines(rows)} of children.csv)" in msg
    assert "1 with fv = 1 referred before go-live" in msg and "2 with fv = 0" in msg
    # the in-memory path (what the pipeline calls for a simulated extract) counts from 1
    ex = Extract(ch, tables["las"], tables["la_quarter"], None, "mem", "h")
    with pytest.raises(FvdidInputError, match=re.escape(f"rows {', '.join(str(r + 1) for r in rows)}, counting from 1")):
        validate_extract(ex)


def test_go_live_outside_the_panel(tables: Tables, tmp_path: Path) -> None:
    las = tables["las"]
    las["go_live"] = las["go_live"].astype(object)
    las.loc[las["la_code"] == TREATED, "go_live"] = pd.Period("2030-01", freq="M")
    msg = _error(_write(tmp_path, tables))
    assert "outside the la_quarter panel (2017Q2..2024Q1)" in msg and TREATED in msg
    assert "2030-01" in msg


def test_parquet_and_csv_with_different_contents(tables: Tables, tmp_path: Path) -> None:
    _write(tmp_path, tables, "parquet")
    ch = tables["children"].copy()
    ch.loc[5, "gender"] = (ch.loc[5, "gender"] + 1) % 5
    ch.to_csv(tmp_path / "children.csv", index=False)
    msg = _error(tmp_path)
    assert "children.parquet" in msg and "children.csv" in msg and "'gender'" in msg
    assert "1 row (line 7 of children.csv)" in msg


# --- error messages --------------------------------------------------------------------------------


def test_two_bad_fv_values_in_a_csv_are_two_rows(tables: Tables, tmp_path: Path) -> None:
    ch = tables["children"]
    ch["fv"] = ch["fv"].astype(object)
    ch.loc[[10, 20], "fv"] = "yes"
    msg = _error(_write(tmp_path, tables))
    assert "2 rows (lines 12, 22 of children.csv)" in msg and "'yes'" in msg


def test_bad_quarter_shows_the_raw_text_without_warnings(tables: Tables, tmp_path: Path) -> None:
    q = tables["la_quarter"]
    q["quarter"] = q["quarter"].astype(str)
    q.loc[3, "quarter"] = "2021Q7"
    folder = _write(tmp_path, tables)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        msg = _error(folder)
    assert "'2021Q7'" in msg and "NaT" not in msg and "line 5 of la_quarter.csv" in msg


def test_bad_go_live_shows_the_date_and_names_the_la(tables: Tables, tmp_path: Path) -> None:
    las = tables["las"]
    las["go_live"] = las["go_live"].astype(str).where(las["go_live"].notna(), None)
    pos = int(las.index[las["la_code"] == TREATED][0])
    las.loc[pos, "go_live"] = "2022-13"
    msg = _error(_write(tmp_path, tables))
    assert "'go_live'" in msg and "'2022-13'" in msg and f"LA {TREATED}" in msg
    assert f"'{TREATED}'" not in msg  # the LA code is not shown as the value
    assert f"line {pos + 2} of las.csv" in msg


@pytest.mark.parametrize(("days", "ok"), [(548, True), (549, False), (-1, False), (12.5, False)])
def test_days_range_is_the_protocols_18_months(tables: Tables, tmp_path: Path, days: float, ok: bool) -> None:
    ch = tables["children"]
    ch.loc[4, "days_cpp_cin_18m"] = days
    folder = _write(tmp_path, tables)
    if ok:
        assert load_extract(folder).children.loc[4, "days_cpp_cin_18m"] == days
    else:
        msg = _error(folder)
        assert "whole days between 0 and 548" in msg and "line 6 of children.csv" in msg


def test_mapping_to_an_absent_column_lists_the_columns(tables: Tables, tmp_path: Path) -> None:
    folder = _write(tmp_path / "x", tables)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[children]\nchild_id = "PupilRef"\n')
    msg = _error(folder, mapping)
    assert "PupilRef" in msg and "'la_code'" in msg and "'referral_date'" in msg


def test_malformed_mapping_is_an_input_error(tables: Tables, tmp_path: Path) -> None:
    folder = _write(tmp_path / "x", tables)
    mapping = tmp_path / "map.toml"
    mapping.write_text("[children\nchild_id = ")
    assert "cannot be parsed" in _error(folder, mapping)
    mapping.write_text('children = "PupilRef"\n')
    assert "[children] must map" in _error(folder, mapping)


# --- options -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "valid"),
    [
        ("cem_by", "month", "'financial_year', 'period'"),
        ("boot_B", -5, "an integer >= 0"),
        ("secondary_outcomes", ["cpp_12m", "placements"], "'reunified_18m'"),
        ("child_covariates", ["gender", "iq"], "'n_prev_cpp'"),
        ("la_covariates", ["la_budget"], "'la_share_fsm'"),
        ("categorical_covariates", ["ethnicity"], "'ethnicity_major'"),
        ("n_imputations", "five", "an integer >= 0"),
        ("seed", "abc", "an integer >= 0"),
        ("time_fe", "nonsense", "'referral_quarter'"),
        ("alpha", True, "a number > 0 and < 1"),
        ("secondary_outcomes", ["cpp_12m", "cpp_12m"], "more than once"),
    ],
)
def test_bad_option_names_option_and_valid_values(option: str, value: object, valid: str) -> None:
    with pytest.raises(FvdidInputError) as err:
        RunConfig.from_mapping({option: value})
    msg = str(err.value)
    assert f"option {option!r}" in msg and valid in msg


def test_schema_covers_every_option_and_the_defaults_pass() -> None:
    import dataclasses

    assert set(OPTIONS) == {f.name for f in dataclasses.fields(RunConfig)}
    cfg = RunConfig()
    assert cfg.cem_by == "financial_year" and cfg.boot_B == 9999 and cfg.n_imputations == 5
    with pytest.raises(FvdidInputError, match="'boot_B'"):
        cfg.replace(boot_B=-1)  # direct construction is validated too


@pytest.mark.parametrize(
    "toml",
    ['n_imputations = "five"\n', 'seed = "abc"\n', 'time_fe = "nonsense"\n', "seed = [\n"],
)
def test_cli_bad_config_is_one_line_exit_2(tmp_path: Path, toml: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    res = runner.invoke(app, ["run", "--out", str(tmp_path / "o"), "--config", str(cfg), "--quiet"])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
    assert len(res.output.strip().splitlines()) == 1 and res.output.startswith("error:")
    assert not (tmp_path / "o").exists()
    with pytest.raises(FvdidInputError):
        load_config(cfg)


def test_cli_malformed_mapping_is_one_line_exit_2(tables: Tables, tmp_path: Path) -> None:
    folder = _write(tmp_path / "x", tables)
    mapping = tmp_path / "map.toml"
    mapping.write_text("[children\n")
    res = runner.invoke(app, ["run", "--out", str(tmp_path / "o"), "--data", str(folder),
                              "--mapping", str(mapping), "--quiet"])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
    assert len(res.output.strip().splitlines()) == 1 and "map.toml" in res.output


def test_parity_unknown_case_is_one_line_exit_2() -> None:
    res = runner.invoke(app, ["parity", "--case", "x"])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
    assert len(res.output.strip().splitlines()) == 1 and "'x'" in res.output


def test_parity_unknown_family_lists_the_families() -> None:
    res = runner.invoke(app, ["parity", "--family", "nope"])
    assert res.exit_code == 2, res.output
    assert "'nope'" in res.output and "'ols'" in res.output and "'did'" in res.output
    assert "passed" not in res.output


def test_python_m_parity_unknown_family_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from parity.__main__ import main

    assert main(["replay", "--family", "nope"]) == 2
    assert "'ols'" in capsys.readouterr().err
