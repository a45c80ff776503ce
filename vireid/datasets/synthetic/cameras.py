"""Cameras: modality, scene, illumination, scale and sensor character.

A camera is what makes two images of one identity differ: its background
scene, light level and white balance (visible), contrast and noise
(infrared), the scale and position of people in its frame.
"""
from dataclasses import dataclass

import cv2
import numpy as np

VISIBLE, INFRARED = 'visible', 'infrared'


@dataclass(frozen=True)
class Camera:
    """One camera of a synthetic dataset.

    ``gain`` scales the light (visible) or the signal (infrared);
    ``white_balance`` multiplies RGB; ``contrast`` stretches around mid-grey;
    ``noise`` and ``blur`` are the sensor's Gaussian noise std (0-1 scale) and
    blur sigma in pixels; ``scale`` and ``shift`` place people in the frame.
    """
    name: str
    modality: str
    indoor: bool
    scale: float = 1.0
    shift: float = 0.0
    gain: float = 1.0
    white_balance: tuple = (1.0, 1.0, 1.0)
    contrast: float = 1.0
    noise: float = 0.02
    blur: float = 0.6


SYSU_CAMERAS = {
    1: Camera('cam1', VISIBLE, True, scale=1.0, shift=-0.04, gain=1.05,
              white_balance=(1.12, 1.0, 0.82), contrast=1.0, noise=0.015, blur=0.5),
    2: Camera('cam2', VISIBLE, True, scale=0.92, shift=0.05, gain=0.8,
              white_balance=(0.9, 1.02, 1.12), contrast=0.9, noise=0.025, blur=0.7),
    3: Camera('cam3', INFRARED, True, scale=0.96, shift=0.0, gain=1.0,
              contrast=1.1, noise=0.03, blur=0.9),
    4: Camera('cam4', VISIBLE, False, scale=0.84, shift=0.03, gain=1.25,
              white_balance=(0.95, 1.0, 1.1), contrast=1.15, noise=0.012, blur=0.6),
    5: Camera('cam5', VISIBLE, False, scale=0.9, shift=-0.05, gain=0.95,
              white_balance=(1.05, 1.05, 0.95), contrast=1.05, noise=0.02, blur=0.8),
    6: Camera('cam6', INFRARED, False, scale=0.86, shift=0.04, gain=0.9,
              contrast=0.85, noise=0.045, blur=1.1),
}

REGDB_CAMERAS = {
    'visible': Camera('visible', VISIBLE, False, scale=0.95, gain=0.9,
                      white_balance=(1.0, 1.0, 1.05), contrast=1.0, noise=0.02, blur=0.7),
    'thermal': Camera('thermal', INFRARED, False, scale=0.95, gain=1.0,
                      contrast=1.2, noise=0.035, blur=1.2),
}

LLCM_VIS_CAMS = tuple(range(1, 10))
LLCM_NIR_CAMS = (1, 2, 4, 5, 6, 7, 8, 9)


def llcm_camera(seed, cam, modality):
    """LLCM camera ``cam``: a low-light visible or a near-infrared camera whose
    settings are drawn per (seed, camera) so all images of that camera agree."""
    rng = np.random.default_rng([seed, 3, cam, 0 if modality == VISIBLE else 1])
    common = dict(indoor=bool(cam % 3 == 0), scale=float(rng.uniform(0.82, 1.0)),
                  shift=float(rng.uniform(-0.05, 0.05)))
    if modality == VISIBLE:
        # LLCM's visible images are night-time: dim, noisy, colour-cast.
        return Camera(f'cam{cam}', VISIBLE, gain=float(rng.uniform(0.45, 0.8)),
                      white_balance=tuple(float(x) for x in rng.uniform(0.8, 1.2, 3)),
                      contrast=float(rng.uniform(0.8, 1.0)), noise=float(rng.uniform(0.03, 0.05)),
                      blur=float(rng.uniform(0.6, 1.0)), **common)
    return Camera(f'cam{cam}', INFRARED, gain=float(rng.uniform(0.85, 1.1)),
                  contrast=float(rng.uniform(0.9, 1.2)), noise=float(rng.uniform(0.03, 0.05)),
                  blur=float(rng.uniform(0.8, 1.2)), **common)


def _smooth_noise(rng, shape, cells=(6, 4)):
    """Low-frequency texture: a few random cells upsampled smoothly."""
    small = rng.random(cells).astype(np.float32)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _muted(rng, low, high):
    """A greyish colour with a mild tint, like walls, floors and streets."""
    return np.float32(rng.uniform(low, high)) * (1 + rng.uniform(-0.18, 0.18, 3)).astype(np.float32)


def make_scene(rng, camera, size):
    """A background larger than the frame (so viewpoint jitter can crop it):
    float32 HxWx3 RGB for visible cameras, HxW temperature for infrared."""
    h, w = int(size[0] * 1.25), int(size[1] * 1.5)
    horizon = int(h * rng.uniform(0.55, 0.75))
    if camera.modality == VISIBLE:
        wall = _muted(rng, 0.3, 0.85)
        floor = _muted(rng, 0.15, 0.55)
        if not camera.indoor:
            wall = wall * np.float32([0.8, 0.9, 1.1])
        img = np.empty((h, w, 3), np.float32)
        img[:horizon] = wall
        img[horizon:] = floor
        for _ in range(rng.integers(3, 7)):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, horizon))
            x1, y1 = x0 + int(rng.integers(4, w // 2)), y0 + int(rng.integers(6, h // 2))
            colour = tuple(float(c) for c in _muted(rng, 0.1, 0.9))
            cv2.rectangle(img, (x0, y0), (x1, y1), colour, -1)
        img *= (0.75 + 0.5 * _smooth_noise(rng, (h, w)))[..., None]
        return img
    ambient = rng.uniform(0.15, 0.35) if camera.indoor else rng.uniform(0.05, 0.25)
    img = np.full((h, w), ambient, np.float32)
    img[horizon:] = ambient + rng.uniform(-0.05, 0.1)
    for _ in range(rng.integers(2, 5)):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(3, w // 3)), y0 + int(rng.integers(3, h // 3))
        # warm objects (lamps, radiators, engines) and cold ones (windows, sky)
        cv2.rectangle(img, (x0, y0), (x1, y1), float(rng.uniform(0.0, 0.75)), -1)
    img += 0.12 * (_smooth_noise(rng, (h, w)) - 0.5)
    return img
