"""A small numpy rasteriser for the 2D sweeping scenes: filled convex polygons and discs, no anti-aliasing.

Shapes arrive in world coordinates with a camera (an affine map world -> pixel); each is filled only inside its
pixel bounding box, so a 64x64 frame of a dozen shapes costs a few hundred microseconds. Headless: no display,
no OpenGL, no pygame.
"""
from __future__ import annotations

import numpy as np


class Camera:
    """World -> pixel map: pixel = scale * R(-angle) (world - centre) + offset, with the y axis flipped."""

    def __init__(self, size: int, view_width: float, centre=(0.0, 0.0), angle: float = 0.0,
                 anchor01=(0.5, 0.5)):
        self.size = size
        self.scale = size / view_width
        self.centre = np.asarray(centre, dtype=np.float64)
        c, s = np.cos(-angle), np.sin(-angle)
        self.rot = np.array([[c, -s], [s, c]])
        self.offset = np.array([anchor01[0] * size, (1.0 - anchor01[1]) * size])

    def __call__(self, points: np.ndarray) -> np.ndarray:
        pixels = (np.asarray(points, dtype=np.float64) - self.centre) @ (self.rot.T * self.scale)
        pixels[..., 0] += self.offset[0]
        pixels[..., 1] = self.offset[1] - pixels[..., 1]
        return pixels


def _box(img: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    h, w = img.shape[:2]
    x0, y0 = max(int(np.floor(lo[0])), 0), max(int(np.floor(lo[1])), 0)
    x1, y1 = min(int(np.ceil(hi[0])) + 1, w), min(int(np.ceil(hi[1])) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5


def fill_convex(img: np.ndarray, pts: np.ndarray, color) -> None:
    """Fills the convex polygon with pixel-space vertices `pts` (N x 2, x = column, y = row), either winding."""
    box = _box(img, pts.min(axis=0), pts.max(axis=0))
    if box is None:
        return
    x0, y0, xs, ys = box
    a, b = pts, np.concatenate((pts[1:], pts[:1]))
    area = np.sum(a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1])
    sign = 1.0 if area >= 0 else -1.0
    ex, ey = (b - a).T
    cross = ex[:, None, None] * (ys[None, :, None] - a[:, 1, None, None]) \
        - ey[:, None, None] * (xs[None, None, :] - a[:, 0, None, None])
    inside = np.all(sign * cross >= 0, axis=0)
    img[y0:y0 + len(ys), x0:x0 + len(xs)][inside] = color


def fill_disc(img: np.ndarray, centre: np.ndarray, radius: float, color) -> None:
    box = _box(img, centre - radius, centre + radius)
    if box is None:
        return
    x0, y0, xs, ys = box
    inside = (xs[None, :] - centre[0]) ** 2 + (ys[:, None] - centre[1]) ** 2 <= radius * radius
    img[y0:y0 + len(ys), x0:x0 + len(xs)][inside] = color
