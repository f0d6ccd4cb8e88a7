#!/usr/bin/env bash
# Continue the training campaign on a lent GPU (one H200, 15 minutes of device time per
# session). Runs on the device, from the repository root, with `.pack` carried
# (prepared by recipes/gpu_prepare.sh: the patch pack and the weights the next stages
# start from; model/weights itself is too large to travel):
#   pip install -q --no-deps -e . && MINUTES=9 bash recipes/gpu.sh
# The device has torch and numpy only: the campaign needs nothing else. What comes back
# in $OUT: the exported fp16 weights and the campaign state, tarred in pieces of at most
# 15 MiB; recipes/gpu_return.sh unpacks them.
# DEVICE=cpu runs the same on the CPU (the test does, for a few seconds).
set -euo pipefail
: "${OUT:?OUT must name the folder whose files come back}"
DEVICE=${DEVICE:-cuda}
MINUTES=${MINUTES:-9}
PACK=${PACK:-.pack}
RUNS=${RUNS:-/tmp/campaign}
PYTHON=${PYTHON:-python3}
if [ "$DEVICE" = cuda ]; then
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
    "$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'"
fi
mkdir -p "$RUNS"
# Large batches of the pack's 128x128 tiles on a GPU; validation and checkpoints every 2 minutes.
"$PYTHON" -m licfpga.cli campaign --data "$PACK/train.npz" --weights "$PACK/weights" --runs "$RUNS" \
    --deadline "+$MINUTES" --device "$DEVICE" --batch "${BATCH:-64}" --crop "${CROP:-128}" --segment "${SEGMENT:-2}"
"$PYTHON" -m licfpga.cli campaign --runs "$RUNS" --weights "$PACK/weights" --export --export-dir "$RUNS/export"
cp "$RUNS/state.json" "$RUNS/export/campaign-state.json"
tar -C "$RUNS/export" -cf "$RUNS/weights.tar" . && split -b 15M -d "$RUNS/weights.tar" "$OUT/weights.tar."
ls -la "$OUT"
