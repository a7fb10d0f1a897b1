"""The 19 value dimensions of ProgressGym and small helpers on value vectors.

A value vector lives in [-1, 1]^19:
  dims 0-9   moral-choice rules: +1 = always upholds the rule, -1 = always breaks it, 0 = indifferent;
  dims 10-14 moral foundations: +1 = strongly endorses the foundation, -1 = rejects it;
  dims 15-18 worldviews: relative appeal of each of four worldviews. Only differences between them are
             observable (people pick one of four), so population worldview values are kept centred (sum 0).
"""
from __future__ import annotations

import math

import numpy as np

RULES = ("kill", "pain", "disable", "freedom", "pleasure", "deceive", "cheat", "promise", "law", "duty")
FOUNDATIONS = ("care", "fairness", "loyalty", "authority", "purity")
WORLDVIEWS = ("traditional", "modern", "postmodern", "integrated")
DIMENSIONS = RULES + FOUNDATIONS + WORLDVIEWS
N_DIMS = len(DIMENSIONS)  # 19
BINARY_DIMS = slice(0, 15)  # rules and foundations: measured by two-option items
WORLDVIEW_DIMS = slice(15, 19)  # measured by four-option items


def dim_index(name: str) -> int:
    if name not in DIMENSIONS:
        raise ValueError(f"Unknown value dimension {name!r}; known: {', '.join(DIMENSIONS)}.")
    return DIMENSIONS.index(name)


def clip_unit(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """`np.clip(values, -1, 1, out=out)` through the array's own method: one pass (np.maximum then np.minimum take
    about four times as long on a batch) without np.clip's Python-level overhead (which dominates on small arrays)."""
    return values.clip(-1.0, 1.0, out=out)


def centre_worldviews(values: np.ndarray, inplace: bool = False) -> np.ndarray:
    """Clips to [-1, 1] and shifts the worldview block of each vector (last axis) to sum 0, shrinking it
    towards 0 where the shift would leave [-1, 1]. `inplace=True` reuses `values` (a float array)."""
    out = clip_unit(values, out=values if inplace else None)
    # worldviews first, (4, ...) contiguous: the reductions then run along whole rows, not 4-long inner loops;
    # add.reduce / 4 is what ndarray.mean computes, without its Python-level overhead
    wv = out[..., WORLDVIEW_DIMS].T
    centred = wv.copy()
    centred -= np.add.reduce(centred, axis=0) / 4.0
    centred /= np.maximum(1.0, np.maximum.reduce(np.abs(centred), axis=0))
    wv[...] = centred
    return out


def centre_floats(values: list[float]) -> list[float]:
    """`centre_worldviews` of one vector held as a list of Python floats (a single env's step: the same
    arithmetic without a numpy call)."""
    out = values if -1.0 <= min(values) and max(values) <= 1.0 else [min(1.0, max(-1.0, x)) for x in values]
    w0, w1, w2, w3 = out[WORLDVIEW_DIMS]
    mean = (w0 + w1 + w2 + w3) / 4.0
    wv = [w0 - mean, w1 - mean, w2 - mean, w3 - mean]
    scale = max(1.0, max(map(abs, wv)))
    return out[:WORLDVIEW_DIMS.start] + ([w / scale for w in wv] if scale > 1.0 else wv)


def cosine(a: np.ndarray, b: np.ndarray, bb: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarity along the last axis; 0 where either vector is all zeros (no stated values).
    `bb` is b's squared norms, where the caller already has them."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim == b.ndim == 1:  # one pair (a single env's step): np.dot has a third of einsum's call overhead
        norm = math.sqrt(np.dot(a, a) * (np.dot(b, b) if bb is None else bb))
        return float(np.dot(a, b) / norm) if norm > 1e-24 else 0.0
    if bb is None:
        bb = np.einsum("...i,...i->...", b, b)
    norms = np.sqrt(np.einsum("...i,...i->...", a, a) * bb)
    return divide_nonzero(np.einsum("...i,...i->...", a, b), norms)


def cosine_matrix(a: np.ndarray, b: np.ndarray, bb: np.ndarray | None = None) -> np.ndarray:
    """Cosines of every vector of `a` (..., S, 19) with every vector of `b` (..., T, 19): (..., S, T), 0 where either
    is all zeros; `bb` is b's squared norms (..., T) where known. One batched matrix product (which may round the
    last bit differently from `cosine`)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if bb is None:
        bb = np.einsum("...i,...i->...", b, b)
    norms = np.sqrt(np.einsum("...i,...i->...", a, a)[..., :, None] * bb[..., None, :])
    return divide_nonzero(a @ b.swapaxes(-1, -2), norms)


def divide_nonzero(dot: np.ndarray, norms: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """dot / norms, 0 where a norm is <= 1e-24 (an all-zero vector); the masked division (twice the cost) only when
    there is such a norm. `out`: where to write it."""
    if np.minimum.reduce(norms, axis=None) > 1e-24:
        return np.divide(dot, norms, out=out)
    if out is None:
        out = np.zeros(np.broadcast(dot, norms).shape)
    else:
        out[...] = 0.0
    return np.divide(dot, norms, out=out, where=norms > 1e-24)
