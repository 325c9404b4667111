"""Group-level t test: inference from a few independent group estimates (Ibragimov & Müller).

With few treated clusters, cluster-robust variances cannot see the treated clusters' own
shocks. Ibragimov & Müller (2010, *J. Bus. Econ. Stat.* 28: 453–468; 2016, *Rev. Econ. Stat.*
98: 83–96) estimate the parameter separately in each of q independent groups and run a
t test on the q estimates with t(q − 1) critical values. Bakirov & Székely (2006) show the test
is valid (size at most α for α ≤ 0.083) when the group estimates are independent, centred
normals with *any* variances: heteroskedasticity across groups (pairs of very different sizes,
LA shocks of different scale) makes it conservative, never liberal.

Weighted average. The headline is a weighted mean of group effects, θ = Σ_g W_g θ_g with
Σ_g W_g = 1 (W_g: the group's share of FV children). The test is run on x_g = q · W_g · θ̂_g,
whose mean is θ̂ and which are independent centred normals under H0 (all group effects 0), so
the same guarantee holds for the weighted estimand. Under a weak null (Σ W_g θ_g = 0 with
heterogeneous θ_g) the spread of the x_g grows, which again makes the test conservative. The
interval is x̄ ± t_{q−1, 1−α/2} · s / √q, the set of θ0 not rejected.

Independence. Pairs that share an LA (a comparator serving two treatment LAs) are not
independent: :func:`independent_groups` merges every set of pairs connected through a shared LA
into one group, whose estimate is the weighted mean of its pairs'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from fvdid._results import ResultMixin
from fvdid.errors import FvdidInputError

__all__ = ["GroupTResult", "group_t_test", "independent_groups"]


@dataclass(frozen=True)
class GroupTResult(ResultMixin):
    """Result of :func:`group_t_test`.

    Attributes
    ----------
    estimate
        The weighted mean Σ_g W_g θ̂_g (= the mean of the x_g).
    std_error
        s / √q, s the sample standard deviation of the x_g = q W_g θ̂_g.
    df
        q − 1.
    p_value, conf_low, conf_high
        Two-sided t(q − 1) test of θ = 0 and the 1 − α interval.
    n_groups
        q, the number of independent groups.
    groups
        One row per group: ``group``, ``weight`` (W_g), ``estimate`` (θ̂_g), ``x`` (q W_g θ̂_g).
    """

    estimate: float
    std_error: float
    df: float
    p_value: float
    conf_low: float
    conf_high: float
    n_groups: int
    groups: pd.DataFrame

    def tidy(self) -> pd.DataFrame:
        return self.groups


def group_t_test(estimates: Mapping[str, float] | pd.Series, weights: Mapping[str, float] | pd.Series,
                 *, alpha: float = 0.05) -> GroupTResult:
    """Ibragimov–Müller t test of a weighted mean of independent group estimates.

    Parameters
    ----------
    estimates
        θ̂_g by group label.
    weights
        W_g by the same labels (non-negative; normalised to sum to 1).
    alpha
        Level of the test and of the interval.

    Returns
    -------
    GroupTResult
        With fewer than two groups (or all x_g equal) the standard error, p-value and interval are
        NaN: no spread to learn from.
    """
    est = pd.Series(estimates, dtype=float)
    w = pd.Series(weights, dtype=float)
    if set(est.index) != set(w.index):
        raise FvdidInputError(
            f"group_t_test: estimates and weights must have the same group labels; only in "
            f"estimates: {sorted(map(str, set(est.index) - set(w.index)))}, only in weights: "
            f"{sorted(map(str, set(w.index) - set(est.index)))}")
    w = w.reindex(est.index)
    bad = est.index[~np.isfinite(est.to_numpy()) | ~np.isfinite(w.to_numpy()) | (w.to_numpy() < 0)]
    if len(bad):
        raise FvdidInputError(f"group_t_test: groups {list(map(str, bad))} have a non-finite estimate "
                              "or a negative / non-finite weight; expected finite estimates and weights ≥ 0")
    if not w.sum() > 0:
        raise FvdidInputError("group_t_test: the weights sum to 0; expected a positive total weight")
    w = w / w.sum()
    q = len(est)
    x = q * w * est
    xbar = float(x.mean())
    nan = float("nan")
    se = float(x.std(ddof=1) / np.sqrt(q)) if q >= 2 else nan
    if q >= 2 and se > 0:
        df = float(q - 1)
        tq = float(stats.t.ppf(1 - alpha / 2, df))
        p = float(2 * stats.t.sf(abs(xbar / se), df))
        lo, hi = xbar - tq * se, xbar + tq * se
    else:
        df, p, lo, hi = float(max(q - 1, 0)), nan, nan, nan
    groups = pd.DataFrame({"group": est.index.astype(str), "weight": w.to_numpy(),
                           "estimate": est.to_numpy(), "x": x.to_numpy()})
    return GroupTResult(xbar, se, df, p, lo, hi, q, groups)


def independent_groups(pair_las: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Map each pair to its independent group: pairs connected through a shared LA are merged.

    Parameters
    ----------
    pair_las
        The LAs of each pair (treatment LA and comparators), by pair label.

    Returns
    -------
    dict
        Pair label -> group label (the pairs of a group joined by ``+``, in sorted order).
    """
    parent = {p: p for p in pair_las}

    def find(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    owner: dict[str, str] = {}
    for p, las in pair_las.items():
        for la in las:
            if la in owner:
                a, b = find(p), find(owner[la])
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[la] = p
    members: dict[str, list[str]] = {}
    for p in pair_las:
        members.setdefault(find(p), []).append(p)
    label = {root: "+".join(sorted(ps)) for root, ps in members.items()}
    return {p: label[find(p)] for p in pair_las}
