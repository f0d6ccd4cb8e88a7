#!/usr/bin/env bash
# A/B of the CPU training speed-ups at equal steps from the same start: the shipped
# teacher-n128-q2 trained 300 more steps at λ=0.0045 in fp32 and with bf16 autocast +
# channels_last (same seed, data, schedule), both evaluated on Kodak with real files;
# a second fp32 run with another seed measures how far two runs differ by chance.
#   DATA=../shared/data/train KODAK=../shared/data/kodak RUNS=runs/ab bash recipes/ab_bf16.sh
set -euo pipefail
DATA=${DATA:-../shared/data/train}
KODAK=${KODAK:-../shared/data/kodak}
RUNS=${RUNS:-runs/ab}
STEPS=${STEPS:-300}
export OMP_WAIT_POLICY=PASSIVE
mkdir -p "$RUNS"
for arm in fp32 bf16-cl fp32-seed1; do
    flags=(--seed 0)
    [ "$arm" = bf16-cl ] && flags+=(--bf16 --channels-last)
    [ "$arm" = fp32-seed1 ] && flags=(--seed 1)
    /usr/bin/time -f "$arm: %e s wall" licfpga train --data "$DATA" --out "$RUNS/$arm.pt" --init teacher-n128-q2 \
        --N 128 --lmbda 0.0045 --steps "$STEPS" --batch 8 --crop 128 --lr 1e-4 --lr-drops "${flags[@]}"
    licfpga export "$RUNS/$arm.pt" --quality 2 --role teacher --name "ab-$arm" --out-dir "$RUNS/weights"
done
licfpga eval "$KODAK" --model "$RUNS/weights/ab-fp32.pt" --model "$RUNS/weights/ab-bf16-cl.pt" \
    --model "$RUNS/weights/ab-fp32-seed1.pt" --anchors none \
    --json "$RUNS/kodak.json"
