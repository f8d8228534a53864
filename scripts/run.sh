#!/usr/bin/env bash
# Set up what is missing, then render the bundled sample script into output/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
sample=$(.venv/bin/python -c "import narrator, pathlib; print(pathlib.Path(narrator.__file__).parent / 'samples' / 'sample.txt')")
exec .venv/bin/narrator render "$sample" --out-dir output "$@"
