"""Randomization inference: the assignments of treatment to LAs and the statistic's contract.

The assignment space of :func:`fvdid.randomization_test` (its module docstring states the
convention: assignments per go-live date, counted once up to swaps of same-date slots), its full
enumeration and its seeded sampling without duplicates, and the check of what the statistic
callable returns.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterator
from typing import Any

import numpy as np

from fvdid.errors import FvdidInputError

__all__ = ["AssignmentSpace", "Key", "check_pair", "choose_assignments", "sort_unique"]

Key = tuple[tuple[int, ...], ...]


def sort_unique(values: list[Any]) -> list[Any]:
    try:
        return sorted(set(values))
    except TypeError:
        return sorted(set(values), key=str)


class AssignmentSpace:
    """The assignments: per go-live group, a set of LAs (as sorted tuples of LA positions)."""

    def __init__(self, units: list[Hashable], groups: list[list[int]], dated: bool):
        self.units = units
        self.groups = groups  # positions (in units) of the treated slots, per go-live date
        self.dated = dated
        self.n = len(units)
        count = 1
        left = self.n
        for g in groups:
            count *= math.comb(left, len(g))
            left -= len(g)
        self.count = count
        self.actual: Key = tuple(tuple(g) for g in groups)

    def enumerate(self) -> Iterator[Key]:
        def rec(i: int, remaining: tuple[int, ...]) -> Iterator[Key]:
            if i == len(self.groups):
                yield ()
                return
            for combo in itertools.combinations(remaining, len(self.groups[i])):
                rest = tuple(u for u in remaining if u not in combo)
                for tail in rec(i + 1, rest):
                    yield (combo, *tail)

        yield from rec(0, tuple(range(self.n)))

    def sample(self, B: int, rng: np.random.Generator) -> list[Key]:
        seen = {self.actual}
        out: list[Key] = []
        sizes = [len(g) for g in self.groups]
        while len(out) < B:
            perm = rng.permutation(self.n)
            key: list[tuple[int, ...]] = []
            start = 0
            for s in sizes:
                key.append(tuple(sorted(int(u) for u in perm[start : start + s])))
                start += s
            k = tuple(key)
            if k not in seen:
                seen.add(k)
                out.append(k)
        return out

    def to_user(self, key: Key) -> Any:
        if not self.dated:
            return frozenset(self.units[u] for u in key[0])
        return {
            self.units[slot]: self.units[la]
            for slots, las in zip(self.groups, key)
            for slot, la in zip(slots, las)
        }

    def label(self, key: Key) -> str:
        if not self.dated:
            return "+".join(str(self.units[u]) for u in key[0])
        pairs = [
            (slot, la) for slots, las in zip(self.groups, key) for slot, la in zip(slots, las)
        ]
        pairs.sort()
        return "; ".join(f"{self.units[s]}->{self.units[la]}" for s, la in pairs)

    def treated_positions(self, key: Key) -> list[int]:
        return [u for g in key for u in g]



def choose_assignments(
    space: AssignmentSpace,
    B: int,
    enumerate_max: int | None,
    seed: int | None,
    notes: list[str],
) -> tuple[list[Key], bool]:
    """The actual assignment first, then every other one or ``B`` sampled ones.

    Every assignment is enumerated when there are at most ``enumerate_max`` (default ``B + 1``)
    or no more than ``B`` others. Returns ``(keys, enumerated)``; announces in ``notes``.
    """
    cap = B + 1 if enumerate_max is None else int(enumerate_max)
    if space.count <= cap or space.count - 1 <= B:
        if space.count > cap:
            notes.append(f"B={B} >= the {space.count - 1} other assignments: all enumerated")
        return [space.actual, *[k for k in space.enumerate() if k != space.actual]], True
    rng = np.random.default_rng(seed)
    return [space.actual, *space.sample(B, rng)], False


def check_pair(out: Any, label: str, method: str) -> tuple[float, float]:
    try:
        est, se = out
        est, se = float(est), float(se)
    except (TypeError, ValueError) as exc:
        raise FvdidInputError(
            f"statistic must return (estimate, std_error); for assignment {label} it returned "
            f"{out!r}"
        ) from exc
    if not math.isfinite(est):
        raise FvdidInputError(f"statistic returned a non-finite estimate for assignment {label}")
    if method == "t" and not (math.isfinite(se) and se > 0):
        raise FvdidInputError(
            f"statistic returned std_error {se!r} for assignment {label}; method='t' needs a "
            "positive finite standard error"
        )
    return est, se
