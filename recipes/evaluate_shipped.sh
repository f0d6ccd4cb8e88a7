#!/usr/bin/env bash
# The figures in the README: Kodak RD of every shipped model (float and integer) with
# JPEG/WebP anchors, the quantization ablation, and the learning curves.
#   KODAK=../shared/data/kodak CALIB=../shared/data/train bash recipes/evaluate_shipped.sh
set -euo pipefail
KODAK=${KODAK:-../shared/data/kodak}
CALIB=${CALIB:-../shared/data/train}
mkdir -p results docs
models=()
for f in model/weights/*.pt model/weights/*.json; do
    [ -e "$f" ] && models+=(--model "$(basename "${f%.*}")")
done
licfpga eval "$KODAK" "${models[@]}" --json results/kodak.json --plot docs/rd-kodak.png | tee results/kodak.txt
# Each integer model against its float self (hybrid int8 conv + GDN32, QAT).
licfpga bdrate results/kodak.json \
    --anchor-curve student-n64 --test-curve student-n64-int8 \
    --anchor-curve student-n64-nokd --test-curve student-n64-nokd-int8 \
    --anchor-curve student-n32 --test-curve student-n32-int8 | tee results/int8-vs-float.txt
licfpga quant-ablation "$KODAK" --model student-n64-q2 --model student-n64-q3 --calib "$CALIB" \
    --json results/quant-ablation.json | tee results/quant-ablation.txt
licfpga learning-curve --plot docs/learning-curve.png --json results/learning-curve.json | tee results/learning-curve.txt
