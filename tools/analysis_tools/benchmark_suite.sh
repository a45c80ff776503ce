#!/usr/bin/env bash
# Every measurement of docs/benchmark.md in one go, on one GPU host:
#   bash tools/analysis_tools/benchmark_suite.sh OUT_DIR [ITERS]
# Needs two GPUs for the DDP part (skipped with one). Logs and JSON go to OUT_DIR.
set -uo pipefail
OUT=${1:?usage: benchmark_suite.sh OUT_DIR [ITERS]}
ITERS=${2:-30}
mkdir -p "$OUT"
DATA=${DATA:-/tmp/vireid_bench_data}
BENCH="python tools/analysis_tools/benchmark.py"
FAST="--amp --channels-last"
NGPU=$(python -c 'import torch; print(torch.cuda.device_count())')

# the synthetic SYSU tree at the papers' image size, for the disk data path
python tools/dataset_converters/make_synthetic.py "$DATA" --num-ids 200 --img-size 288 144 \
    --no-progress > "$OUT/make_synthetic.log" 2>&1 &
GEN=$!

run() {  # run NAME ARGS...: one benchmark, its log and JSON under OUT
    local name=$1; shift
    CUDA_VISIBLE_DEVICES=0 $BENCH "$@" --iters "$ITERS" --out "$OUT/$name.json" \
        > "$OUT/$name.log" 2>&1 || echo "FAILED $name" >> "$OUT/failed.txt"
    grep -A4 '^device:' "$OUT/$name.log" | sed "s/^/[$name] /"
}

# first: do the graphed models train as the eager ones? (a timing of a diverging model measures nothing)
check() {  # check NAME ARGS...: check_cuda_graphs.py, its log under OUT
    local name=$1; shift
    CUDA_VISIBLE_DEVICES=0 python tools/analysis_tools/check_cuda_graphs.py "$@" > "$OUT/$name.log" 2>&1 \
        || echo "FAILED $name" >> "$OUT/failed.txt"
    grep -E '^graph(s replayed|ed training)' "$OUT/$name.log" | sed "s/^/[$name] /"
}
check check_agw configs/agw/agw_r50_sysu.py $FAST
# backbone and loss graphs, in fp32 and bf16: both match eager training bit for bit (point 20)
for m in fmcnet mclnet; do
    check check_$m configs/$m/${m}_r50_sysu.py --channels-last
    check check_${m}_bf16 configs/$m/${m}_r50_sysu.py $FAST
done

run agw_bf16_cl configs/agw/agw_r50_sysu.py $FAST
run agw_bf16_cl_graph configs/agw/agw_r50_sysu.py $FAST --cuda-graph --no-yardstick
run agw_fp32_graph configs/agw/agw_r50_sysu.py --channels-last --cuda-graph --no-yardstick
run mclnet_bf16_cl configs/mclnet/mclnet_r50_sysu.py $FAST --no-yardstick
run mclnet_bf16_cl_graph configs/mclnet/mclnet_r50_sysu.py $FAST --cuda-graph --no-yardstick
run fmcnet_bf16_cl_graph configs/fmcnet/fmcnet_r50_sysu.py $FAST --cuda-graph --no-yardstick
# fp16 with the loss scale on the device: cuDNN's batch norm (point 22)
for m in agw mclnet fmcnet; do
    check check_${m}_fp16 configs/$m/${m}_r50_sysu.py $FAST --amp-dtype float16
    run ${m}_fp16_cl_graph configs/$m/${m}_r50_sysu.py $FAST --amp-dtype float16 --cuda-graph --no-yardstick
done
run fmcnet_bf16_cl_graph_backbone configs/fmcnet/fmcnet_r50_sysu.py $FAST --cuda-graph \
    --no-yardstick --cfg-options model.graph_losses=False
run agw_test_bf16 configs/agw/agw_r50_sysu.py --task test $FAST --test-batch-size 512

wait $GEN
ROOT="$DATA/SYSU-MM01"
python tools/dataset_converters/pack_images.py configs/agw/agw_r50_sysu_packed.py --no-progress \
    --cfg-options train_dataloader.dataset.data_root=$ROOT test_dataloader.dataset.data_root=$ROOT \
    > "$OUT/pack_images.log" 2>&1
DISK_OPTS="train_dataloader.dataset.data_root=$ROOT"
# JPEG files decoded and augmented by 14 workers, then the image pack with 8
run agw_disk_jpeg configs/agw/agw_r50_sysu.py $FAST --cuda-graph --data disk --no-yardstick \
    --warmup 20 --cfg-options $DISK_OPTS train_dataloader.num_workers=14
run agw_disk_packed configs/agw/agw_r50_sysu_packed.py $FAST --cuda-graph --data disk \
    --no-yardstick --warmup 20 --cfg-options $DISK_OPTS
# the --fast path derived from the RegDB and LLCM configs, from their own packs
for dataset in regdb llcm; do
    TREE="$DATA/$( [ $dataset = regdb ] && echo RegDB || echo LLCM )"
    python tools/dataset_converters/pack_images.py configs/agw/agw_r50_$dataset.py --no-progress \
        --cfg-options train_dataloader.dataset.data_root=$TREE test_dataloader.dataset.data_root=$TREE \
        > "$OUT/pack_images_$dataset.log" 2>&1
    run agw_disk_fast_$dataset configs/agw/agw_r50_$dataset.py --amp --fast --data disk \
        --no-yardstick --warmup 20 --cfg-options train_dataloader.dataset.data_root=$TREE
done

# iterations/s of real training through the Runner (64 images per GPU), on 1 GPU and, with two,
# on 2 under DDP; CUDA graphs on both (the packed configs' capture-safe DDP wrapper)
# the classifier sized for the synthetic tree's training identities (IdentityCountHook)
IDS=$(python -c 'import sys; from vireid.datasets import SYSUMM01Dataset
print(SYSUMM01Dataset(sys.argv[1], split="train").metainfo["num_classes"])' "$ROOT" | tail -1)
TRAIN_OPTS="model.backbone.init_cfg=None model.head.num_classes=$IDS
    train_dataloader.dataset.data_root=$ROOT val_dataloader.dataset.data_root=$ROOT
    train_dataloader.num_workers=7 train_cfg.max_epochs=3 default_hooks.logger.interval=10
    default_hooks.checkpoint.interval=100"
CUDA_VISIBLE_DEVICES=0 python tools/train.py configs/agw/agw_r50_sysu_packed.py --amp \
    --work-dir "$OUT/ddp1" --no-validate --cfg-options $TRAIN_OPTS > "$OUT/ddp1.log" 2>&1
RUNS=1
if [ "$NGPU" -ge 2 ]; then
    PORT=29610 bash tools/dist_train.sh configs/agw/agw_r50_sysu_packed.py 2 --amp \
        --work-dir "$OUT/ddp2" --no-validate --cfg-options $TRAIN_OPTS > "$OUT/ddp2.log" 2>&1
    RUNS="1 2"
fi
for n in $RUNS; do
    echo "[ddp$n] $(grep -h '(train)' "$OUT"/ddp$n/*/*.log | tail -4 | grep -o 'time: [0-9.]*' | tr '\n' ' ')"
done
