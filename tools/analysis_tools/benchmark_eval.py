"""Time the full SYSU-MM01 evaluation on random features of the real size.

    python tools/analysis_tools/benchmark_eval.py [--device cpu|cuda]

Builds 3,803 infrared queries and an RGB pool of ~6,775 images of 96 test
identities (cameras 1, 2, 4, 5; per id and camera counts like the dataset's),
2048-d L2-normalised features, then times what ``VIReIDMetric`` does after
the embedding pass: the distance matrix, and every SYSU mode (all / indoor x
single / multi-shot) x 10 trials of gallery sampling plus ``eval_sysu``.
"""
import argparse
import platform
import time

import numpy as np
import torch

from vireid.evaluation import VIReIDMetric
from vireid.evaluation.functional import eval_sysu, sysu_gallery_trial
from vireid.structures import INFRARED, VISIBLE

NUM_IDS = 96
NUM_QUERIES = 3803
POOL_SIZE = 6775
RGB_CAMERAS = (1, 2, 4, 5)
IR_CAMERAS = (3, 6)
MODES = (('all', 1), ('all', 10), ('indoor', 1), ('indoor', 10))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--dim', type=int, default=2048)
    parser.add_argument('--trials', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=3,
                        help='timed repetitions; the best one is printed')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def _split_counts(total, parts, rng):
    """``parts`` positive ints summing to ``total``, uneven like SYSU's."""
    weights = rng.uniform(0.5, 1.5, parts)
    counts = np.maximum(1, np.floor(weights / weights.sum() * total))
    counts[:total - int(counts.sum())] += 1
    return counts.astype(int)


def build_sysu_like(dim, seed):
    rng = np.random.default_rng(seed)
    pids = np.arange(1, NUM_IDS + 1) * 3
    # Not every test id is seen by every RGB camera: SYSU's single-shot
    # all-search gallery has 301 images for 96 ids (3.1 cameras per id).
    slots = [(pid, cam) for pid in pids for cam in RGB_CAMERAS
             if cam == 1 or rng.random() > 0.29]
    results = []
    for modality, cams_slots, total in (
            (VISIBLE, slots, POOL_SIZE),
            (INFRARED, [(p, c) for p in pids for c in IR_CAMERAS],
             NUM_QUERIES)):
        for (pid, cam), count in zip(cams_slots,
                                     _split_counts(total, len(cams_slots),
                                                   rng)):
            for n in range(1, count + 1):
                results.append(dict(pid=int(pid), camid=cam,
                                    modality=modality,
                                    img_path=f'cam{cam}/{pid:04d}/{n:04d}'
                                    '.jpg'))
    features = torch.nn.functional.normalize(
        torch.randn(len(results), dim, generator=torch.Generator().manual_seed(
            seed)), dim=1)
    for result, feature in zip(results, features):
        result['feature'] = feature
    return results


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    args = parse_args()
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    results = build_sysu_like(args.dim, args.seed)
    query = [r for r in results if r['modality'] == INFRARED]
    pool = [r for r in results if r['modality'] == VISIBLE]
    q_feat = torch.stack([r['feature'] for r in query]).to(device)
    g_feat = torch.stack([r['feature'] for r in pool]).to(device)
    q_pids = np.array([r['pid'] for r in query])
    q_cams = np.array([r['camid'] for r in query])
    g_pids = np.array([r['pid'] for r in pool])
    g_cams = np.array([r['camid'] for r in pool])
    g_paths = [r['img_path'] for r in pool]
    where = (torch.cuda.get_device_name() if device.startswith('cuda') else
             f'{platform.processor() or platform.machine()}, '
             f'{torch.get_num_threads()} torch threads')
    print(f'device: {device} ({where}); queries {len(query)}, RGB pool '
          f'{len(pool)} of {len(set(g_pids))} ids, dim {args.dim}, '
          f'{args.trials} trials, best of {args.repeat}')

    seconds, dist = best_of(args.repeat, lambda: 1 - q_feat @ g_feat.T)
    print(f'distance matrix {tuple(dist.shape)}: {seconds:.3f} s')
    total = seconds
    for search, shots in MODES:
        picks = [sysu_gallery_trial(g_paths, g_pids, g_cams, t, search,
                                    shots) for t in range(args.trials)]
        sample_s, _ = best_of(args.repeat, lambda: [
            sysu_gallery_trial(g_paths, g_pids, g_cams, t, search, shots)
            for t in range(args.trials)])

        def evaluate():
            out = []
            for picked in picks:
                cols = torch.as_tensor(picked, device=dist.device)
                out.append(eval_sysu(dist.index_select(1, cols), q_pids,
                                     g_pids[picked], q_cams, g_cams[picked]))
            return out

        eval_s, out = best_of(args.repeat, evaluate)
        total += sample_s + eval_s
        size = np.mean([len(p) for p in picks])
        r1 = np.mean([o[0][0] for o in out]) * 100
        print(f'{search:>6}-{"single" if shots == 1 else "multi":<6} gallery '
              f'~{size:.0f}: sampling {sample_s:.3f} s, eval_sysu '
              f'{eval_s:.3f} s for {args.trials} trials (R1 {r1:.2f}%, '
              'chance level)')
    print(f'sum of the above: {total:.3f} s')

    metric = VIReIDMetric(protocol='sysu', num_trials=args.trials,
                          device=device)
    seconds, _ = best_of(args.repeat, lambda: metric.compute_metrics(results))
    print(f'VIReIDMetric.compute_metrics end to end (stacking the cached '
          f'features, all modes x {args.trials} trials): {seconds:.3f} s')


if __name__ == '__main__':
    main()
