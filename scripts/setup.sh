#!/usr/bin/env bash
# Set up everything narrator needs; safe to run again, and quick when nothing is missing.
#   - system packages: libespeak-ng1 espeak-ng ffmpeg, fonts-dejavu-core (video title cards,
#     burned subtitles), and chromium chromium-driver for the
#     page tests (apt-get, as root)
#   - .venv with narrator, its Piper engine and voice, and its dev tools (editable)
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(libespeak-ng1 espeak-ng ffmpeg chromium chromium-driver fonts-dejavu-core)
PYTHON=${PYTHON:-python3}

missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Reinstall the project only when its declared dependencies changed.
stamp=.venv/.narrator-setup
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! .venv/bin/python -c "import narrator" 2>/dev/null; then
  echo "setup: installing narrator into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev,piper]'
  echo "$want" > "$stamp"
fi
