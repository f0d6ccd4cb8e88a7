#!/usr/bin/env bash
# After a GPU run: model/weights tracked again, and the run's exported weights adopted by
# the local campaign, which continues from them (export them to model/weights with
# `licfpga campaign --export` once they are worth committing).
#   bash recipes/gpu_return.sh FILES_AT
set -euo pipefail
FILES=${1:?the folder the device's files came back to}
git reset -q model/weights && sed -i '\#^/model/weights/$#d' .git/info/exclude
mkdir -p runs/gpu-return
cat "$FILES"/weights.tar.* | tar -x -C runs/gpu-return
licfpga campaign --adopt runs/gpu-return
