"""Measurements behind tools/analysis_tools/benchmark.py: step timing, FLOPs, matmul peak, a yardstick."""
import contextlib
import cProfile
import os
import pstats
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapperDict
from mmengine.registry import DefaultScope
from torch.utils.flop_counter import FlopCounterMode

from vireid.models.reid.loss_guard import NONFINITE_LOSS_INFO, resolve_records
from vireid.registry import PARAM_SCHEDULERS
from vireid.structures import ReIDDataSample
from vireid.utils.fast_path import use_cuda_graphs, use_fast_path
from vireid.utils.launch import merge_options
from vireid.utils.setup_env import register_all_modules


def synthetic_batch(num_ids: int, num_instances: int, img_hw, device) -> dict:
    """A batch laid out like CrossModalityIdentitySampler's: per identity K visible then K infrared."""
    height, width = img_hw
    samples = []
    for label in range(num_ids):
        for modality in (0, 1):
            for _ in range(num_instances):
                samples.append(ReIDDataSample(metainfo=dict(
                    gt_label=label, pid=label, camid=1 + 2 * modality, modality=modality,
                    img_path='')))
    inputs = torch.randint(0, 256, (len(samples), 3, height, width), dtype=torch.uint8)
    return dict(inputs=inputs.to(device), data_samples=samples)


