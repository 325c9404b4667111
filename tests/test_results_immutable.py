"""Result objects are immutable in substance: no mutation attempt changes ``summary()``.

Every result class exported from ``fvdid`` is built on a small dataset (the parity fixtures or
a few generated rows); then every Series / DataFrame / array / dict field is attacked with the
usual in-place writes. Each attempt must raise or leave ``summary()`` and ``to_dict()`` as they
were.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import fvdid
from fvdid._results import ResultMixin

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "data"
QUARTERS = pd.period_range("2016Q1", "2023Q4", freq="Q")
GO_LIVE = pd.Period("2021Q3", freq="Q")


def _csv(rel: str) -> pd.DataFrame:
    return pd.read_csv(FIX / rel)


def _ols() -> Any:
    return fvdid.ols("y ~ treat + x1 + C(cat) | unit", _csv("regression/panel_twfe.csv"),
                     vcov="CR1", cluster="unit")


def _la_panel(n_las: int = 30, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    common = 0.3 + np.cumsum(rng.normal(0, 0.01, len(QUARTERS)))
    rows = [
        pd.DataFrame({"la": f"E{9000 + i:05d}", "quarter": QUARTERS,
                      "y": common + rng.normal(0, 0.03) + rng.normal(0, 0.004, len(QUARTERS))})
        for i in range(n_las)
    ]
    return pd.concat(rows, ignore_index=True)


def _match() -> Any:
    panel = _la_panel()
    return fvdid.match_las(panel, outcome="y", go_live={"E09000": GO_LIVE, "E09001": GO_LIVE})


def _placebo() -> Any:
    from fvdid.match_las import placebo_tests

    return placebo_tests(_match(), _la_panel(), outcome="y")


def _att_gt() -> Any:
    d = _csv("did/panel_unbalanced.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fvdid.att_gt(d, y="y", time="year", cohort="cohort", unit="id")


def _cem() -> Any:
    d = _csv("cem/children.csv")
    return fvdid.cem(d, "treated", covariates=["gender", "age_at_referral", "fsm"])


def _rubin() -> Any:
    d = _csv("regression/mi_long.csv")
    fits = [fvdid.ols("y ~ x1 + x2 + g", g) for _, g in d.groupby(".imp")]
    return fvdid.rubin(fits)


def _randomization() -> Any:
    rng = np.random.default_rng(0)
    effects = {f"L{i}": float(v) for i, v in enumerate(rng.normal(size=6))}
    return fvdid.randomization_test(
        lambda a, r: (float(np.mean([effects[u] for u in a])), 1.0), ["L0", "L1"],
        list(effects), null_grid=[-1.0, 0.0, 1.0])


FACTORIES: dict[str, Callable[[], Any]] = {
    "OLSResult": _ols,
    "BoottestResult": lambda: fvdid.boottest(_ols(), "treat", "unit",
                                             data=_csv("regression/panel_twfe.csv"), B=199, seed=1),
    "RandomEffectsResult": lambda: fvdid.random_effects(
        "y ~ x1 + x2 + z", _csv("regression/re_balanced.csv"), unit="id", time="t"),
    "LogitResult": lambda: fvdid.logit("y ~ x1 + x2", _csv("glm/logit_panel.csv")),
    "ClogitResult": lambda: fvdid.clogit("y ~ x1 + x2", _csv("glm/clogit_strata.csv"),
                                         strata="stratum"),
    "LmerResult": lambda: fvdid.lmer("y ~ x1 + x2", _csv("glm/lmer_balanced.csv"), group="group"),
    "TobitResult": lambda: fvdid.tobit("y ~ x1 + x2", _csv("glm/tobit_censored.csv"), left=0),
    "HurdleResult": lambda: fvdid.hurdle("yp ~ x1 + x2", _csv("glm/hurdle_counts.csv"),
                                         dist="poisson"),
    "RubinResult": _rubin,
    "CEMResult": _cem,
    "ImbalanceResult": lambda: fvdid.l1_imbalance(_csv("cem/children.csv"), "treated",
                                                  ["gender", "age_at_referral", "fsm"]),
    "AttGtResult": _att_gt,
    "AggteResult": lambda: fvdid.aggte(_att_gt(), "simple"),
    "BaconResult": lambda: fvdid.bacon(_csv("bacon/la_quarter.csv"), y="referral_rate",
                                       treatment="fv", unit="la", time="quarter"),
    "LAMatchResult": _match,
    "PlaceboResult": _placebo,
    "MDESResult": lambda: fvdid.mdes(n_clusters=10, cluster_size=1000, icc=0.02, baseline=0.04),
    "RandomizationResult": lambda: _randomization(),
    "ConleyTaberResult": lambda: fvdid.conley_taber(
        _csv("boottest/twfe_panel.csv").groupby(["la", "year"], as_index=False)[["y", "fv"]]
        .mean().assign(fv=lambda d: (d["fv"] > 0).astype(int)),
        y="y", unit="la", time="year", treat="fv"),
    "ClusterDiagnosticsResult": lambda: fvdid.cluster_diagnostics(
        _ols(), "treat", "unit", data=_csv("regression/panel_twfe.csv")),
    "CBAResult": lambda: fvdid.cba(ate=-0.02, p_value=0.01, children_per_la_year=1000,
                                   benefit_per_child=50_000),
}


def _exported_result_classes() -> list[str]:
    return sorted(
        n for n in fvdid.__all__
        if isinstance(getattr(fvdid, n), type) and issubclass(getattr(fvdid, n), ResultMixin)
    )


def test_every_exported_result_class_is_covered() -> None:
    # A new result class must get a factory here, so the protection is checked for it too.
    assert set(_exported_result_classes()) <= set(FACTORIES)


def _attacks(value: Any) -> list[Callable[[], object]]:
    out: list[Callable[[], object]] = []
    if isinstance(value, pd.Series) and len(value):
        lab = value.index[0]
        out += [
            lambda: value.__setitem__(lab, 99),
            lambda: value.iloc.__setitem__(0, 99),
            lambda: value.values.__setitem__(0, 99),
            lambda: value.sort_values(inplace=True),
            lambda: setattr(value, "name", "changed"),
        ]
    if isinstance(value, pd.DataFrame) and value.size:
        col = value.columns[0]
        out += [
            lambda: value.iloc.__setitem__((0, 0), 99),
            lambda: value.values.__setitem__((0, 0), 99),
            lambda: value.loc.__setitem__((value.index[0], col), 99),
            lambda: value.__setitem__(col, 99),
            lambda: value.drop(index=value.index[0], inplace=True),
        ]
    if isinstance(value, np.ndarray) and value.size:
        out.append(lambda: value.flat.__setitem__(0, 99))
        out.append(lambda: value.fill(99))
    if isinstance(value, (dict, list)):
        out.append(value.clear)
    return out


def _snapshot(res: Any) -> tuple[str, str]:
    summ = res.summary()  # a string; BaconResult's is a DataFrame
    text = summ.to_string() if isinstance(summ, pd.DataFrame) else str(summ)
    return text, json.dumps(res.to_dict(), sort_keys=True, default=str)


# pandas 2 warns (FutureWarning, ChainedAssignmentError) on writes into a handed-out copy
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_mutation_attempts_do_not_change_the_result(name: str) -> None:
    res = FACTORIES[name]()
    assert type(res).__name__ == name
    before = _snapshot(res)
    first = dataclasses.fields(res)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(res, first, None)
    for f in dataclasses.fields(res):
        values = [getattr(res, f.name)]
        nested = values[0]
        if dataclasses.is_dataclass(nested) and not isinstance(nested, type):
            values += [getattr(nested, g.name) for g in dataclasses.fields(nested)]
        for value in values:
            for attack in _attacks(value):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        attack()
                    except (ValueError, TypeError):
                        pass
                assert _snapshot(res) == before, f"{name}.{f.name} was changed by a mutation"


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_ols_writes_raise() -> None:
    fit = _ols()
    before = fit.summary()
    with pytest.raises(ValueError, match="read-only"):
        fit.params["treat"] = 99
    with pytest.raises(ValueError, match="read-only"):
        fit.params.iloc[0] = 99
    with pytest.raises(ValueError, match="read-only"):
        fit.params.values[0] = 99
    with pytest.raises(ValueError, match="read-only"):
        fit.vcov.iloc[0, 0] = 99
    with pytest.raises(ValueError, match="read-only"):
        fit.design.X[0, 0] = 99
    with pytest.raises(ValueError, match="read-only"):
        fit.resid.loc[fit.resid.index[0]] = 99
    assert fit.summary() == before
    assert fit.params["treat"] != 99


def test_inputs_are_not_frozen_and_structural_edits_stay_local() -> None:
    fit = _ols()
    p = fit.params
    p["new"] = 1.0  # enlarging the handed-out copy is allowed and does not reach the result
    assert "new" in p.index and "new" not in fit.params.index
    s = pd.Series([1.0, 2.0], index=["a", "b"])
    res = fvdid.rubin([(s, pd.Series([0.1, 0.2], index=["a", "b"])),
                       (s + 0.1, pd.Series([0.1, 0.2], index=["a", "b"]))], dfcom=50)
    s["a"] = 5.0  # the caller's own Series stays writeable
    assert res.params["a"] != 5.0


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_subclass_post_init_still_protected() -> None:
    @dataclasses.dataclass(frozen=True)
    class Custom(ResultMixin):
        values: pd.Series
        doubled: pd.Series = dataclasses.field(init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "doubled", self.values * 2)

        def tidy(self) -> pd.DataFrame:
            return pd.DataFrame({"v": self.values, "d": self.doubled})

    c = Custom(pd.Series([1.0, 2.0], index=["a", "b"]))
    with pytest.raises(ValueError, match="read-only"):
        c.doubled["a"] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        c.values["a"] = 0.0
    assert c.doubled["a"] == 2.0
