#!/usr/bin/env bash
# RegDB as its numbers are published: one model per trial (10 splits), each tested on its
# own split, the protocol table averaged over the trials.
#   bash tools/regdb_trials.sh CONFIG WORK_DIR [train.py args, e.g. --amp --cfg-options ...]
# TRIALS="1 2 3" picks the trials (default 1 to 10); GPUS=N trains each on N GPUs
# (tools/dist_train.sh). Each trial is tested with the config its training wrote to
# WORK_DIR/trial_T, so the options given here hold for its test too. Run it again after an
# interruption: a trial with results.json is kept, an unfinished one resumes.
set -euo pipefail
CONFIG=${1:?usage: regdb_trials.sh CONFIG WORK_DIR [train.py args]}
WORK_DIR=${2:?usage: regdb_trials.sh CONFIG WORK_DIR [train.py args]}
shift 2
TRIALS=${TRIALS:-1 2 3 4 5 6 7 8 9 10}
GPUS=${GPUS:-1}
DIR=$(cd "$(dirname "$0")/.." && pwd)
export PYTHONPATH="$DIR:${PYTHONPATH:-}"

for arg in "$@"; do
    case "$arg" in
        --work-dir|--work-dir=*|--resume|--resume=*|--launcher|--launcher=*)
            # the script sets them per trial; a second one would win and train elsewhere
            echo "regdb_trials.sh: $arg is set per trial (WORK_DIR/trial_T, resumed); drop it" >&2
            exit 2 ;;
    esac
done

results=()
for t in $TRIALS; do
    trial_dir="$WORK_DIR/trial_$t"
    results+=("$trial_dir/results.json")
    if [ -f "$trial_dir/results.json" ]; then
        echo "trial $t: $trial_dir/results.json exists, kept"
        continue
    fi
    echo "trial $t: training in $trial_dir"
    split="train_dataloader.dataset.trial=$t val_dataloader.dataset.trial=$t"
    split="$split test_dataloader.dataset.trial=$t"
    if [ "$GPUS" -gt 1 ]; then
        bash "$DIR/tools/dist_train.sh" "$CONFIG" "$GPUS" --work-dir "$trial_dir" --resume "$@" \
            --cfg-options $split
    else
        python "$DIR/tools/train.py" "$CONFIG" --work-dir "$trial_dir" --resume "$@" \
            --cfg-options $split
    fi
    trained_config="$trial_dir/$(basename "$CONFIG")"
    checkpoint=$(python -c 'import sys; from vireid.engine import find_resumable_checkpoint
print(find_resumable_checkpoint(sys.argv[1]) or "")' "$trial_dir")
    if [ -z "$checkpoint" ]; then
        echo "trial $t: training left no checkpoint in $trial_dir" >&2
        exit 1
    fi
    python "$DIR/tools/test.py" "$trained_config" "$checkpoint" --work-dir "$trial_dir" \
        --out "$trial_dir/results.part.json"
    mv "$trial_dir/results.part.json" "$trial_dir/results.json"
done
if [ "${#results[@]}" -gt 1 ]; then
    python "$DIR/tools/analysis_tools/average_runs.py" "${results[@]}" --out "$WORK_DIR/average.json"
fi
