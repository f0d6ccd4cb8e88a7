#!/usr/bin/env bash
# The recipe that produced the shipped models. Every step resumes its checkpoint or is
# skipped when done, so the script can be stopped and rerun (across sessions too).
#
#   DATA=../shared/data/train RUNS=runs bash recipes/train_shipped.sh          # CPU (default)
#   DATA=.pack/train.npz RUNS=$OUT DEVICE=cuda SCALE=8 bash recipes/train_shipped.sh   # GPU
#
# SCALE multiplies every step count (a GPU affords many more); BATCH and CROP default
# to the CPU settings. Rates: quality 1..4 = λ 0.0018, 0.0045, 0.011, 0.027.
set -euo pipefail
DATA=${DATA:-../shared/data/train}
RUNS=${RUNS:-runs}
DEVICE=${DEVICE:-cpu}
SCALE=${SCALE:-1}
BATCH=${BATCH:-8}
CROP=${CROP:-128}
EXPORT=${EXPORT:-model/weights}
export OMP_WAIT_POLICY=PASSIVE
extra=()
[ "$DEVICE" = cuda ] && extra+=(--bf16)
lambda() { case $1 in 1) echo 0.0018;; 2) echo 0.0045;; 3) echo 0.011;; 4) echo 0.027;; esac; }
steps() { echo $(( $1 * SCALE )); }

# run KIND NAME QUALITY STEPS LR [extra args...]: train or distill into $RUNS/NAME.pt, export to $EXPORT
run() {
    local kind=$1 name=$2 q=$3 n=$4 lr=$5; shift 5
    licfpga "$kind" --data "$DATA" --out "$RUNS/$name.pt" --lmbda "$(lambda "$q")" --steps "$(steps "$n")" \
        --batch "$BATCH" --crop "$CROP" --lr "$lr" --lr-drops 0.7 --device "$DEVICE" "${extra[@]}" "$@"
    licfpga export "$RUNS/$name.pt" --quality "$q" --role "${name%%-*}" --name "$name" --out-dir "$EXPORT"
}

STAGES=${1:-all}  # all | teachers | students
want() { [ "$STAGES" = all ] || [ "$STAGES" = "$1" ]; }

if want teachers; then
# Teacher (N=128): from scratch at quality 2, then fine-tuned to the neighbouring rates.
run train teacher-n128-q2 2 1800 3e-4 --N 128
run train teacher-n128-q3 3 300 1e-4 --N 128 --init "$EXPORT/teacher-n128-q2.pt"
run train teacher-n128-q1 1 300 1e-4 --N 128 --init "$EXPORT/teacher-n128-q2.pt"
run train teacher-n128-q4 4 300 1e-4 --N 128 --init "$EXPORT/teacher-n128-q3.pt"
fi
want students || exit 0

# Distilled students: RD stage then distillation stage (kd-start 0.5) at quality 2, then
# fine-tuned with distillation to the other rates, each against the teacher of its rate.
run distill student-n64-q2 2 1800 3e-4 --N 64 --teacher "$EXPORT/teacher-n128-q2.pt" --kd-start 0.5
run distill student-n64-q3 3 300 1e-4 --N 64 --teacher "$EXPORT/teacher-n128-q3.pt" --kd-start 0 --init "$EXPORT/student-n64-q2.pt"
run distill student-n64-q1 1 300 1e-4 --N 64 --teacher "$EXPORT/teacher-n128-q1.pt" --kd-start 0 --init "$EXPORT/student-n64-q2.pt"
run distill student-n64-q4 4 300 1e-4 --N 64 --teacher "$EXPORT/teacher-n128-q4.pt" --kd-start 0 --init "$EXPORT/student-n64-q3.pt"

# Ablation: the same N=64 students without distillation, same steps.
run train student-n64-nokd-q2 2 1800 3e-4 --N 64
run train student-n64-nokd-q3 3 300 1e-4 --N 64 --init "$EXPORT/student-n64-nokd-q2.pt"

# N=32 distilled.
run distill student-n32-q2 2 1800 3e-4 --N 32 --teacher "$EXPORT/teacher-n128-q2.pt" --kd-start 0.5
run distill student-n32-q3 3 300 1e-4 --N 32 --teacher "$EXPORT/teacher-n128-q3.pt" --kd-start 0 --init "$EXPORT/student-n32-q2.pt"
