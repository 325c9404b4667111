"""The appendix renderer: numbers formatted by what they are, no raw Python values, provenance,
ACRO reasons and the progress log of a piped run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fvdid.reporting.appendix import (
    AppendixTable,
    Section,
    csv_frame,
    figure_caption,
    format_frame,
    latex_escape,
    prose,
    write_appendix,
)


def test_columns_are_formatted_by_kind() -> None:
    df = pd.DataFrame({
        "n_treated": [12345, 7], "p_value": [0.01234, 0.00001], "share_matched": [0.8401, 0.5],
        "l1_after": [0.339125719, 0.1], "estimate": [-0.006666, 6.666e-05], "year": [2021, 2022],
        "cem": [True, False], "empty": [np.nan, np.nan], "note": [None, "x"],
    })
    f = format_frame(df).set_index("year")
    assert list(f.columns) == ["n_treated", "p_value", "share_matched", "l1_after", "estimate", "cem", "note"]
    assert f.loc["2021", "n_treated"] == "12,345"
    assert (f.loc["2021", "p_value"], f.loc["2022", "p_value"]) == ("0.012", "<0.001")
    assert f.loc["2021", "share_matched"] == "84.0%"
    assert f.loc["2021", "l1_after"] == "0.339"
    assert (f.loc["2021", "cem"], f.loc["2022", "cem"]) == ("Yes", "No")
    assert f.loc["2021", "note"] == "—"
    # One notation per column: a column with a number below 1e-4 is scientific throughout.
    est = list(f["estimate"])
    assert all("e" in v for v in est), est


def test_estimates_in_fixed_notation_at_four_significant_digits() -> None:
    f = format_frame(pd.DataFrame({"estimate": [-0.0065034, 0.012345678, 1234.5678]}))
    assert list(f["estimate"]) == ["-0.006503", "0.01235", "1,235"]


def test_index_header_and_raw_strings() -> None:
    df = pd.DataFrame({"value": [False, None, float("nan"), "True", ["a", "b"]]},
                      index=pd.Index(list("abcde"), name=None))
    f = format_frame(df)
    assert "index" not in f.columns and list(f.columns) == ["", "value"]
    assert list(f["value"]) == ["No", "—", "—", "Yes", "a, b"]


def test_prose_replaces_python_values() -> None:
    assert prose("left out: ['la_other_innovation']") == "left out: la_other_innovation"
    assert prose("cohorts ['18', '19', '20']") == "cohorts 18, 19, 20"
    assert prose("CEM-weighted: True; pooled: False") == "CEM-weighted: Yes; pooled: No"
    assert prose("pre-trend Wald p = nan") == "pre-trend Wald p = not available"
    assert prose("Not done (no_acceptable_match): x") == "Not done (no_acceptable_match): x"


def test_slug_captions_become_words() -> None:
    cap = figure_caption("la_trends_kinship_first_placement", "la trends kinship first placement")
    assert "kinship carer as first placement" in cap and "post" not in cap.split()[0]
    assert "after go-live are shown for context" in cap
    assert figure_caption("cem_balance", "My caption") == "My caption"
    assert figure_caption("some_new_plot", "some new plot") == "Some new plot."


def test_csv_l1_to_three_decimals_and_no_float_noise() -> None:
    out = csv_frame(pd.DataFrame({"l1_after": [0.33912571959293736], "est": [0.0010506172719890567],
                                  "v": [None]}))
    assert out.loc[0, "l1_after"] == 0.339 and out.loc[0, "est"] == 0.00105062 and out.loc[0, "v"] == ""


def test_latex_escape() -> None:
    assert latex_escape("a_b 5% & #1 <0.001") == r"a\_b 5\% \& \#1 \textless{}0.001"


def test_html_empty_table_collapsed_page_and_figure(tmp_path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1], [0, 1], label="x")
    ax.legend(fontsize=4)
    secs = [Section("S", ("p = nan",), (
        AppendixTable("cs", "Aggregations (pre-trend Wald p = nan)", pd.DataFrame({"a": [1]})),
        AppendixTable("empty_one", "LAs excluded as comparators", pd.DataFrame(columns=["la", "reason"])),
        AppendixTable("big", "Every comparison", pd.DataFrame({"a": range(3)}), collapsed=True, page="parity"),
    ), (("event_study", "event study", fig),))]
    paths = write_appendix(secs, tmp_path)
    page = paths["html"].read_text()
    assert "<p class='empty'>No LAs excluded as comparators.</p>" in page
    assert "<details><summary>Every comparison (3 rows)</summary>" in page
    assert paths["parity"].exists() and "href='parity.html'" in page
    assert page.count("class='table-wrap'") == 2
    assert "<caption>Aggregations (pre-trend Wald p = not available)</caption>" in page
    assert "p = not available" in page
    png = (tmp_path / "figures" / "event_study.png").read_bytes()
    import struct

    w, _ = struct.unpack(">II", png[16:24])
    assert w >= 2 * 6 * 96 * 0.8  # 2x the display resolution; the tight bbox trims the margins (~15 %)
    assert "Event study (Callaway" in page
    assert min(t.get_fontsize() for t in ax.get_legend().get_texts()) >= 9


def test_acro_reasons(tmp_path) -> None:
    pytest.importorskip("acro")
    from fvdid.reporting.sdc import acro_check

    rng = np.random.default_rng(1)
    data = pd.DataFrame({"year": rng.choice(["a", "b"], 400), "group": rng.choice(["t", "c"], 400),
                         "age": rng.normal(8, 3, 400)})
    res = acro_check(data, tmp_path / "acro", index="year", columns="group", means=["age"])
    assert res is not None and set(res["reasons"]) == set(res["outputs"]) and len(res["outputs"]) == 2
    for r in res["reasons"].values():
        assert len(r) > 20 and "[" not in r, r


def test_provenance_has_versions_commit_config_and_mapping(tmp_path) -> None:
    from fvdid.config import RunConfig
    from fvdid.stages.provenance import git_commit, provenance, provenance_section

    m = tmp_path / "map.toml"
    m.write_text('[children]\nchild_id = "ChildID"\n')
    prov = provenance(RunConfig(seed=7), "x", "abc", mapping=m)
    for k in ("r_installed", "r_parity_goldens", "r_reference_packages", "git_commit", "config"):
        assert k in prov
    assert {"rpy2", "acro"} <= set(prov["packages"])
    assert prov["config"]["seed"] == 7 and prov["column_mapping"] == {"children": {"child_id": "ChildID"}}
    assert git_commit(tmp_path) == "not a git checkout"
    sec = provenance_section(prov, ())
    names = {t.name: t for t in sec.tables}
    assert set(names) == {"provenance", "configuration", "column_mapping"}
    assert names["column_mapping"].frame.iloc[0].tolist() == ["children", "ChildID", "child_id"]


def test_piped_progress_prints_one_line_per_stage() -> None:
    from fvdid.cli import _StageLog

    now = iter([0.0, 1.0, 4.0, 4.0, 65.0, 65.0, 66.0, 66.0]).__next__
    lines: list[str] = []
    log = _StageLog(clock=now, echo=lines.append)
    log.start("load extract")
    log.start("match LAs")
    log.start("write the appendix")
    log.finish()
    assert lines == ["[1/7] load extract: 0:00:03", "[2/7] match LAs: 0:01:01",
                     "[3/7] write the appendix: 0:00:01", "done 0:01:06"]
