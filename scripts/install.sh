#!/usr/bin/env bash
# Install what fvdid and its tests need on a fresh Debian machine (run as root, or with sudo
# available): Debian's R 4.2.2 with the reference packages that run live in CI, then fvdid with
# its R bridge (rpy2) and test tools. Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

R_DEBS=(r-base-core r-base-dev r-cran-jsonlite r-cran-data.table r-cran-sandwich r-cran-clubsandwich
        r-cran-plm r-cran-lme4 r-cran-aer r-cran-pscl r-cran-survival r-cran-mice r-cran-brglm2)
# For the appendix tests: headless Chromium (tests/test_browser.py) and pdflatex with booktabs
# (tests/test_latex.py; booktabs is in texlive-latex-recommended, no texlive-latex-extra needed).
TEST_DEBS=(chromium texlive-latex-recommended)
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

need_r=0
command -v Rscript >/dev/null 2>&1 || need_r=1
if [ "$need_r" = 0 ]; then
  Rscript -e 'for (p in c("jsonlite","data.table","sandwich","clubSandwich","plm","lme4","AER","pscl","survival","mice")) if (!requireNamespace(p, quietly = TRUE)) quit(status = 1)' \
    >/dev/null 2>&1 || need_r=1
fi
if [ "$need_r" = 1 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's R and reference packages (apt-get)..."
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${R_DEBS[@]}" >/dev/null
  else
    echo "warning: no apt-get; live R parity will be skipped (replay still runs)" >&2
  fi
fi

need_test_debs=0
command -v pdflatex >/dev/null 2>&1 || need_test_debs=1
command -v chromium >/dev/null 2>&1 || need_test_debs=1
if [ "$need_test_debs" = 1 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Chromium and pdflatex for the appendix tests (apt-get)..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${TEST_DEBS[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
extras="test,sdc"
command -v R >/dev/null 2>&1 && extras="test,sdc,r"
echo "installing fvdid[$extras]..."
$PY -m pip install -q --disable-pip-version-check -e ".[$extras]" linearmodels differences
