"""``python -m parity.datasets build [FAMILY ...]``: regenerate fixture datasets + MANIFEST."""

from __future__ import annotations

import sys

from parity.datasets import build


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "build":
        print("usage: python -m parity.datasets build [FAMILY ...]", file=sys.stderr)
        return 2
    for p in build(argv[1:]):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
