"""Pipeline stages: one stage a module, connected by plain data."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["attempt"]

T = TypeVar("T")


def attempt(notes: list[str], label: str, fn: Callable[[], T]) -> T | None:
    """Run one analysis; a failure is recorded in ``notes`` (for the appendix), never hidden.

    The other analyses of the stage still run.
    """
    try:
        return fn()
    except Exception as exc:  # a failed analysis is a finding, reported in the appendix
        notes.append(f"{label} failed: {type(exc).__name__}: {exc}")
        return None
