#!/usr/bin/env bash
# Before a GPU run (recipes/gpu.sh): the patch pack and the weights the next stages of
# the campaign start from, in .pack/ (git-ignored, carried), and model/weights kept from
# travelling (the device takes 64 MiB in all). Undo with recipes/gpu_return.sh.
#   DATA=../shared/data/train bash recipes/gpu_prepare.sh
set -euo pipefail
DATA=${DATA:-../shared/data/train}
STAGES=${STAGES:-2}
mkdir -p .pack/weights
[ -f .pack/train.npz ] || licfpga pack "$DATA" .pack/train.npz --max-mib "${PACK_MIB:-30}"
rm -f .pack/weights/*.pt
licfpga campaign --needs "$STAGES" | xargs -r -I{} cp {} .pack/weights/
du -sh .pack/train.npz .pack/weights
git rm -r -q --cached model/weights && echo /model/weights/ >> .git/info/exclude
echo "ready: run with carry [\".pack\"]:  pip install -q --no-deps -e . && MINUTES=9 bash recipes/gpu.sh"
