"""A training step of every method, as the fast configs run it, never waits for the GPU."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from vireid.engine.hooks.deferred_runtime_info_hook import loss_scales
from vireid.registry import MODELS
from vireid.utils import register_all_modules
from vireid.utils.benchmark import start_schedule, synthetic_batch
from vireid.utils.launch import use_amp

PACKED = ['configs/agw/agw_r50_sysu_packed.py', 'configs/mclnet/mclnet_r50_sysu_packed.py',
          'configs/fmcnet/fmcnet_r50_sysu_packed.py']


def scales_of(optim_wrapper) -> list:
    return [float(scale) for _, scale in loss_scales(optim_wrapper)]


def build_step(config: str, dtype: str, **optim_wrapper):
    """The config's model on the GPU, its optimizer wrapper (``optim_wrapper`` merged in) and a batch."""
    register_all_modules()
    cfg = Config.fromfile(config)
    use_amp(cfg, dtype)
    cfg.optim_wrapper.update(optim_wrapper)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).cuda().to(memory_format=torch.channels_last)
    model.init_weights()
    model.train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    start_schedule(wrapper, cfg.param_scheduler)
    sampler = cfg.train_dataloader.sampler
    batch = synthetic_batch(sampler.num_ids, sampler.num_instances, (128, 64), 'cuda')
    batch['inputs'] = batch['inputs'].cpu().pin_memory()
    return model, wrapper, batch


def warm_up(model, optim_wrapper, batch) -> None:
    """Capture the graphs and create the optimizer state: until two steps in a row did not
    overflow fp16 (a step that does creates no state, and the first step that creates state
    reads the skip flag on the host: loss_guard)."""
    steady = 0
    for _ in range(20):
        scales = scales_of(optim_wrapper)
        model.train_step(batch, optim_wrapper)
        kept = all(a >= b for a, b in zip(scales_of(optim_wrapper), scales))
        steady = steady + 1 if kept else 0
        if steady == 2:
            break
    assert steady == 2, f'fp16 still overflows after 20 steps: loss scales {scales}'
    torch.cuda.synchronize()


def steps_refusing_syncs(model, optim_wrapper, batch, steps: int = 2) -> dict:
    torch.cuda.set_sync_debug_mode('error')
    try:
        for _ in range(steps):
            log_vars = model.train_step(batch, optim_wrapper)
    finally:
        torch.cuda.set_sync_debug_mode('default')
    return log_vars


@pytest.mark.gpu
@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
@pytest.mark.parametrize('config', PACKED)
def test_training_steps_after_the_first_make_no_host_sync(config, dtype):
    # float16: the loss scale's overflow check and update stay on the device too
    model, optim_wrapper, batch = build_step(config, dtype)
    warm_up(model, optim_wrapper, batch)
    log_vars = steps_refusing_syncs(model, optim_wrapper, batch)
    assert all(torch.isfinite(v).all() for v in log_vars.values())


@pytest.mark.gpu
def test_clipped_training_steps_make_no_host_sync_and_keep_the_norm_on_the_gpu():
    # a max_norm far below any real gradient norm: every step clips
    norms = {}
    for dtype in ('bfloat16', 'float16'):
        torch.manual_seed(0)
        model, optim_wrapper, batch = build_step(PACKED[0], dtype, clip_grad=dict(max_norm=1e-3))
        warm_up(model, optim_wrapper, batch)
        for _ in range(8):
            scales = scales_of(optim_wrapper)
            optim_wrapper.grad_norm = None
            steps_refusing_syncs(model, optim_wrapper, batch, steps=1)
            norm = optim_wrapper.grad_norm
            assert norm is not None and norm.is_cuda and norm.ndim == 0
            # an fp16 step may still overflow (its norm is inf and the scale drops): take
            # the norm of one that did not
            if all(a >= b for a, b in zip(scales_of(optim_wrapper), scales)):
                break
        assert torch.isfinite(norm) and float(norm) > 1e-3, (dtype, norm)
        norms[dtype] = float(norm)
    # the fp16 norm is of unscaled gradients: near bf16's (measured 27 / 20 on an H100), not
    # the loss scale (2^15 after warm-up) times it
    assert 0.25 < norms['float16'] / norms['bfloat16'] < 4, norms
