"""The design of a Monte Carlo study: a TOML of ``SimConfig`` fields plus ``n_children``.

A design fixes the simulated world; an *effect scenario* changes only its effects:

``null``
    every simulated effect (each ``SimConfig`` field named ``effect_*``) set to 0;
``design``
    the design's own effects (``default`` is accepted as a synonym);
a grid value ``v``
    the primary outcome's effect set to the constant ``v`` (``effect_la = effect_max = v``,
    ``effect_growth = 0``); the other outcomes keep the design's effects. ``parse_grid("a:b:k")``
    gives ``k`` equally spaced values from ``a`` to ``b``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fvdid.errors import FvdidInputError
from fvdid.simulation import SimConfig

__all__ = ["Design", "EffectScenario", "load_design", "parse_effects", "parse_grid", "scenarios"]

DEFAULT_N_CHILDREN = 100_000


@dataclass(frozen=True)
class Design:
    """A simulated world: ``n_children`` and the simulator's configuration."""

    n_children: int = DEFAULT_N_CHILDREN
    sim: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.n_children
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise FvdidInputError(f"design key 'n_children' must be a positive integer, got {n!r}")
        SimConfig.from_mapping(dict(self.sim))  # validates keys and values now, not in a worker

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None = None) -> Design:
        """Build a design from a plain mapping; unknown keys raise, naming them."""
        data = dict(mapping or {})
        valid = ("n_children", *SimConfig.field_names())
        unknown = sorted(k for k in data if k not in valid)
        if unknown:
            raise FvdidInputError(
                f"unknown design key(s) {unknown}: a design's keys are 'n_children' and the "
                f"SimConfig fields ({', '.join(SimConfig.field_names())})"
            )
        n = data.pop("n_children", DEFAULT_N_CHILDREN)
        return cls(n_children=n, sim=data)

    def config(self) -> SimConfig:
        """The simulator's configuration under the design's own effects."""
        return SimConfig.from_mapping(dict(self.sim))

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (round-trips through :meth:`from_mapping`)."""
        return {"n_children": int(self.n_children), **{k: _plain(v) for k, v in self.sim.items()}}


def _plain(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    return v


def load_design(path: str | Path | None) -> Design:
    """Read a design TOML (``None``: the default design)."""
    if path is None:
        return Design()
    p = Path(path)
    if not p.is_file():
        raise FvdidInputError(f"design file {str(p)!r} does not exist")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise FvdidInputError(f"design file {str(p)!r} is not valid TOML: {exc}") from exc
    return Design.from_mapping(data)


@dataclass(frozen=True)
class EffectScenario:
    """One effect scenario: its label (``"null"``, ``"design"`` or a grid value) and value.

    ``value`` is the grid value (0 for ``null``; NaN for ``design``, whose effect on the primary
    outcome grows with event time).
    """

    label: str
    kind: str  # "null" | "design" | "grid"
    value: float = float("nan")

    def config(self, design: Design) -> SimConfig:
        """The simulator's configuration of ``design`` under this scenario."""
        base = design.config().to_dict()
        if self.kind == "null":
            base.update({k: 0.0 for k in SimConfig.field_names() if k.startswith("effect_")})
        elif self.kind == "grid":
            base.update(effect_la=float(self.value), effect_max=float(self.value),
                        effect_growth=0.0)
        return SimConfig.from_mapping(base)

    @property
    def slug(self) -> str:
        """The label in a form safe for file names (``-0.01`` -> ``m0p01``)."""
        return self.label.replace("-", "m").replace(".", "p").replace("+", "")


def grid_label(v: float) -> str:
    """The label of a grid value (``%g`` of the value rounded to 12 decimals)."""
    r = round(float(v), 12)
    return f"{r + 0.0:g}"  # + 0.0: no "-0"


def parse_grid(text: str | Sequence[float] | None) -> tuple[float, ...]:
    """``"a:b:k"`` -> ``k`` equally spaced values from ``a`` to ``b``; a sequence passes through."""
    if text is None:
        return ()
    if not isinstance(text, str):
        vals = tuple(float(v) for v in text)
    else:
        parts = text.split(":")
        try:
            if len(parts) != 3:
                raise ValueError
            a, b, k = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise FvdidInputError(
                f"effect grid must read 'a:b:k' (from a to b in k points), got {text!r}"
            ) from None
        if k < 2:
            raise FvdidInputError(f"effect grid needs at least 2 points, got k={k} in {text!r}")
        vals = tuple(float(v) for v in np.linspace(a, b, k))
    if not all(np.isfinite(vals)):
        raise FvdidInputError(f"effect grid values must be finite, got {vals}")
    return tuple(round(v, 12) + 0.0 for v in vals)


def parse_effects(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"null,design"`` -> ``("null", "design")``; ``default`` means ``design``."""
    if text is None:
        return ()
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else [str(s) for s in text]
    out = []
    for s in items:
        if not s:
            continue
        s = "design" if s == "default" else s
        if s not in ("null", "design"):
            raise FvdidInputError(
                f"effect scenario {s!r} is unknown: expected 'null' or 'design' (or a grid "
                "via --effect-grid a:b:k)"
            )
        if s not in out:
            out.append(s)
    return tuple(out)


def scenarios(effects: Sequence[str] = ("null", "design"),
              grid: Sequence[float] = ()) -> tuple[EffectScenario, ...]:
    """The effect scenarios of a study, named effects first, then the grid in its order."""
    out = [EffectScenario(e, e, 0.0 if e == "null" else float("nan")) for e in parse_effects(effects)]
    seen = {s.label for s in out}
    for v in grid:
        lab = grid_label(v)
        if lab in seen:
            raise FvdidInputError(f"effect grid value {lab} appears twice")
        seen.add(lab)
        out.append(EffectScenario(lab, "grid", float(v)))
    if not out:
        raise FvdidInputError("a study needs at least one effect scenario (--effects or --effect-grid)")
    return tuple(out)
