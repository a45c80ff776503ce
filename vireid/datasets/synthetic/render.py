"""Rendering one image of an identity seen by a camera.

A person is first drawn as a part-label map (OpenCV primitives), then
coloured: visible cameras paint garment colours and prints under the camera's
light; infrared cameras paint each part's thermal brightness (skin warm,
fabrics by material, prints by ink emissivity) and never read a colour. The
two modalities therefore share exactly shape, layout, pattern and material.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from .cameras import VISIBLE
from .identity import LOWER_LENGTH, SLEEVES

BACKGROUND, SKIN, HAIR, UPPER, LOWER, SHOES, BAG = range(7)
_SHIFT = 4                      # sub-pixel bits for cv2 polygon coordinates
_SCALE = float(1 << _SHIFT)
_HAIR_THERMAL, _SHOES_THERMAL, _BAG_COOLING = 0.5, 0.3, 0.45


@dataclass(frozen=True)
class View:
    """Per-image viewpoint and pose jitter (fractions of frame / body height)."""
    scale: float
    dx: float
    dy: float
    flip: bool
    leg_swing: float
    arm_swing: float
    light: float
    heat: float
    bg_x: float
    bg_y: float


def sample_view(rng):
    """Draw a view; consumes a fixed number of values from ``rng``."""
    u = rng.random(10)
    return View(scale=0.92 + 0.14 * u[0], dx=0.08 * (u[1] - 0.5), dy=0.05 * (u[2] - 0.5),
                flip=bool(u[3] < 0.5), leg_swing=0.1 * (u[4] - 0.5), arm_swing=0.08 * (u[5] - 0.5),
                light=0.85 + 0.3 * u[6], heat=0.08 * (u[7] - 0.5), bg_x=u[8], bg_y=u[9])


def _poly(img, points, value):
    pts = np.round(np.asarray(points, np.float64) * _SCALE).astype(np.int32)
    cv2.fillConvexPoly(img, pts, value, cv2.LINE_8, _SHIFT)


def _ellipse(img, centre, axes, value):
    c = tuple(int(round(v * _SCALE)) for v in centre)
    a = tuple(max(1, int(round(v * _SCALE))) for v in axes)
    cv2.ellipse(img, c, a, 0, 0, 360, value, -1, cv2.LINE_8, _SHIFT)


def _line(img, p0, p1, thickness, value):
    cv2.line(img, tuple(int(round(v * _SCALE)) for v in p0),
             tuple(int(round(v * _SCALE)) for v in p1), value,
             max(1, int(round(thickness))), cv2.LINE_8, _SHIFT)


def _limb(top_a, top_b, bottom_a, bottom_b, t0, t1):
    """The part of a quadrilateral limb between fractions t0 and t1 of its length."""
    top_a, top_b, bottom_a, bottom_b = map(np.asarray, (top_a, top_b, bottom_a, bottom_b))
    return [top_a + (bottom_a - top_a) * t0, top_b + (bottom_b - top_b) * t0,
            top_b + (bottom_b - top_b) * t1, top_a + (bottom_a - top_a) * t1]


def draw_parts(identity, camera, view, size):
    """Part-label map (HxW uint8, labels BACKGROUND..BAG) and the body frame
    ``(cx, y0, ph)``: centre x, top y and height of the body in pixels."""
    h, w = size
    ph = identity.height * camera.scale * view.scale * h
    y0 = (h - ph) / 2 + view.dy * h
    cx = w / 2 + (camera.shift + view.dx) * w
    idn = identity
    sw = 0.125 * ph * idn.build
    hw = 0.85 * sw
    head_h, head_w = idn.head * ph, 0.4 * idn.head * ph
    ys = y0 + head_h + 0.025 * ph
    yw = y0 + idn.waist * ph
    yc = y0 + 0.54 * ph
    yf = y0 + 0.97 * ph
    gap = idn.leg_gap * ph / 2
    leg_w = 0.045 * ph * np.sqrt(idn.build)
    labels = np.zeros(size, np.uint8)

    if idn.hair == 'long':
        _poly(labels, [(cx - 1.15 * head_w, y0 + 0.4 * head_h), (cx + 1.15 * head_w, y0 + 0.4 * head_h),
                       (cx + 1.15 * head_w, ys + 0.1 * ph), (cx - 1.15 * head_w, ys + 0.1 * ph)], HAIR)
    if idn.bag == 'backpack':
        _poly(labels, [(cx - 1.18 * sw, ys + 0.03 * ph), (cx + 1.18 * sw, ys + 0.03 * ph),
                       (cx + 1.18 * sw, ys + 0.3 * ph), (cx - 1.18 * sw, ys + 0.3 * ph)], BAG)

    legs = []
    for side, swing in ((-1, view.leg_swing), (1, -view.leg_swing)):
        top_in, top_out = (cx + side * gap, yc), (cx + side * hw, yc)
        foot = cx + side * (gap + leg_w) + swing * ph
        legs.append(((top_in, top_out, (foot - side * leg_w / 2, yf), (foot + side * leg_w / 2, yf)), foot))
    for quad, foot in legs:
        _poly(labels, _limb(*quad, 0.0, 1.0), SKIN)
        _ellipse(labels, (foot, yf), (0.05 * ph, 0.022 * ph), SHOES)
    hip_top = y0 + 0.45 * ph
    _poly(labels, [(cx - hw, hip_top), (cx + hw, hip_top), (cx + hw, yc + 1), (cx - hw, yc + 1)], LOWER)
    if idn.lower == 'skirt':
        hem = yc + 0.5 * (yf - yc)
        _poly(labels, [(cx - hw, hip_top), (cx + hw, hip_top), (cx + 1.4 * hw, hem), (cx - 1.4 * hw, hem)],
              LOWER)
    else:
        length = LOWER_LENGTH[idn.lower]
        for quad, _ in legs:
            _poly(labels, _limb(*quad, 0.0, length), LOWER)

    # the upper garment is drawn over the hips: a long top hides the waistband
    _poly(labels, [(cx - sw, ys), (cx + sw, ys), (cx + 1.02 * hw, yw), (cx - 1.02 * hw, yw)], UPPER)
    if idn.bag == 'backpack':
        for side in (-1, 1):
            _line(labels, (cx + side * 0.55 * sw, ys), (cx + side * 0.62 * sw, ys + 0.2 * ph),
                  0.018 * ph, BAG)
    elif idn.bag == 'shoulder':
        _line(labels, (cx - idn.bag_side * 0.7 * sw, ys), (cx + idn.bag_side * hw, yw - 0.03 * ph),
              0.016 * ph, BAG)

    arm_w, hand_w = 0.05 * ph * np.sqrt(idn.build), 0.034 * ph
    sleeve = SLEEVES[idn.sleeve]
    hands = []
    for side, swing in ((-1, view.arm_swing), (1, -view.arm_swing)):
        sx = cx + side * (sw + 0.2 * arm_w)
        hx, hy = sx + side * 0.05 * ph + swing * ph, ys + 0.4 * ph
        quad = ((sx - arm_w / 2, ys), (sx + arm_w / 2, ys), (hx + hand_w / 2, hy), (hx - hand_w / 2, hy))
        _poly(labels, _limb(*quad, 0.0, 1.0), SKIN)
        if sleeve > 0:
            _poly(labels, _limb(*quad, 0.0, sleeve), UPPER)
        _ellipse(labels, (hx, hy + 0.015 * ph), (0.022 * ph, 0.028 * ph), SKIN)
        hands.append((side, hx, hy))

    _poly(labels, [(cx - 0.5 * head_w, y0 + 0.5 * head_h), (cx + 0.5 * head_w, y0 + 0.5 * head_h),
                   (cx + 0.5 * head_w, ys + 1), (cx - 0.5 * head_w, ys + 1)], SKIN)
    _ellipse(labels, (cx, y0 + 0.45 * head_h), (1.08 * head_w, 0.52 * head_h), HAIR)
    _ellipse(labels, (cx, y0 + 0.58 * head_h), (0.92 * head_w, 0.44 * head_h), SKIN)

    if idn.bag == 'shoulder':
        bx = cx + idn.bag_side * (hw + 0.05 * ph)
        _poly(labels, [(bx - 0.06 * ph, yw - 0.06 * ph), (bx + 0.06 * ph, yw - 0.06 * ph),
                       (bx + 0.06 * ph, yw + 0.05 * ph), (bx - 0.06 * ph, yw + 0.05 * ph)], BAG)
    elif idn.bag == 'hand':
        _, hx, hy = hands[0] if idn.bag_side < 0 else hands[1]
        _poly(labels, [(hx - 0.05 * ph, hy + 0.03 * ph), (hx + 0.05 * ph, hy + 0.03 * ph),
                       (hx + 0.055 * ph, hy + 0.14 * ph), (hx - 0.055 * ph, hy + 0.14 * ph)], BAG)
    return labels, (cx, y0, ph, sw)


def pattern_field(pattern, u, v):
    """Print mask (float32 0/1) of ``pattern`` at body coordinates ``(u, v)``
    (pixels relative to the body, divided by body height)."""
    if pattern.kind == 'plain':
        return np.zeros(np.broadcast_shapes(u.shape, v.shape), np.float32)
    c, s = np.cos(pattern.angle), np.sin(pattern.angle)
    a = (u * c + v * s) * pattern.freq
    a -= np.floor(a)
    if pattern.kind == 'stripes':
        mask = a < pattern.duty
    else:
        b = (v * c - u * s) * pattern.freq
        b -= np.floor(b)
        if pattern.kind == 'checks':
            mask = (a < 0.5) ^ (b < 0.5)
        else:  # dots
            mask = (a - 0.5) ** 2 + (b - 0.5) ** 2 < 0.35 * pattern.duty
    return mask.astype(np.float32)


def _crop(scene, view, size):
    h, w = size
    oy = int(view.bg_y * (scene.shape[0] - h))
    ox = int(view.bg_x * (scene.shape[1] - w))
    return scene[oy:oy + h, ox:ox + w]


def render_person(identity, camera, scene, rng, size):
    """One HxWx3 uint8 RGB image of ``identity`` seen by ``camera``.

    ``scene`` comes from :func:`make_scene` for this camera; ``rng`` supplies
    the view and the sensor noise. Infrared images are grey (three equal
    channels); they depend on no colour of the identity.
    """
    h, w = size
    view = sample_view(rng)
    grain = rng.standard_normal(size, dtype=np.float32)
    coarse = cv2.resize(rng.standard_normal((max(1, h // 6), max(1, w // 6)), dtype=np.float32), (w, h),
                        interpolation=cv2.INTER_LINEAR)
    labels, (cx, y0, ph, sw) = draw_parts(identity, camera, view, size)
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)
    u = ((xs - cx) / ph)[None, :]
    v = ((ys - y0) / ph)[:, None]
    fields = {UPPER: pattern_field(identity.upper_pattern, u, v),
              LOWER: pattern_field(identity.lower_pattern, u, v)}
    # cylinder-like shading across the body and light from above
    shade = (1.0 - 0.35 * np.clip(u * ph / (1.6 * sw), -1, 1) ** 2) * (1.05 - 0.1 * v)
    person = labels != BACKGROUND
    on_upper, on_lower = labels == UPPER, labels == LOWER
    # per-pixel print mask and fabric grain, zero outside the garments
    printed = np.where(on_upper, fields[UPPER], np.where(on_lower, fields[LOWER], 0))
    fine_amp, coarse_amp = np.zeros(7, np.float32), np.zeros(7, np.float32)
    for part, material in ((UPPER, identity.upper_material), (LOWER, identity.lower_material)):
        fine_amp[part], coarse_amp[part] = material.grain, material.coarse
    texture = 1 + fine_amp[labels] * grain + coarse_amp[labels] * coarse

    if camera.modality == VISIBLE:
        col = identity.colours
        base = np.array([(0, 0, 0), col.skin, col.hair, col.upper, col.lower, col.shoes, col.bag],
                        np.float32)
        ink = base.copy()
        ink[UPPER], ink[LOWER] = col.upper_print, col.lower_print
        img = base[labels]
        img += (ink[labels] - img) * printed[..., None]
        img *= (texture * shade)[..., None]
        img = np.where(person[..., None], img, _crop(scene, view, size))
        img = img * (camera.gain * view.light * np.float32(camera.white_balance))
    else:
        heat = np.array([0, identity.skin_thermal, _HAIR_THERMAL, identity.upper_material.thermal,
                         identity.lower_material.thermal, _SHOES_THERMAL,
                         _BAG_COOLING * identity.bag_material.thermal], np.float32)
        ink = np.zeros(7, np.float32)
        ink[UPPER], ink[LOWER] = identity.upper_pattern.ir_contrast, identity.lower_pattern.ir_contrast
        img = heat[labels] * (1 - ink[labels] * printed) * texture
        # heat is more uniform than reflected light: weaker shading
        img = (img + view.heat) * (0.7 + 0.3 * shade)
        img = np.where(person, img, _crop(scene, view, size)) * camera.gain
    img = (img - 0.5) * camera.contrast + 0.5
    img = cv2.GaussianBlur(img, (0, 0), camera.blur)
    noise = camera.noise * rng.standard_normal(size, dtype=np.float32)
    img = img + (noise[..., None] if img.ndim == 3 else noise)
    img = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if view.flip:
        img = img[:, ::-1]
    return np.ascontiguousarray(img)
