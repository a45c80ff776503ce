#!/usr/bin/env bash
# The README's main job, on the CPU: generate the synthetic SYSU-MM01-layout
# data, train a small AGW on it, then print the full protocol table of the
# untrained model and of the trained one.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/synthetic}
WORK=${WORK:-work_dirs/quickstart}
CONFIG=configs/agw/agw_r18_synthetic.py

if [ ! -d "$DATA/SYSU-MM01" ]; then
    python tools/dataset_converters/make_synthetic.py "$DATA" --seed 0
fi
python tools/train.py "$CONFIG" --work-dir "$WORK"
python tools/test.py "$CONFIG" --untrained --work-dir "$WORK/untrained" --out "$WORK/untrained.json"
python tools/test.py "$CONFIG" "$(cat "$WORK/last_checkpoint")" --work-dir "$WORK/trained" \
    --out "$WORK/trained.json"
