#!/usr/bin/env bash
# Training on a lent GPU machine (one H200, 15 minutes of device time per session).
# Runs on the device: `bash recipes/gpu.sh` with the patch pack carried in .pack/.
# Everything it trains is exported fp16 and tarred into $OUT in pieces of at most
# 15 MiB (the device returns at most 8 files of 16 MiB, 64 MiB in all).
#
# Before the call, on the CPU machine (see recipes/README.md):
#   licfpga pack ../shared/data/train .pack/train.npz --max-mib 20
# and run with carry [".pack"]:
#   pip install -q --no-deps -e . && STAGE=teachers MINUTES=9 bash recipes/gpu.sh
set -euo pipefail
: "${OUT:?OUT must name the folder whose files come back}"
STAGE=${STAGE:-teachers}
MINUTES=${MINUTES:-9}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'"

export DATA=.pack/train.npz RUNS=/tmp/runs EXPORT=/tmp/weights DEVICE=cuda BATCH=${BATCH:-32} CROP=${CROP:-256}
mkdir -p "$RUNS" "$EXPORT"
# SCALE turns the CPU recipe's step counts into a GPU-sized run; the time limit keeps
# the whole stage inside the lease whatever the speed turns out to be.
export SCALE=${SCALE:-4}
case $STAGE in
    teachers) timeout $((MINUTES * 60)) bash recipes/train_shipped.sh teachers || true ;;
    students) timeout $((MINUTES * 60)) bash recipes/train_shipped.sh students || true ;;
    *) echo "STAGE must be teachers or students" >&2; exit 2 ;;
esac
tar -C "$EXPORT" -cf /tmp/weights.tar . && split -b 15M -d /tmp/weights.tar "$OUT/weights.tar."
ls -la "$OUT"
