#!/usr/bin/env bash
# Set up what is missing, then run lint, type checks and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check narrator tests scripts
.venv/bin/mypy narrator
exec .venv/bin/python -m pytest "$@"
