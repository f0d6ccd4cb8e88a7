#!/usr/bin/env bash
# Before a GPU run (recipes/gpu.sh): the patch pack and the weights the next stages of
# the campaign start from, in .pack/ (git-ignored, carried), and model/weights kept from
# travelling (the device takes 64 MiB in all). Undo with recipes/gpu_return.sh.
#   DATA=../shared/data/train bash recipes/gpu_prepare.sh
set -euo pipefail
DATA=${DATA:-../shared/data/train}
STAGES=${STAGES:-1}
# 128-pixel tiles: the numpy-only pack holds about 1,100 of them in 40 MiB (one from most
# training photos), against about 320 of 256 pixels; diversity of photos matters more.
mkdir -p .pack/weights
[ -f .pack/train.npz ] || licfpga pack "$DATA" .pack/train.npz --tile 128 --max-mib "${PACK_MIB:-40}"
rm -f .pack/weights/*.pt
licfpga campaign --needs "$STAGES" | xargs -r -I{} cp {} .pack/weights/
du -sh .pack/train.npz .pack/weights
git rm -r -q --cached model/weights && echo /model/weights/ >> .git/info/exclude
echo "ready: run with carry [\".pack\"]:  pip install -q --no-deps -e . && MINUTES=9 bash recipes/gpu.sh"
