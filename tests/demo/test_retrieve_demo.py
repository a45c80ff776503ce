"""demo/retrieve.py end to end on generated SYSU-layout files, and the
ranked-list drawing it uses."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vireid.apis import init_model, retrieve
from vireid.visualization.ranked_list import (CAPTION_H, MATCH_BGR, MISMATCH_BGR,
                                              QUERY_BGR, UNKNOWN_BGR, RankedItem,
                                              draw_ranked_lists)

ROOT = Path(__file__).resolve().parents[2]
CELL, BORDER, GAP = (128, 64), 4, 6
TILE_H, TILE_W = CELL[0] + 2 * BORDER + CAPTION_H, CELL[1] + 2 * BORDER


def load_demo():
    spec = importlib.util.spec_from_file_location('retrieve_demo', ROOT / 'demo' / 'retrieve.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frame_colour(picture, row, column):
    """BGR of the frame's top-left pixel of a tile (column 0: the query)."""
    top = GAP + row * (TILE_H + GAP)
    left = GAP + column * (TILE_W + GAP) + (GAP if column else 0)
    return tuple(int(v) for v in picture[top, left])


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A width-8 AGW config file with a 64x32 test resize, and its weights."""
    folder = tmp_path_factory.mktemp('demo_model')
    config = folder / 'tiny_agw.py'
    config.write_text(
        f"_base_ = [{str(ROOT / 'configs' / 'agw' / 'agw_r18_synthetic.py')!r}]\n"
        "model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64))\n"
        "test_dataloader = dict(dataset=dict(pipeline=[\n"
        "    dict(type='LoadReIDImageFromFile'),\n"
        "    dict(type='Resize', scale=(32, 64), keep_ratio=False),\n"
        "    dict(type='PackReIDInputs')]))\n")
    model = init_model(str(config))
    checkpoint = folder / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return str(config), str(checkpoint), model


def test_synthetic_run_draws_each_query_with_labelled_matches(tiny, synthetic_root, tmp_path):
    config, checkpoint, model = tiny
    demo = load_demo()
    sysu = synthetic_root / 'SYSU-MM01'
    out = tmp_path / 'grid.png'
    demo.main(['--config', config, '--checkpoint', checkpoint, '--data-root', str(sysu),
               '--out', str(out), '--topk', '3', '--num-queries', '2'])
    picture = cv2.imread(str(out))
    assert picture.shape == (GAP + 2 * (TILE_H + GAP), 2 * GAP + 4 * (TILE_W + GAP), 3)

    # the same queries and gallery, ranked here: infrared queries of the
    # first two test ids, the RGB images of all test ids
    test_ids = [int(v) for v in (sysu / 'exp' / 'test_id.txt').read_text().split(',')]
    queries = [str(sorted((sysu / 'cam3' / f'{pid:04d}').iterdir())[0]) for pid in test_ids[:2]]
    gallery = sorted(str(p) for pid in test_ids for cam in (1, 2, 4, 5)
                     for p in (sysu / f'cam{cam}' / f'{pid:04d}').glob('*.jpg'))
    ranked = retrieve(model, (queries, 1), (gallery, 0), topk=3)
    for row, (query, matches) in enumerate(zip(queries, ranked)):
        assert frame_colour(picture, row, 0) == QUERY_BGR
        for column, match in enumerate(matches, start=1):
            same = Path(match.path).parent.name == Path(query).parent.name
            assert frame_colour(picture, row, column) == (MATCH_BGR if same else MISMATCH_BGR)


def test_query_files_and_gallery_folder(tiny, synthetic_root, tmp_path, capsys):
    config, checkpoint, _ = tiny
    demo = load_demo()
    sysu = synthetic_root / 'SYSU-MM01'
    query = str(next((sysu / 'cam6').glob('*/*.jpg')))
    out = tmp_path / 'sub' / 'one.png'
    demo.main([query, str(sysu / 'cam1'), '--config', config, '--checkpoint', checkpoint,
               '--out', str(out), '--topk', '2'])
    assert cv2.imread(str(out)).shape[0] == GAP + TILE_H + GAP
    assert 'ranked lists written to' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        demo.parse_args([query, '--config', config])  # a query without a gallery
    with pytest.raises(FileNotFoundError, match='gallery folder not found'):
        demo.main([query, str(tmp_path / 'none'), '--config', config])


def test_sysu_pid_from_paths():
    demo = load_demo()
    assert demo.sysu_pid('/data/SYSU-MM01/cam3/0042/0001.jpg') == 42
    assert demo.sysu_pid('photos/person.jpg') is None


def test_drawing_colours_tags_and_arrays(tmp_path):
    red_person = np.zeros((40, 20, 3), np.uint8)
    red_person[..., 2] = 255
    queries = [RankedItem(red_person, pid=1, modality=1), dict(image=red_person)]
    ranked = [[RankedItem(red_person, 1, 0, 0.1), RankedItem(red_person, 2, 0, 0.2),
               RankedItem(red_person, None, 0, 0.3)],
              [dict(image=red_person, pid=5, distance=0.5)]]
    out = tmp_path / 'lists.png'
    picture = draw_ranked_lists(queries, ranked, str(out), cell_hw=CELL, border=BORDER, gap=GAP)
    np.testing.assert_array_equal(cv2.imread(str(out)), picture)
    assert frame_colour(picture, 0, 1) == MATCH_BGR
    assert frame_colour(picture, 0, 2) == MISMATCH_BGR
    assert frame_colour(picture, 0, 3) == UNKNOWN_BGR
    assert frame_colour(picture, 1, 1) == UNKNOWN_BGR  # the query's id is unknown
    # the second row has one match: the rest of it stays background
    assert (picture[GAP + TILE_H + GAP:, GAP + 2 * (TILE_W + GAP) + GAP:] == 255).all()
    # modality tag: a black box in the image's top-left corner, the image red elsewhere
    top, left = GAP + BORDER, GAP + BORDER
    assert (picture[top + 1, left + 1] == 0).all()
    assert tuple(picture[top + CELL[0] // 2, left + CELL[1] // 2]) == (0, 0, 255)
    untagged = draw_ranked_lists([dict(image=red_person)], [[]], cell_hw=CELL, border=BORDER,
                                 gap=GAP)
    assert tuple(untagged[top + 1, left + 1]) == (0, 0, 255)
    with pytest.raises(ValueError, match='2 queries but 1 ranked lists'):
        draw_ranked_lists(queries, ranked[:1])
    with pytest.raises(FileNotFoundError, match='query 0, rank 1: cannot read image'):
        draw_ranked_lists([red_person], [[str(tmp_path / 'missing.jpg')]])
