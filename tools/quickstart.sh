#!/usr/bin/env bash
# The README's main job, on the CPU: generate the synthetic SYSU-MM01-layout
# data, pack it, train a small AGW on it, then print the full protocol table
# of the untrained model and of the trained one.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/synthetic}
WORK=${WORK:-work_dirs/quickstart}
CONFIG=configs/agw/agw_r18_synthetic_packed.py
# The config's head has one class per train+val identity: 400 ids split
# 280 train + 40 val (320 classes) + 80 test ids. Change both together.
NUM_IDS=400
SEED=0

# Reuse a tree only if it was generated with these settings: a tree of
# another size would train silently with the wrong number of classes.
if ! python - "$DATA/SYSU-MM01/.vireid_synthetic.json" "$NUM_IDS" "$SEED" <<'PY'
import json, sys
path, num_ids, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    meta = json.load(open(path))
except (OSError, ValueError):
    sys.exit(1)
sys.exit(0 if (meta.get('num_ids'), meta.get('seed')) == (num_ids, seed) else 1)
PY
then
    python tools/dataset_converters/make_synthetic.py "$DATA" --num-ids "$NUM_IDS" --seed "$SEED" \
        --datasets sysu --no-progress
    rm -f "$DATA/SYSU-MM01/packed_96x48.npy"
fi
ROOT="$DATA/SYSU-MM01"
OPTS="train_dataloader.dataset.data_root=$ROOT val_dataloader.dataset.data_root=$ROOT
      test_dataloader.dataset.data_root=$ROOT"
if [ ! -f "$ROOT/packed_96x48.npy" ]; then
    python tools/dataset_converters/pack_images.py "$CONFIG" --workers 2 --no-progress \
        --cfg-options $OPTS
fi
python tools/train.py "$CONFIG" --work-dir "$WORK" --cfg-options $OPTS
python tools/test.py "$CONFIG" --untrained --work-dir "$WORK/untrained" \
    --out "$WORK/untrained.json" --cfg-options $OPTS
python tools/test.py "$CONFIG" "$(cat "$WORK/last_checkpoint")" --work-dir "$WORK/trained" \
    --out "$WORK/trained.json" --cfg-options $OPTS
echo "quickstart finished in $((SECONDS / 60)) min $((SECONDS % 60)) s"