def time_iterations(step: Callable[[int], None], iters: int, warmup: int,
                    device: torch.device) -> List[float]:
    """Milliseconds of each timed iteration, after ``warmup`` untimed ones.

    On CUDA each iteration is bracketed by events recorded in stream order,
    so host time that leaves the GPU idle is counted, as it costs throughput.
    """
    for i in range(warmup):
        step(i)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        events = [torch.cuda.Event(enable_timing=True) for _ in range(iters + 1)]
        events[0].record()
        for i in range(iters):
            step(warmup + i)
            events[i + 1].record()
        torch.cuda.synchronize(device)
        return [events[i].elapsed_time(events[i + 1]) for i in range(iters)]
    times = []
    for i in range(iters):
        start = time.perf_counter()
        step(warmup + i)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def count_flops(fn: Callable[[], None]) -> int:
    """Floating-point operations of one call (matmuls and convolutions, forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def matmul_peak_tflops(device: torch.device, size: int = 8192, iters: int = 20) -> float:
    """The bf16 matmul rate this device reaches now (the denominator of MFU)."""
    dtype = torch.bfloat16 if device.type == 'cuda' else torch.float32
    if device.type != 'cuda':
        size, iters = 512, 3
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    ms = time_iterations(lambda _: a @ b, iters, warmup=3, device=device)
    return 2 * size ** 3 / (statistics.median(ms) * 1e-3) / 1e12


def yardstick_resnet50(num_classes: int, device: torch.device, channels_last: bool = True):
    """torchvision ResNet-50 with last stride 1, trained with SGD under bf16 autocast.

    Returns ``step(batch)``: one forward, backward and update.
    """
    from torchvision.models import resnet50
    model = resnet50(weights=None, num_classes=num_classes)
    model.layer4[0].conv2.stride = (1, 1)
    model.layer4[0].downsample[0].stride = (1, 1)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    mean = torch.tensor([123.675, 116.28, 103.53], device=device).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375], device=device).view(1, 3, 1, 1)

    def step(batch: Dict) -> None:
        images = (batch['inputs'].float() - mean) / std
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        labels = torch.tensor([s.gt_label for s in batch['data_samples']], device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def peak_memory_gb(device: torch.device) -> float:
    if device.type != 'cuda':
        return float('nan')
    return torch.cuda.max_memory_allocated(device) / 2**30


def summarize(name: str, ms: List[float], batch_size: int, flops_per_image: float,
              peak_tflops: float, memory_gb: float) -> Dict[str, float]:
    median = statistics.median(ms)
    images_per_s = batch_size / (median * 1e-3)
    achieved = flops_per_image * images_per_s / 1e12
    return dict(name=name, ms_per_iter=median, images_per_s=images_per_s,
                gflops_per_image=flops_per_image / 1e9, tflops=achieved,
                mfu=achieved / peak_tflops if peak_tflops else float('nan'),
                peak_memory_gb=memory_gb)


def start_schedule(optim_wrapper, param_scheduler) -> None:
    """Set the learning rates of the schedule's first iteration, as the Runner would.

    The papers' schedules start with a warm-up (LinearLR from 0.1x): at the
    full rate, steps on a fixed random batch can diverge within a few
    iterations (FMCNet does), and timing skipped steps measures nothing.
    ``param_scheduler`` is a list (one optimizer) or a dict per optimizer key.
    """
    if not param_scheduler:
        return
    if isinstance(optim_wrapper, OptimWrapperDict) and isinstance(param_scheduler, dict) \
            and 'type' not in param_scheduler:
        pairs = [(optim_wrapper[key], cfgs) for key, cfgs in param_scheduler.items()]
    else:
        pairs = [(optim_wrapper, param_scheduler)]
    for wrapper, cfgs in pairs:
        for cfg in (cfgs if isinstance(cfgs, (list, tuple)) else [cfgs]):
            cfg = dict(cfg, optimizer=wrapper)
            if cfg.get('convert_to_iter_based'):
                # any length: only the value at iteration 0 is used
                cfg.setdefault('epoch_length', 1)
            PARAM_SCHEDULERS.build(cfg)


def skipped_updates() -> int:
    """Optimizer updates skipped for a non-finite loss since the last call (the models' records)."""
    records = MessageHub.get_current_instance().pop_info(NONFINITE_LOSS_INFO, None) or []
    return sum(record['skipped'] for record in resolve_records(records))


def reset_peak_memory(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)


def load_config(path: str, cfg_options: Optional[dict] = None, amp: bool = False,
                cuda_graph: bool = False, fast: bool = False,
                amp_dtype: str = 'bfloat16') -> Config:
    """A config as the analysis tools run it, in the ``vireid`` scope.

    ``fast`` (:func:`use_fast_path`, what ``tools/train.py --fast`` does) and
    ``cuda_graph`` (:func:`use_cuda_graphs`) apply before ``cfg_options``,
    so that ``model.graph_losses=False`` turns one part off; ``amp``:
    ``amp_dtype`` autocast for every optimizer key (:func:`~vireid.utils.launch.use_amp`).
    """
    register_all_modules()
    DefaultScope.overwrite_default_scope('vireid')
    cfg = Config.fromfile(path)
    if fast:
        use_fast_path(cfg)
    elif cuda_graph:
        use_cuda_graphs(cfg.model)
    merge_options(cfg, cfg_options, amp_dtype=amp_dtype if amp else None)
    return cfg


@contextlib.contextmanager
def eager_passes(model: nn.Module):
    """No CUDA graphs inside: a counter sees no kernel of a replay (nor of a capture)."""
    owners = [(owner, name) for owner, name in ((model.backbone, 'cuda_graph'),
                                                (model, 'graph_losses'))
              if getattr(owner, name, False)]
    for owner, name in owners:
        setattr(owner, name, False)
    try:
        yield
    finally:
        for owner, name in owners:
            setattr(owner, name, True)


def use_channels_last(model: nn.Module) -> nn.Module:
    """Channels-last weights, and inputs laid out so by the model's data preprocessor."""
    model.data_preprocessor.channels_last = True
    return model.to(memory_format=torch.channels_last)


def profile_steps(step: Callable[[int], None], steps: int, device: torch.device,
                  top: int = 10) -> dict:
    """Kernel time of ``steps`` calls, per step: the GPU's work, apart from the host's.

    A step's time above its GPU time is host time (launches, syncs) that
    leaves the GPU idle. On CUDA the kernels inside CUDA-graph replays are
    counted too; on the CPU the operators' own CPU time is summed instead.
    Returns ``dict(device_ms, kernels, top=[(name, ms, count), ...])``, each
    per step; on CUDA the kernels include the device's memory copies and fills.
    """
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    cuda = device.type == 'cuda'
    with profile(activities=[ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU]) as prof:
        for i in range(steps):
            step(i)
        if cuda:
            torch.cuda.synchronize(device)
    if cuda:
        rows = [(e.key, e.self_device_time_total, e.count) for e in prof.key_averages()
                if e.device_type == DeviceType.CUDA and e.self_device_time_total > 0]
    else:
        rows = [(e.key, e.self_cpu_time_total, e.count) for e in prof.key_averages()]
    rows.sort(key=lambda row: -row[1])
    return dict(device_ms=sum(row[1] for row in rows) / 1e3 / steps,
                kernels=sum(row[2] for row in rows) / steps,
                top=[(name, us / 1e3 / steps, count / steps) for name, us, count in rows[:top]])


def host_profile(step: Callable[[int], None], steps: int, device: torch.device,
                 top: int = 25) -> dict:
    """Host time of ``steps`` calls that each start on an idle device, and where it goes.

    A sync before each call keeps the launch queue from filling, so the time
    until the call returns is the host's own cost of queuing the step: above
    the step's GPU time (``profile_steps``) the training is host-bound, and
    the margin between the two is how much slower a CPU may be. The
    breakdown comes from a second pass under ``cProfile``, whose overhead
    inflates Python-heavy functions: read it as shares of its own total.
    Returns ``dict(host_ms, profiled_ms, top=[(function, ms, calls), ...])``,
    per step, functions by cumulative time.
    """
    def synced_calls(offset: int, profiler: Optional[cProfile.Profile] = None) -> List[float]:
        times = []
        for i in range(steps):
            if device.type == 'cuda':
                torch.cuda.synchronize(device)
            # the sync (a wait for the last step's kernels) stays outside the profile
            if profiler is not None:
                profiler.enable()
            start = time.perf_counter()
            step(offset + i)
            times.append((time.perf_counter() - start) * 1e3)
            if profiler is not None:
                profiler.disable()
        return times

    host_ms = statistics.median(synced_calls(0))
    profiler = cProfile.Profile()
    profiled_ms = sum(synced_calls(steps, profiler)) / steps
    rows = []
    for (path, line, func), (_, calls, _, cumulative, _) in pstats.Stats(profiler).stats.items():
        if '_lsprof.Profiler' in func or 'perf_counter' in func:
            continue  # the measuring inside the profiled window, not the step
        rows.append((function_label(path, line, func), cumulative * 1e3 / steps, calls / steps))
    rows.sort(key=lambda row: -row[1])
    return dict(host_ms=host_ms, profiled_ms=profiled_ms, top=rows[:top])


def function_label(path: str, line: int, func: str) -> str:
    """``package/module.py:line(func)``, the path from its top-level package on."""
    if path == '~':  # a built-in
        return func
    parts = os.path.normpath(path).split(os.sep)
    # the deepest package folder: a checkout named vireid may hold the venv with torch
    anchors = [i for i, part in enumerate(parts)
               if part in ('vireid', 'mmengine', 'mmpretrain', 'mmcv', 'torch', 'tools')]
    parts = parts[anchors[-1]:] if anchors else parts[-2:]
    return f'{"/".join(parts)}:{line}({func})'
