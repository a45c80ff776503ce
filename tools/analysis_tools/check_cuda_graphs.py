"""Does a config train the same with CUDA graphs as without? Steps of a graphed and an eager copy, compared.

    python tools/analysis_tools/check_cuda_graphs.py CONFIG [--graphs backbone losses]
        [--amp] [--channels-last] [--steps 4] [--tolerance 0.05] [--cfg-options ...]

Both copies start from the same weights and see the same batches (random
images in the sampler's layout, new ones every step). After each step it
prints the logged terms of both, and at the end the parameters and buffers
whose graphed values drifted furthest from the eager ones, relative to how
far the eager training moved them, and which graphs really replayed (a
model may run a part eagerly, with a warning). Exit status 1 when a drift
exceeds ``--tolerance`` (a non-finite or moved graphed value where the
eager one is finite or unmoved counts as infinite), the graphed copy
skipped more updates, or a graph asked for never replayed. On a machine
without CUDA no graph runs: the two copies must then agree exactly, which
checks only the tool.
"""
import argparse
import copy
import sys
from typing import Dict, List, Tuple

import torch
from mmengine.config import DictAction
from mmengine.optim import build_optim_wrapper

from vireid.registry import MODELS
from vireid.utils import benchmark as bench
from vireid.utils import fast_path

GRAPHS = ('backbone', 'losses')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Compare graphed and eager training steps')
    parser.add_argument('config')
    parser.add_argument('--graphs', nargs='+', choices=GRAPHS,
                        help='what the graphed copy replays (default: what benchmark.py '
                        '--cuda-graph replays: the backbone, and the losses of models that can)')
    parser.add_argument('--steps', type=int, default=4)
    parser.add_argument('--amp', action='store_true', help='mixed precision (bf16 autocast)')
    parser.add_argument('--amp-dtype', default='bfloat16', choices=['bfloat16', 'float16'],
                        help='with --amp: float16 scales the loss on the device')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--img-size', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--tolerance', type=float, default=0.05,
                        help='largest drift allowed: |graphed - eager| / |eager - initial|')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def make_graphed_copy(model: torch.nn.Module, graphs=None) -> torch.nn.Module:
    """A copy of ``model`` (same weights) that replays ``graphs`` as CUDA graphs."""
    # the class, not its registry name: a model registered elsewhere is checked too
    can_graph_losses = fast_path.can_graph_losses(type(model))
    if graphs is None:  # what benchmark.py --cuda-graph replays
        graphs = ['backbone', 'losses'] if can_graph_losses else ['backbone']
    if 'losses' in graphs and not can_graph_losses:
        raise ValueError(f'{type(model).__name__} has no graph_losses option: '
                         'use --graphs backbone')
    graphed = copy.deepcopy(model)
    graphed.backbone.cuda_graph = 'backbone' in graphs
    if 'losses' in graphs:
        graphed.graph_losses = True
    return graphed


def state(model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """Parameters and floating-point buffers, copied in float32."""
    values = dict(model.named_parameters())
    values.update((name, b) for name, b in model.named_buffers() if b.is_floating_point())
    return {name: value.detach().float().clone() for name, value in values.items()}


def drifts(graphed: Dict[str, torch.Tensor], eager: Dict[str, torch.Tensor],
           initial: Dict[str, torch.Tensor]) -> List[Tuple[float, str]]:
    """``(drift, name)``, largest first: ``|graphed - eager| / |eager - initial|`` per tensor.

    Where that ratio has no scale (the eager training left a tensor
    unchanged, or made it non-finite) or the graphed value is non-finite,
    the drift is 0 for identical tensors (NaN matching NaN) and infinite
    otherwise.
    """
    result = []
    for name, value in eager.items():
        other = graphed[name]
        moved = (value - initial[name]).norm()
        if moved.isfinite() and moved > 0 and other.isfinite().all():
            result.append((float((other - value).norm() / moved), name))
        else:
            same = torch.equal(other.nan_to_num(7.25), value.nan_to_num(7.25)) and \
                torch.equal(other.isnan(), value.isnan())
            result.append((0.0 if same else float('inf'), name))
    return sorted(result, reverse=True)


def replayed_graphs(model: torch.nn.Module) -> Dict[str, int]:
    """Graphs each part of ``model`` captured (and so replays), by part."""
    parts = dict(backbone=getattr(model.backbone, '_graphs', None),
                 losses=getattr(model, '_loss_graphs', None))
    return {name: graphs.num_graphs for name, graphs in parts.items() if graphs is not None}


def log_line(name: str, eager: dict, graphed: dict) -> str:
    cells = [f'{t}={float(eager[t]):.5g}/{float(graphed[t]):.5g}'
             for t in sorted(set(eager) & set(graphed))]
    return f'{name}: ' + ' '.join(cells)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = bench.load_config(args.config, args.cfg_options, args.amp,
                            amp_dtype=args.amp_dtype)
    img_size = args.img_size or fast_path.train_image_size(cfg)
    device = torch.device(args.device)
    if device.type != 'cuda':
        print('no CUDA device: the graphed copy runs eagerly too, so this checks only the tool')
    # the same convolution algorithms in both copies: only the graphs differ
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False

    torch.manual_seed(0)
    eager = MODELS.build(cfg.model)
    graphed = make_graphed_copy(eager, args.graphs)
    models, wrappers = (eager, graphed), []
    for model in models:
        model.to(device).train()
        if args.channels_last:
            bench.use_channels_last(model)
        wrappers.append(build_optim_wrapper(model, cfg.optim_wrapper))
        bench.start_schedule(wrappers[-1], cfg.get('param_scheduler'))
    initial = state(eager)

    sampler = cfg.train_dataloader.sampler
    skipped = [0, 0]
    for step in range(args.steps):
        torch.manual_seed(step)
        batch = bench.synthetic_batch(sampler.num_ids, sampler.num_instances, img_size, device)
        logs = []
        for i, (model, wrapper) in enumerate(zip(models, wrappers)):
            torch.manual_seed(1000 + step)  # the same random augmentations in both
            logs.append(model.train_step(batch, wrapper))
            skipped[i] += bench.skipped_updates()
        print(log_line(f'step {step} eager/graphed', *logs), flush=True)

    worst = drifts(state(graphed), state(eager), initial)
    print(f'largest drifts after {args.steps} steps (|graphed - eager| / |eager - initial|):')
    for drift, name in worst[:8]:
        print(f'  {drift:10.3g}  {name}')
    failures = [name for drift, name in worst if drift > args.tolerance]
    if skipped[1] > skipped[0]:
        failures.append(f'{skipped[1]} skipped updates graphed, {skipped[0]} eager')
    asked = [name for name, on in (('backbone', graphed.backbone.cuda_graph),
                                   ('losses', getattr(graphed, 'graph_losses', False))) if on]
    replayed = replayed_graphs(graphed)
    print('graphs replayed: ' + ', '.join(f'{name} {replayed.get(name, 0)}' for name in asked))
    if device.type == 'cuda':
        failures += [f'no {name} graph replayed' for name in asked if not replayed.get(name)]
    if failures:
        print(f'graphed training differs from eager beyond {args.tolerance}: '
              f'{len(failures)} tensors or counts, e.g. {failures[:3]}')
        return 1
    print(f'graphed training matches eager within {args.tolerance} '
          f'(graphs: {" + ".join(asked)}; amp={args.amp and args.amp_dtype})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
