"""A picture of ranked lists: each query, then its top-k gallery images.

Gallery frames are green when the entry has the query's identity, red when
it has another, grey when either label is unknown; the query's frame is
blue. Each image carries its modality tag ('RGB' / 'IR') in its top-left
corner; the caption under it is ``query [id]`` or ``#rank distance``.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from vireid.structures import INFRARED, VISIBLE

QUERY_BGR = (200, 120, 0)
MATCH_BGR = (40, 170, 40)
MISMATCH_BGR = (40, 40, 220)
UNKNOWN_BGR = (160, 160, 160)
MODALITY_TAGS = {VISIBLE: 'RGB', INFRARED: 'IR'}
CAPTION_H = 14
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass
class RankedItem:
    """One image of the picture.

    Attributes:
        image: a path or an ``HxWx3`` uint8 BGR array.
        pid: its identity, ``None`` when unknown.
        modality: 0 (visible) / 1 (infrared), ``None`` for no tag.
        distance: distance to the query (gallery entries).
    """
    image: Union[str, os.PathLike, np.ndarray]
    pid: Optional[int] = None
    modality: Optional[int] = None
    distance: Optional[float] = None


def _item(value, where: str) -> RankedItem:
    if isinstance(value, RankedItem):
        return value
    if isinstance(value, dict):
        try:
            return RankedItem(**value)
        except TypeError as err:
            raise ValueError(f'{where}: {err}') from err
    return RankedItem(image=value)


def _read(item: RankedItem, cell_hw: Tuple[int, int], where: str) -> np.ndarray:
    image = item.image
    if not isinstance(image, np.ndarray):
        image = cv2.imread(os.fspath(image), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f'{where}: cannot read image {item.image}')
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.resize(image, (cell_hw[1], cell_hw[0]), interpolation=cv2.INTER_AREA)


def _text(canvas, text, origin, colour, scale=0.33):
    cv2.putText(canvas, text, origin, FONT, scale, colour, 1, cv2.LINE_AA)


def _tile(item: RankedItem, colour, caption: str, cell_hw, border: int,
          where: str) -> np.ndarray:
    h, w = cell_hw
    tile = np.full((h + 2 * border + CAPTION_H, w + 2 * border, 3), 255, np.uint8)
    tile[:h + 2 * border] = colour
    tile[border:border + h, border:border + w] = _read(item, cell_hw, where)
    tag = MODALITY_TAGS.get(item.modality)
    if tag:
        (tw, th), _ = cv2.getTextSize(tag, FONT, 0.33, 1)
        cv2.rectangle(tile, (border, border), (border + tw + 3, border + th + 4),
                      (0, 0, 0), -1)
        _text(tile, tag, (border + 2, border + th + 2), (255, 255, 255))
    _text(tile, caption, (1, tile.shape[0] - 4), (0, 0, 0))
    return tile


def match_colour(query_pid: Optional[int], pid: Optional[int]) -> Tuple[int, int, int]:
    """Green for the same identity, red for another, grey when unknown."""
    if query_pid is None or pid is None:
        return UNKNOWN_BGR
    return MATCH_BGR if int(query_pid) == int(pid) else MISMATCH_BGR


def draw_ranked_lists(queries: Sequence[Union[RankedItem, dict, str]],
                      ranked: Sequence[Sequence[Union[RankedItem, dict, str]]],
                      out_png: Optional[str] = None,
                      cell_hw: Tuple[int, int] = (128, 64),
                      border: int = 4,
                      gap: int = 6) -> np.ndarray:
    """Draw one row per query: the query, a gap, then its ranked gallery.

    Args:
        queries: the query images (:class:`RankedItem`, a dict of its
            fields, or a bare path / array).
        ranked: per query, its gallery entries, best first.
        out_png: where to write the picture (folders are created);
            ``None`` only returns it.
        cell_hw: size each image is resized to.
        border: frame width in pixels.
        gap: space between tiles and around the picture.

    Returns:
        np.ndarray: the picture, ``HxWx3`` uint8 BGR.
    """
    if len(queries) == 0:
        raise ValueError('draw_ranked_lists: no queries')
    if len(queries) != len(ranked):
        raise ValueError(f'draw_ranked_lists: {len(queries)} queries but '
                         f'{len(ranked)} ranked lists')
    tile_h = cell_hw[0] + 2 * border + CAPTION_H
    tile_w = cell_hw[1] + 2 * border
    columns = 1 + max(len(row) for row in ranked)
    canvas = np.full((gap + len(queries) * (tile_h + gap),
                      2 * gap + columns * (tile_w + gap), 3), 255, np.uint8)
    for r, (query, row) in enumerate(zip(queries, ranked)):
        query = _item(query, f'query {r}')
        top = gap + r * (tile_h + gap)
        caption = 'query' if query.pid is None else f'query id {query.pid}'
        tiles = [_tile(query, QUERY_BGR, caption, cell_hw, border, f'query {r}')]
        for k, entry in enumerate(row):
            where = f'query {r}, rank {k + 1}'
            entry = _item(entry, where)
            caption = f'#{k + 1}' if entry.distance is None \
                else f'#{k + 1} {entry.distance:.3f}'
            tiles.append(_tile(entry, match_colour(query.pid, entry.pid), caption,
                               cell_hw, border, where))
        for c, tile in enumerate(tiles):
            left = gap + c * (tile_w + gap) + (gap if c else 0)
            canvas[top:top + tile_h, left:left + tile_w] = tile
    if out_png is not None:
        os.makedirs(osp.dirname(osp.abspath(out_png)), exist_ok=True)
        if not cv2.imwrite(os.fspath(out_png), canvas):
            raise ValueError(f'cannot write {out_png} (unknown image suffix?)')
    return canvas
