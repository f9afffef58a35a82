#!/usr/bin/env bash
# The device run of issue 9 item 5 (one H200, <= 10 minutes): step timings of L = 1, Gaunt L = 2 and e3nn L = 2,
# configs/gpu_train.yaml (demo.yaml's Gaunt L = 2 at a larger size, bf16 autocast, large batches) trained for what
# is left of BUDGET_MINUTES, 1,000 samples at 100 steps; everything lands in $OUT (see scripts/gpu_train.py).
#
#   OUT=DIR BUDGET_MINUTES=8 GPU_DATA=qm9_noh_gpu bash scripts/gpu_train.sh [gpu_train.py run options] [key=value ...]
#
# GPU_DATA_ROOT/GPU_DATA become the overrides dataset.root/dataset.name, after the ones given.
#
# Installs nothing: the image's python3 has torch, lightning and e3nn; molgen is imported from this checkout
# (PYTHONPATH). RDKit is not needed on the device. The data set is a processed dataset carried along, made here
# with `python scripts/export_train_subset.py --name qm9_noh --out-name qm9_noh_gpu` (~30 MB).
# Afterwards, on a machine with RDKit: python scripts/gpu_train.py finish OUT --out runs/gpu_finish --evaluate
# On the lent H200 (the device tool sets OUT): command `bash scripts/gpu_train.sh`, carry
# ["data/processed/qm9_noh_gpu"], timeout_s 600. Tested on CPU, RDKit hidden: tests/training/test_gpu_script.py.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-runs/gpu_out}
budget=${BUDGET_MINUTES:-8}
dataset=${GPU_DATA:-qm9_noh_gpu}
root=${GPU_DATA_ROOT:-data}
python=${PYTHON:-python3}
mkdir -p "$out"

if [[ ! -f "$root/processed/$dataset/train/meta.json" || ! -f "$root/processed/$dataset/statistics.json" ]]; then
    echo "gpu_train.sh: error: no processed dataset at $root/processed/$dataset (train/ and statistics.json);" \
         "make it with scripts/export_train_subset.py and carry it" >&2
    exit 2
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$python" -c "import torch, lightning, e3nn, molgen; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-', 'lightning', lightning.__version__)"
"$python" scripts/gpu_train.py run --out "$out" --budget-minutes "$budget" "$@" "dataset.root=$root" \
    "dataset.name=$dataset" 2>&1 | tee "$out/gpu_train.log"
