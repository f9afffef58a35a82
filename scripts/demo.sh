#!/usr/bin/env bash
# The README's main job on the embedded default, end to end on CPU:
#   1. what the shipped QM9 model generates: sample molecules from checkpoints/qm9_noh_gaunt_cpu.ckpt
#      and evaluate them (metrics.json, per-molecule CSV, HTML report with pictures);
#   2. the shipped drug-like model (checkpoints/druglike_noh_gaunt_cpu.ckpt, MOSES-3D): drug-sized molecules,
#      evaluated the same way;
#   3. a demonstration of the training loop: QM9 (offline, from the qm9pack package, heavy atoms)
#      -> train configs/demo.yaml for a few minutes -> sample -> evaluate the same way.
# Every run writes a new folder (runs/demo-<time> unless given), so earlier results are never lost.
# DEMO_MINUTES (training time, default 5), DEMO_SAMPLES (default 200) and DEMO_STEPS (reverse
# steps, default 100; the models are trained with 500) and DEMO_DRUGLIKE_SAMPLES (default 50) override the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/demo-$(date +%Y%m%d-%H%M%S)}
minutes=${DEMO_MINUTES:-5}
samples=${DEMO_SAMPLES:-200}
steps=${DEMO_STEPS:-100}
druglike_samples=${DEMO_DRUGLIKE_SAMPLES:-50}
shipped=checkpoints/qm9_noh_gaunt_cpu.ckpt
druglike=checkpoints/druglike_noh_gaunt_cpu.ckpt
molgen=.venv/bin/molgen
mkdir -p "$out"

echo "== 1/6 the shipped model ($shipped): sample $samples molecules with $steps reverse steps"
$molgen sample --ckpt "$shipped" --num "$samples" --steps "$steps" --out "$out/shipped_samples.sdf" --seed 0
$molgen evaluate "$out/shipped_samples.sdf" --metrics standard --out "$out/shipped_eval"

echo "== 2/6 the shipped drug-like model ($druglike): sample $druglike_samples molecules with $steps reverse steps"
$molgen sample --ckpt "$druglike" --num "$druglike_samples" --steps "$steps" --out "$out/druglike_samples.sdf" --seed 0
$molgen evaluate "$out/druglike_samples.sdf" --metrics standard --out "$out/druglike_eval" --quiet

echo "== 3/6 prepare QM9, heavy atoms (processed once, then cached under data/processed/qm9_noh)"
$molgen data qm9 --source auto --remove-hs

echo "== 4/6 a demonstration of the training loop: configs/demo.yaml for $minutes minutes"
$molgen train --config configs/demo.yaml trainer.output_dir="$out/train" optim.max_minutes="$minutes"

echo "== 5/6 sample $samples molecules from the $minutes-minute model"
$molgen sample --ckpt "$out/train/checkpoints/last.ckpt" --num "$samples" --steps "$steps" --out "$out/samples.sdf" --seed 0

echo "== 6/6 evaluate them against the QM9 training split"
$molgen evaluate "$out/samples.sdf" --reference qm9_noh --metrics standard --out "$out/eval" --quiet
echo "main job done: the shipped model's molecules in $out/shipped_samples.sdf, report $out/shipped_eval/report.html;"
echo "the drug-like model's in $out/druglike_samples.sdf, report $out/druglike_eval/report.html;"
echo "the $minutes-minute demonstration model's in $out/samples.sdf, report $out/eval/report.html"
