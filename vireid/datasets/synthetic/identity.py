"""Per-identity appearance: body shape, clothing layout, patterns, materials, colours.

Everything an identity looks like is drawn once from a generator seeded by
``(seed, dataset, pid)``, so an identity does not depend on which other
identities were generated or in which order. Colours are drawn from their own
stream, so swapping them (``with_colours``) changes nothing else: the infrared
renderer never reads them.
"""
import colorsys
from dataclasses import dataclass, replace

import numpy as np

# Sub-streams of an identity's seed; new attributes get new codes so that old
# attributes keep their values.
_SHAPE, _CLOTHES, _PATTERN, _MATERIAL, _COLOUR = range(5)

PATTERN_KINDS = ('plain', 'stripes', 'checks', 'dots')
SLEEVES = {'none': 0.0, 'short': 0.38, 'long': 0.95}
LOWER_KINDS = ('shorts', 'trousers', 'skirt')
LOWER_LENGTH = {'shorts': 0.38, 'trousers': 0.93, 'skirt': 0.5}
BAGS = ('none', 'backpack', 'shoulder', 'hand')


@dataclass(frozen=True)
class Material:
    """A fabric: ``thermal`` is its infrared brightness when worn (emissivity
    times how much body heat reaches the surface); ``grain`` and ``coarse``
    the amplitudes of its fine and coarse surface texture, seen by both
    modalities (a weave modulates reflected light and emitted heat alike)."""
    name: str
    thermal: float
    grain: float
    coarse: float


# Texture amplitudes large enough to survive the cameras' blur at 96x48: a
# fabric must be recognisable in visible light too, or material would be an
# infrared-only cue and cross-modality matching would lose it.
MATERIALS = (
    Material('synthetic', 0.86, 0.0, 0.0),
    Material('cotton', 0.70, 0.12, 0.05),
    Material('denim', 0.56, 0.18, 0.14),
    Material('wool', 0.42, 0.08, 0.3),
    Material('leather', 0.26, 0.0, 0.1),
)


@dataclass(frozen=True)
class Pattern:
    """A periodic print: ``freq`` in cycles per body height, ``angle`` in
    radians, ``duty`` the printed fraction, ``ir_contrast`` how much darker the
    print is in infrared (ink changes emissivity, not only colour)."""
    kind: str
    freq: float
    angle: float
    duty: float
    ir_contrast: float


@dataclass(frozen=True)
class Colours:
    """RGB colours in [0, 1]; the infrared renderer never reads them."""
    skin: tuple
    hair: tuple
    upper: tuple
    upper_print: tuple
    lower: tuple
    lower_print: tuple
    shoes: tuple
    bag: tuple


@dataclass(frozen=True)
class Identity:
    """What one person looks like. Lengths are fractions of body height."""
    pid: int
    height: float      # body height as a fraction of the frame at camera scale 1
    build: float       # shoulder / hip width multiplier
    head: float        # head height
    leg_gap: float     # gap between the legs at the hip
    waist: float       # where the upper garment ends
    hair: str          # 'short' or 'long'
    sleeve: str
    lower: str
    bag: str
    bag_side: int      # -1 left, +1 right (before any flip)
    upper_pattern: Pattern
    lower_pattern: Pattern
    upper_material: Material
    lower_material: Material
    bag_material: Material
    skin_thermal: float
    colours: Colours


def _rng(seed, dataset, pid, stream):
    return np.random.default_rng([seed, dataset, pid, stream])


def _pattern(rng):
    kind = PATTERN_KINDS[rng.integers(len(PATTERN_KINDS))]
    return Pattern(
        kind=kind,
        freq=float(rng.uniform(4.0, 10.0)),  # finer prints alias away at ReID image sizes
        angle=float(rng.choice([0.0, np.pi / 2, np.pi / 4, -np.pi / 4]) + rng.normal(0, 0.08)),
        duty=float(rng.uniform(0.3, 0.55)),
        ir_contrast=float(rng.uniform(0.35, 0.65)))


def _colour(rng, sat=(0.15, 0.95), val=(0.15, 0.95)):
    if rng.random() < 0.2:  # black, grey and white clothes are common
        grey = rng.uniform(0.05, 0.95)
        return (float(grey), float(grey), float(grey))
    rgb = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val))
    return tuple(float(c) for c in rgb)


def _print_colour(rng, base, min_contrast=0.3):
    """A print colour whose brightness differs from ``base`` by at least
    ``min_contrast``: a print that vanishes in grey (as one in the same
    brightness would) leaves its geometry to the infrared image alone."""
    ink = _colour(rng)
    base_v, ink_v = max(base), max(ink)
    if abs(ink_v - base_v) >= min_contrast:
        return ink
    # move the brightness away from the base's, towards the side with room
    target = base_v - min_contrast if base_v >= 0.5 else base_v + min_contrast
    scale = target / max(ink_v, 1e-3)
    return tuple(float(min(1.0, c * scale)) if ink_v > 1e-3 else float(target) for c in ink)


def sample_colours(rng):
    """Draw a full set of garment / body colours from ``rng``."""
    tone = rng.uniform(0.35, 0.95)
    skin = (tone, tone * rng.uniform(0.72, 0.85), tone * rng.uniform(0.55, 0.7))
    hair_v = rng.uniform(0.05, 0.6)
    hair = (hair_v, hair_v * 0.8, hair_v * 0.6)
    upper, lower = _colour(rng), _colour(rng)
    return Colours(
        skin=tuple(float(c) for c in skin), hair=tuple(float(c) for c in hair),
        upper=upper, upper_print=_print_colour(rng, upper), lower=lower,
        lower_print=_print_colour(rng, lower), shoes=_colour(rng, (0.0, 0.5), (0.05, 0.9)),
        bag=_colour(rng, (0.1, 0.9), (0.1, 0.8)))


def sample_identity(seed, dataset, pid):
    """The identity ``pid`` of ``dataset`` (an int code) for a generator seed."""
    shape = _rng(seed, dataset, pid, _SHAPE)
    clothes = _rng(seed, dataset, pid, _CLOTHES)
    patterns = _rng(seed, dataset, pid, _PATTERN)
    materials = _rng(seed, dataset, pid, _MATERIAL)
    colours = _rng(seed, dataset, pid, _COLOUR)
    mats = [MATERIALS[i] for i in materials.integers(len(MATERIALS), size=3)]
    return Identity(
        pid=int(pid),
        height=float(shape.uniform(0.78, 0.95)),
        build=float(shape.uniform(0.78, 1.3)),
        head=float(shape.uniform(0.11, 0.155)),
        leg_gap=float(shape.uniform(0.0, 0.06)),
        waist=float(shape.uniform(0.45, 0.62)),
        hair=('short', 'long')[int(clothes.random() < 0.4)],
        sleeve=tuple(SLEEVES)[clothes.integers(len(SLEEVES))],
        lower=LOWER_KINDS[clothes.integers(len(LOWER_KINDS))],
        bag=BAGS[clothes.integers(len(BAGS))],
        bag_side=int(clothes.choice([-1, 1])),
        upper_pattern=_pattern(patterns),
        lower_pattern=_pattern(patterns),
        upper_material=mats[0], lower_material=mats[1], bag_material=mats[2],
        skin_thermal=float(materials.uniform(0.9, 1.0)),
        colours=sample_colours(colours))


def with_colours(identity, colours):
    """The same person in differently coloured clothes (same shape, prints, fabrics)."""
    return replace(identity, colours=colours)
