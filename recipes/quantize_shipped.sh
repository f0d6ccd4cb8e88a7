#!/usr/bin/env bash
# The integer artefacts of the shipped students: calibration on training crops, a short
# QAT fine-tune, export as model/weights/NAME-int8.{npz,json}. Resumable like the
# training recipe (QAT checkpoints in $RUNS).
set -euo pipefail
DATA=${DATA:-../shared/data/train}
RUNS=${RUNS:-runs}
STEPS=${STEPS:-100}
export OMP_WAIT_POLICY=PASSIVE
for name in student-n64-q1 student-n64-q2 student-n64-q3 student-n64-q4 \
            student-n64-nokd-q1 student-n64-nokd-q2 student-n64-nokd-q3 student-n64-nokd-q4 student-n32-q2 student-n32-q3; do
    [ -f "model/weights/$name.pt" ] || { echo "skip $name: not trained yet"; continue; }
    licfpga quantize --model "$name" --data "$DATA" --steps "$STEPS" --batch 8 --crop 128 \
        --checkpoint "$RUNS/$name-qat.pt"
done
