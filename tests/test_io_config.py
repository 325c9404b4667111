"""Extract reading, schema checks with clear errors, and configuration files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fvdid.config import RunConfig, load_config
from fvdid.errors import FvdidInputError
from fvdid.io import load_extract, read_table, validate_children, validate_la_quarter, validate_las


def _children(n: int = 30) -> pd.DataFrame:
    """Children of Coventry (treated, live from 2021-05) and Warwickshire (comparator)."""
    rng = np.random.default_rng(0)
    la = rng.choice(["E08000026", "E10000031"], n)
    dates = pd.date_range("2021-02-01", periods=n, freq="7D")
    treated = la == "E08000026"
    return pd.DataFrame(
        {
            "child_id": [f"C{i:05d}" for i in range(n)],
            "la_code": la,
            "referral_date": dates.strftime("%Y-%m-%d"),
            "financial_year": "2021/22",
            "fv": (treated & (dates >= "2021-05-01")).astype(int),
            "treated_la": treated,
            "age_at_referral": rng.integers(0, 18, n),
            "gender": rng.integers(0, 5, n),
            "ethnicity_major": rng.choice(["White", "Asian", None], n),
            "disabled": rng.integers(0, 2, n),
            "fsm": rng.integers(0, 2, n),
            "uasc": 0,
            "main_need": rng.integers(0, 10, n),
            "looked_after_18m": rng.integers(0, 2, n).astype(float),
        }
    )


def _las() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "la_code": ["E08000026", "E10000031"],
            "la_name": ["Coventry", "Warwickshire"],
            "treated": [True, False],
            "go_live": ["2021-05", None],
            "partners_in_practice": [False, False],
        }
    )


def _laq() -> pd.DataFrame:
    return pd.DataFrame(
        {"la": ["E08000026", "E08000026"], "quarter": ["2021Q1", "2021Q2"], "looked_after_18m": [0.04, 0.05]}
    )


def test_valid_children_pass_and_dates_are_parsed() -> None:
    out = validate_children(_children())
    assert pd.api.types.is_datetime64_any_dtype(out["referral_date"])


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("gender", 7, "gender"),
        ("la_code", "Coventry", "ONS LA code"),
        ("fv", 2, "'fv'"),
        ("ethnicity_major", "Martian", "ethnicity_major"),
        ("looked_after_18m", 3.0, "looked_after_18m"),
        ("referral_date", "not a date", "referral_date"),
    ],
)
def test_bad_values_name_column_rows_and_expectation(column: str, value: object, expected: str) -> None:
    df = _children()
    df[column] = df[column].astype(object)
    df.loc[[3, 7], column] = value
    with pytest.raises(FvdidInputError) as err:
        validate_children(df)
    msg = str(err.value)
    # rows 3 and 7 of the frame, counted from 1
    assert expected in msg and "2 rows (rows 4, 8, counting from 1)" in msg and "expected" in msg


def test_missing_column_and_duplicates() -> None:
    with pytest.raises(FvdidInputError, match="missing required column"):
        validate_children(_children().drop(columns=["fsm"]))
    df = _children()
    df.loc[5, "child_id"] = df.loc[4, "child_id"]
    with pytest.raises(FvdidInputError, match="one row per child"):
        validate_children(df)
    laq = pd.concat([_laq(), _laq().iloc[[0]]])
    with pytest.raises(FvdidInputError, match=r"one row per \(la, quarter\)"):
        validate_la_quarter(laq)


def test_treated_la_needs_go_live() -> None:
    las = _las()
    las.loc[0, "go_live"] = None
    with pytest.raises(FvdidInputError, match="go-live month"):
        validate_las(las)


def test_extract_round_trip_with_mapping(tmp_path: Path) -> None:
    ch = _children().rename(columns={"child_id": "PupilRef"})
    ch.to_csv(tmp_path / "children.csv", index=False)
    _las().to_parquet(tmp_path / "las.parquet")
    _laq().to_csv(tmp_path / "la_quarter.csv", index=False)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[children]\nchild_id = "PupilRef"\n')
    ex = load_extract(tmp_path, mapping)
    assert list(ex.children["child_id"][:2]) == ["C00000", "C00001"]
    assert isinstance(ex.la_quarter["quarter"].dtype, pd.PeriodDtype)
    assert len(ex.input_hash) == 64
    with pytest.raises(FvdidInputError, match="PupilRef"):
        load_extract(tmp_path)  # without the mapping child_id is missing


def test_empty_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(FvdidInputError, match="empty"):
        read_table(tmp_path / "e.csv")
    (tmp_path / "x.xlsx").write_text("x")
    with pytest.raises(FvdidInputError, match=r"\.csv, \.parquet or \.dta"):
        read_table(tmp_path / "x.xlsx")
    with pytest.raises(FvdidInputError, match="no children table"):
        load_extract(tmp_path)


def test_stata_files_are_read(tmp_path: Path) -> None:
    _laq().assign(quarter=lambda d: d["quarter"].astype(str)).to_stata(tmp_path / "q.dta", write_index=False)
    assert len(read_table(tmp_path / "q.dta")) == 2


def test_config_file_and_unknown_keys(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("seed = 3\nn_imputations = 2\n")
    cfg = load_config(f, n_children=5000)
    assert (cfg.seed, cfg.n_imputations, cfg.n_children) == (3, 2, 5000)
    f.write_text("sede = 3\n")
    with pytest.raises(FvdidInputError, match="sede"):
        load_config(f)
    f.write_text("")
    with pytest.raises(FvdidInputError, match="empty"):
        load_config(f)
    with pytest.raises(FvdidInputError, match="max_missing_share"):
        RunConfig.from_mapping({"max_missing_share": 1.5})
