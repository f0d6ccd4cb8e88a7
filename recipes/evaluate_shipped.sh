#!/usr/bin/env bash
# The figures in the README: Kodak RD of every shipped float model and of the distilled
# N=64 students' integer artefacts, with JPEG/WebP anchors; the quantization ablation;
# the learning curves.
#   KODAK=../shared/data/kodak CALIB=../shared/data/train bash recipes/evaluate_shipped.sh
# ABLATION_LIMIT=K runs the ablation on the first K Kodak images only, for a quick look
# (all 24 took 55 min on 2 cores beside other jobs: five variants of two rates);
# ABLATION=0 skips it (when only the teachers changed, the students' ablation stands).
set -euo pipefail
KODAK=${KODAK:-../shared/data/kodak}
CALIB=${CALIB:-../shared/data/train}
ABLATION_LIMIT=${ABLATION_LIMIT:-}
mkdir -p results docs
models=()
for f in model/weights/*.pt model/weights/student-n64-q?-int8.json; do
    [ -e "$f" ] && models+=(--model "$(basename "${f%.*}")")
done
licfpga eval "$KODAK" "${models[@]}" --json results/kodak.json --plot docs/rd-kodak.png | tee results/kodak.txt
# JPEG and WebP at low qualities too, where the shipped models' PSNRs lie, and BD-rates against that JPEG.
licfpga eval "$KODAK" --anchors jpeg,webp --anchor-qualities 1 2 3 4 5 6 8 10 --json results/kodak-low-anchors.json \
    > results/kodak-low-anchors.txt
licfpga bdrate results/kodak-low-anchors.json results/kodak.json --anchor-curve jpeg | tee results/bd-vs-low-jpeg.txt
# The distilled N=64 student's integer artefacts (hybrid int8 conv + GDN32, QAT) against their float selves.
licfpga bdrate results/kodak.json --anchor-curve student-n64 --test-curve student-n64-int8 | tee results/int8-vs-float.txt
licfpga learning-curve --plot docs/learning-curve.png --json results/learning-curve.json | tee results/learning-curve.txt
[ "${ABLATION:-1}" = 0 ] && exit 0
licfpga quant-ablation "$KODAK" --model student-n64-q2 --model student-n64-q3 --calib "$CALIB" \
    ${ABLATION_LIMIT:+--limit "$ABLATION_LIMIT"} --json results/quant-ablation.json | tee results/quant-ablation.txt
