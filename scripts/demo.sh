#!/usr/bin/env bash
# The main job on the embedded default: QM9 from the offline qm9pack package.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/demo}
mkdir -p "$out"
.venv/bin/molgen data qm9 --source auto
