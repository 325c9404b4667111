#!/usr/bin/env bash
# Create the virtual environment of the Python peers that `python -m bench` times beside fvdid.
#
# The peers pin their own numpy / pandas / polars versions, so they never go into fvdid's
# interpreter: they live in a separate venv outside the project (default /opt/fvdid-peers;
# override with FVDID_PEERS_VENV). The harness uses <venv>/bin/python when it exists (or the
# interpreter named by FVDID_PEERS_PYTHON) and reports every peer as "absent" otherwise.
#
#   bash bench/setup_peers.sh            # create / update the venv
#   FVDID_PEERS_VENV=/tmp/peers bash bench/setup_peers.sh
#
# Each package is installed on its own so that one that fails to build does not take the
# others down; the harness reports a peer that is not importable as absent.
set -u
VENV="${FVDID_PEERS_VENV:-/opt/fvdid-peers}"
PY="${PYTHON:-python3}"
PEERS=(diff-diff csdid differences pyfixest wildboottest cem linearmodels statsmodels)

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV" || { echo "cannot create $VENV" >&2; exit 1; }
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip wheel >/dev/null || true
# Common scientific base first (resolved once), then each peer.
"$VENV/bin/python" -m pip install --quiet numpy pandas scipy pyarrow || exit 1
failed=()
for p in "${PEERS[@]}"; do
  echo "== installing $p"
  if ! "$VENV/bin/python" -m pip install --quiet "$p"; then
    failed+=("$p")
  fi
done
echo
"$VENV/bin/python" - <<'PY'
from importlib import metadata
for dist in ("diff-diff", "csdid", "differences", "pyfixest", "wildboottest", "cem",
             "linearmodels", "statsmodels", "numpy", "pandas"):
    try:
        print(f"{dist:14s} {metadata.version(dist)}")
    except metadata.PackageNotFoundError:
        print(f"{dist:14s} (not installed)")
PY
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed to install: ${failed[*]} (the harness reports them as absent)" >&2
fi
echo "peers venv: $VENV/bin/python"
