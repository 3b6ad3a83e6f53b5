"""Weight quantization schemes: how a float weight tensor becomes int8 values plus per-channel scales.

Every scheme produces the same two things, so the rest of the compiler treats its output as ordinary
per-channel symmetric int8 weights: `values` (int8, the tensor's own shape) and `scales` (one float
per output channel), with  weight ~= scales[c] * values[..c..].  What differs is which int8 values
a scheme may use, and therefore how few bits the kernels need to store them:

  int8     values in [-127, 127]                            8 bits per weight (TFLite's scheme); on
                                                            DSP cores reused weights are kept
                                                            pre-extended to 16 bits for speed
  int8c    as int8, always one byte per weight              8 bits (less flash, slower on DSP cores)
  int4     values in [-8, 7]                                4 bits, two per byte
  kmeansB  values from a per-layer codebook of 2^B int8     B bits (B = 4, 3, 2) of codebook index
           entries found by 1-D k-means
  ternary  values in {-1, 0, +1}                            2 bits (non-zero and sign bit planes)
  binary   values in {-1, +1}                               1 bit  (sign bit plane)

Scales are chosen per output channel to minimise the squared weight error (clipping search for
int4, the closed-form optimum for ternary and binary, least squares for k-means), and never go
below `min_scale` (the floor the bias needs to stay within int32).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

SCHEMES = ("int8", "int8c", "int4", "kmeans4", "kmeans3", "kmeans2", "ternary", "binary")

# bits of storage per weight (codebooks and scales come on top)
BITS = {"int8": 8, "int8c": 8, "int4": 4, "kmeans4": 4, "kmeans3": 3, "kmeans2": 2, "ternary": 2, "binary": 1}


@dataclass
class Quantized:
    values: np.ndarray  # int8, same shape as the float weights
    scales: np.ndarray  # float64, one per channel along `axis`
    codebook: Optional[np.ndarray] = None  # int8 entries of a palettized scheme (sorted), else None


def check_scheme(scheme: str, where: str = "") -> str:
    from tinygen.options import OptionError, literal

    if scheme not in SCHEMES:
        at = f"{where}: " if where else ""  # where: an option ("{weights}") or a table entry
        raise OptionError(f"{at}unknown weight scheme '{literal(scheme)}'; use one of {', '.join(SCHEMES)}")
    return scheme


def palette_bits(scheme: str) -> Optional[int]:
    return int(scheme[len("kmeans"):]) if scheme.startswith("kmeans") else None


def _round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (TFLite's quantizer)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _channels_first(data: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(data, axis, 0).reshape(data.shape[axis], -1)


def _restore(rows: np.ndarray, shape: tuple, axis: int) -> np.ndarray:
    moved = list(shape)
    moved.insert(0, moved.pop(axis))
    return np.moveaxis(rows.reshape(moved), 0, axis)


def quantize(data: np.ndarray, axis: int, scheme: str, min_scale=None) -> Quantized:
    """Quantize float `data` per channel along `axis` with `scheme`."""
    check_scheme(scheme)
    rows = _channels_first(np.asarray(data, dtype=np.float64), axis)
    floor = np.zeros(rows.shape[0]) if min_scale is None else np.broadcast_to(
        np.asarray(min_scale, np.float64), (rows.shape[0],))
    codebook = None
    if scheme in ("int8", "int8c"):
        q, s = _linear(rows, -127, 127, floor, search=False)
    elif scheme == "int4":
        q, s = _linear(rows, -8, 7, floor, search=True)
    elif scheme == "ternary":
        q, s = _ternary(rows, floor)
    elif scheme == "binary":
        q, s = _binary(rows, floor)
    else:
        q, s, codebook = _kmeans(rows, 1 << palette_bits(scheme), floor)
    s = s.astype(np.float32).astype(np.float64)  # scales are float32 in the graph
    return Quantized(_restore(q.astype(np.int8), data.shape, axis), s, codebook)


def _linear(rows: np.ndarray, lo: int, hi: int, floor: np.ndarray, search: bool) -> tuple:
    """Symmetric uniform grid [lo, hi]; with `search`, the clipping scale with the least squared error."""
    absmax = np.max(np.abs(rows), axis=1)
    base = np.where(absmax > 0, absmax / hi, 1.0)
    ratios = np.linspace(0.5, 1.0, 51) if search else np.array([1.0])
    best_s = np.maximum(base, floor)
    best_err = np.full(rows.shape[0], np.inf)
    for r in ratios:
        s = np.maximum(base * r, floor)
        q = np.clip(_round(rows / s[:, None]), lo, hi)
        err = np.sum((q * s[:, None] - rows) ** 2, axis=1)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best_s = np.where(better, s, best_s)
    best_s = best_s.astype(np.float32).astype(np.float64)
    return np.clip(_round(rows / best_s[:, None]), lo, hi), best_s


def _ternary(rows: np.ndarray, floor: np.ndarray) -> tuple:
    """Per channel, keep the k largest |w| as +-a with a their mean: the k maximising (sum top-k)^2 / k
    minimises the squared error exactly (the threshold form of Li & Liu's ternary weight networks)."""
    mags = -np.sort(-np.abs(rows), axis=1)
    k = np.arange(1, rows.shape[1] + 1)
    csum = np.cumsum(mags, axis=1)
    best_k = np.argmax(csum ** 2 / k, axis=1) + 1
    thresh = mags[np.arange(rows.shape[0]), best_k - 1]
    a = csum[np.arange(rows.shape[0]), best_k - 1] / best_k
    a = np.where(a > 0, a, 1.0)
    keep = np.abs(rows) >= thresh[:, None]
    # ties at the threshold can keep more than best_k weights: recompute a over what is kept
    a = np.where(keep.sum(1) > 0, np.sum(np.abs(rows) * keep, axis=1) / np.maximum(keep.sum(1), 1), a)
    a = np.maximum(np.where(a > 0, a, 1.0), floor)
    q = np.where(keep & (np.abs(rows) > 0), np.sign(rows), 0.0)
    return q, a


def _binary(rows: np.ndarray, floor: np.ndarray) -> tuple:
    """sign(w) (zero counts as +) with a = mean |w|, the least-squares scale (XNOR-Net)."""
    a = np.mean(np.abs(rows), axis=1)
    a = np.maximum(np.where(a > 0, a, 1.0), floor)
    return np.where(rows >= 0, 1.0, -1.0), a


def kmeans_1d(values: np.ndarray, k: int, iters: int = 50) -> np.ndarray:
    """Lloyd's k-means on scalars, initialised at the quantiles (deterministic); sorted centroids."""
    v = np.sort(np.asarray(values, np.float64).ravel())
    if v.size == 0:
        return np.zeros(k)
    c = np.quantile(v, (np.arange(k) + 0.5) / k)
    for _ in range(iters):
        edges = (c[1:] + c[:-1]) / 2
        idx = np.searchsorted(edges, v)
        sums = np.bincount(idx, weights=v, minlength=k)
        counts = np.bincount(idx, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        if np.allclose(new, c):
            break
        c = np.sort(new)
    return c


def _nearest(values: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    edges = (codebook[1:] + codebook[:-1]) / 2.0
    return np.searchsorted(edges, values)


def _kmeans(rows: np.ndarray, k: int, floor: np.ndarray) -> tuple:
    """One codebook per layer over the channel-normalised weights (w / (absmax_c / 127)), its
    centroids rounded to int8; then each channel's scale refit by least squares (3 rounds)."""
    absmax = np.max(np.abs(rows), axis=1)
    s = np.maximum(np.where(absmax > 0, absmax / 127.0, 1.0), floor)
    cents = kmeans_1d(rows / s[:, None], k)
    book = np.unique(np.clip(_round(cents), -127, 127))
    for _ in range(3):
        q = book[_nearest(rows / s[:, None], book)]
        num = np.sum(rows * q, axis=1)
        den = np.sum(q * q, axis=1)
        s = np.maximum(np.where((den > 0) & (num > 0), num / np.maximum(den, 1e-300), s), floor)
        s = s.astype(np.float32).astype(np.float64)
    q = book[_nearest(rows / s[:, None], book)]
    codebook = np.zeros(k, dtype=np.int8)
    codebook[:book.size] = book.astype(np.int8)
    return q, s, codebook


def codebook_of(values: np.ndarray, scheme: str) -> np.ndarray:
    """The 2^B-entry codebook of palettized int8 `values`: its distinct values, sorted, zero-padded."""
    k = 1 << palette_bits(scheme)
    book = np.unique(np.asarray(values, np.int8))
    if book.size > k:
        from tinygen.errors import TinygenError
        raise TinygenError(f"{book.size} distinct weight values do not fit a {scheme} codebook of {k}")
    out = np.zeros(k, dtype=np.int8)
    out[:book.size] = book
    return out


def allowed(values: np.ndarray, scheme: str) -> bool:
    """Do int8 `values` fit `scheme`'s storage?"""
    v = np.asarray(values)
    if scheme in ("int8", "int8c"):
        return bool(v.min(initial=0) >= -128)
    if scheme == "int4":
        return bool(v.min(initial=0) >= -8 and v.max(initial=0) <= 7)
    if scheme == "ternary":
        return bool(np.isin(v, (-1, 0, 1)).all())
    if scheme == "binary":
        return bool(np.isin(v, (-1, 1)).all())
    return np.unique(v).size <= (1 << palette_bits(scheme))
