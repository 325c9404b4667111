"""Collect the cases of every ``parity/cases/<family>.py`` module."""

from __future__ import annotations

import functools
import importlib
import pkgutil

from parity.case import Case

__all__ = ["all_cases", "get_case"]


@functools.cache
def all_cases() -> tuple[Case, ...]:
    import parity.cases as pkg

    cases: list[Case] = []
    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"parity.cases.{mod.name}")
        cases.extend(getattr(module, "CASES", []))
    names = [c.name for c in cases]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate parity case names: {dupes}")
    return tuple(cases)


def get_case(name: str) -> Case:
    for c in all_cases():
        if c.name == name:
            return c
    raise KeyError(f"no parity case named {name!r}")
