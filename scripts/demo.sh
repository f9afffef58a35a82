#!/usr/bin/env bash
# The README's main job on the embedded default, end to end on CPU:
#   QM9 (offline, from the qm9pack package) -> train a small EQGAT-diff for a few minutes
#   -> sample molecules to SDF -> evaluate them (metrics.json, per-molecule CSV, HTML report),
#   then the same sampling from the shipped, longer-trained checkpoint for comparison.
# Every run writes a new folder (runs/demo-<time> unless given), so earlier results are never lost.
# DEMO_MINUTES (training time, default 5), DEMO_SAMPLES (default 200) and DEMO_STEPS (reverse
# steps, default 100; the model is trained with 500) override the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/demo-$(date +%Y%m%d-%H%M%S)}
minutes=${DEMO_MINUTES:-5}
samples=${DEMO_SAMPLES:-200}
steps=${DEMO_STEPS:-100}
molgen=.venv/bin/molgen
mkdir -p "$out"

echo "== 1/4 prepare QM9 (processed once, then cached under data/processed/qm9)"
$molgen data qm9 --source auto

echo "== 2/4 train configs/demo.yaml for $minutes minutes"
$molgen train --config configs/demo.yaml trainer.output_dir="$out/train" optim.max_minutes="$minutes"

echo "== 3/4 sample $samples molecules with $steps reverse steps"
$molgen sample --ckpt "$out/train/checkpoints/last.ckpt" --num "$samples" --steps "$steps" --out "$out/samples.sdf" --seed 0

echo "== 4/4 evaluate against the QM9 training split"
$molgen evaluate "$out/samples.sdf" --reference qm9 --metrics standard --out "$out/eval"

echo "== for comparison: the shipped model (same architecture, 55 min of CPU training), same sampling"
$molgen sample --ckpt checkpoints/qm9_small_cpu.ckpt --num "$samples" --steps "$steps" --out "$out/shipped_samples.sdf" --seed 0
$molgen evaluate "$out/shipped_samples.sdf" --metrics basic --out "$out/shipped_eval" --quiet
echo "main job done: samples in $out/samples.sdf, report in $out/eval/report.html"
