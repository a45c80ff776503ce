"""Training / test throughput of a config, with FLOPs, MFU, peak memory and an in-run yardstick.

    python tools/analysis_tools/benchmark.py CONFIG [--task train|test] [--data tensors|disk]
        [--iters 50] [--warmup 10] [--amp [--amp-dtype float16]] [--compile] [--channels-last] [--cuda-graph]
        [--profile 5] [--host-profile 5] [--out result.json]

MFU is measured against the bf16 matmul rate this run measures on the same
device; the yardstick is a plain torchvision ResNet-50 (last stride 1)
training step in bf16 + channels_last at the same batch and image size.
"""
import argparse
import json

import torch
from mmengine.config import DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from vireid.registry import MODELS
from vireid.utils import benchmark as bench
from vireid.utils import fast_path


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark a vireid config')
    parser.add_argument('config')
    parser.add_argument('--task', choices=['train', 'test'], default='train')
    parser.add_argument('--data', choices=['tensors', 'disk'], default='tensors',
                        help='random tensors already on the device, or the config\'s '
                        'train dataloader reading the dataset from disk')
    parser.add_argument('--iters', type=int, default=50)
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--amp', action='store_true', help='mixed precision (bf16 autocast)')
    parser.add_argument('--amp-dtype', default='bfloat16', choices=['bfloat16', 'float16'],
                        help='with --amp: float16 scales the loss on the device')
    parser.add_argument('--compile', action='store_true', help='torch.compile the backbone')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--fast', action='store_true',
                        help="tools/train.py --fast's path: the image pack's pipelines "
                        '(read with --data disk), batch augmentations, 8 loader workers, '
                        'channels-last and CUDA graphs')
    parser.add_argument('--cuda-graph', action='store_true',
                        help='replay the backbone\'s training passes as CUDA graphs '
                        '(model.backbone.cuda_graph=True), and the loss terms of models '
                        'that can (model.graph_losses=True)')
    parser.add_argument('--img-size', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--test-batch-size', type=int, default=512)
    parser.add_argument('--no-yardstick', action='store_true')
    parser.add_argument('--profile', type=int, default=0, metavar='STEPS',
                        help='after timing, profile this many steps (train or test): '
                        'kernel time and kernels per step, and the costliest kernels')
    parser.add_argument('--host-profile', type=int, default=0, metavar='STEPS',
                        help='after timing, this many steps each started on an idle GPU: the '
                        "host's own time per step (against --profile's GPU time: the host "
                        'margin) and the functions it goes to (cProfile)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def endless(loader):
    """Batches of successive epochs, as the train loop draws them."""
    epoch = 0
    while True:
        if hasattr(loader.sampler, 'set_epoch'):
            loader.sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def build_model(cfg, args, device):
    model = MODELS.build(cfg.model).to(device)
    if args.channels_last:
        model = bench.use_channels_last(model)
    if args.compile:
        for name, child in list(model.backbone.named_children()):
            setattr(model.backbone, name, torch.compile(child))
    return model


def benchmark_train(cfg, args, device, peak):
    model = build_model(cfg, args, device)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    bench.start_schedule(optim_wrapper, cfg.get('param_scheduler'))
    sampler = cfg.train_dataloader.sampler
    num_ids, num_instances = sampler.num_ids, sampler.num_instances
    batch = bench.synthetic_batch(num_ids, num_instances, args.img_size, device)
    batch_size = len(batch['data_samples'])

    if args.data == 'disk':
        loader = endless(Runner.build_dataloader(cfg.train_dataloader, seed=0))

        def step(_):
            model.train_step(next(loader), optim_wrapper)
    else:
        def step(_):
            model.train_step(batch, optim_wrapper)

    with bench.eager_passes(model):
        flops = bench.count_flops(lambda: model.train_step(batch, optim_wrapper)) / batch_size
    bench.reset_peak_memory(device)
    bench.skipped_updates()
    ms = bench.time_iterations(step, args.iters, args.warmup, device)
    skipped = bench.skipped_updates()
    if skipped:
        raise RuntimeError(
            f'{skipped} optimizer updates in {args.warmup + args.iters} benchmark steps were '
            'skipped for a non-finite loss: the timing would not measure training (lower the '
            'learning rates with --cfg-options)')
    results = [bench.summarize(f'{cfg.model.type} train ({args.data})', ms, batch_size,
                               flops, peak, bench.peak_memory_gb(device))]
    add_profiles(results[0], step, args, device)
    if not args.no_yardstick:
        del model, optim_wrapper
        num_classes = cfg.model.get('head', {}).get('num_classes', 395)
        yard = bench.yardstick_resnet50(num_classes, device)
        flops = bench.count_flops(lambda: yard(batch)) / batch_size
        bench.reset_peak_memory(device)
        ms = bench.time_iterations(lambda _: yard(batch), args.iters, args.warmup, device)
        results.append(bench.summarize('torchvision ResNet-50 bf16+CL train', ms, batch_size,
                                       flops, peak, bench.peak_memory_gb(device)))
    return results


def benchmark_test(cfg, args, device, peak):
    model = build_model(cfg, args, device)
    model.eval()
    half = args.test_batch_size // 2
    batch = bench.synthetic_batch(half, 1, args.img_size, device)

    def step(_):
        with torch.no_grad(), torch.autocast(device.type, dtype=getattr(torch, args.amp_dtype),
                                             enabled=args.amp):
            model.test_step(batch)

    flops = bench.count_flops(lambda: step(0)) / len(batch['data_samples'])
    bench.reset_peak_memory(device)
    ms = bench.time_iterations(step, args.iters, args.warmup, device)
    results = [bench.summarize(f'{cfg.model.type} test embedding', ms,
                               len(batch['data_samples']), flops, peak,
                               bench.peak_memory_gb(device))]
    add_profiles(results[0], step, args, device)
    return results


def add_profiles(result: dict, step, args, device) -> None:
    if args.profile:
        result['profile'] = bench.profile_steps(step, args.profile, device)
    if args.host_profile:
        result['host_profile'] = bench.host_profile(step, args.host_profile, device)


def print_host_profile(profile: dict) -> None:
    print(f'host time per step, started on an idle device: {profile["host_ms"]:.2f} ms; '
          f'under cProfile {profile["profiled_ms"]:.2f} ms, by cumulative time:')
    for name, ms, calls in profile['top']:
        print(f'  {ms:8.3f} ms {calls:7.1f}x  {name[:100]}')


def print_profile(profile: dict, device: torch.device) -> None:
    what = 'GPU kernel' if device.type == 'cuda' else 'CPU operator'
    print(f'{what} time per step: {profile["device_ms"]:.2f} ms in {profile["kernels"]:,.0f} '
          f'{"kernels" if device.type == "cuda" else "operator calls"}; the costliest:')
    for name, ms, count in profile['top']:
        print(f'  {ms:8.3f} ms {count:7.1f}x  {name[:100]}')


def main():
    args = parse_args()
    if args.fast:
        args.channels_last = args.cuda_graph = True
    # --cfg-options after --fast / --cuda-graph: model.graph_losses=False turns one part off
    cfg = bench.load_config(args.config, args.cfg_options, args.amp, args.cuda_graph,
                            fast=args.fast, amp_dtype=args.amp_dtype)
    args.img_size = args.img_size or fast_path.train_image_size(cfg)
    device = torch.device(args.device)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True

    peak = bench.matmul_peak_tflops(device)
    run = benchmark_train if args.task == 'train' else benchmark_test
    results = run(cfg, args, device, peak)

    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'
    print(f'device: {name}; measured matmul peak {peak:.1f} TFLOP/s '
          f'({"bf16" if device.type == "cuda" else "fp32"}); image {args.img_size[0]}x'
          f'{args.img_size[1]}; amp={args.amp and args.amp_dtype} compile={args.compile} '
          f'channels_last={args.channels_last} cuda_graph={args.cuda_graph} fast={args.fast}')
    print(f'{"run":44s} {"ms/iter":>9s} {"img/s":>9s} {"GFLOP/img":>10s} {"MFU":>6s} '
          f'{"mem GB":>7s}')
    for r in results:
        # a small CPU matmul is no peak (the step can beat it): MFU is a GPU figure
        mfu = f'{100 * r["mfu"]:5.1f}%' if device.type == 'cuda' else f'{"-":>6s}'
        print(f'{r["name"]:44s} {r["ms_per_iter"]:9.2f} {r["images_per_s"]:9.1f} '
              f'{r["gflops_per_image"]:10.2f} {mfu} {r["peak_memory_gb"]:7.2f}')
    if 'profile' in results[0]:
        print_profile(results[0]['profile'], device)
    if 'host_profile' in results[0]:
        print_host_profile(results[0]['host_profile'])
    if len(results) == 2 and args.task == 'train':
        print(f'ratio to the yardstick: '
              f'{results[0]["images_per_s"] / results[1]["images_per_s"]:.2f}x')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(device=name, matmul_peak_tflops=peak, args=vars(args),
                           results=results), f, indent=2)


if __name__ == '__main__':
    main()
