#!/usr/bin/env bash
# Sets up .venv with everything the suite and its tests need, on a fresh CPU machine.
# torch first, pinned, so pip takes the CPU wheel this workplace keeps on disk instead of a
# multi-GB CUDA build; then the project with its extras.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev,eval,tilelang]'
