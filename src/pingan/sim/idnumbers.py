"""Vectorised identifiers: resident ID numbers (ISO 7064 MOD 11-2), mobile numbers and Luhn card numbers.

Numbers are built as matrices of ASCII digits and handed to Arrow as string buffers without a Python
loop per row. Each function agrees with the scalar check in `pingan.core.pii`; the tests say so.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_ZERO = ord("0")


def digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Each non-negative integer as `width` ASCII digits, zero-padded: a (n, width) uint8 matrix."""
    v = values.astype(np.int64, copy=True)
    out = np.empty((v.size, width), dtype=np.uint8)
    for col in range(width - 1, -1, -1):
        out[:, col] = v % 10 + _ZERO
        v //= 10
    return out


def strings_from_matrix(mat: np.ndarray, lengths: np.ndarray | None = None) -> pa.Array:
    """An Arrow string array from an ASCII matrix; rows shorter than the width use `lengths` leading bytes."""
    n, width = mat.shape
    if lengths is None:
        data = np.ascontiguousarray(mat).tobytes()
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    else:
        keep = np.arange(width)[None, :] < lengths[:, None]
        data = np.ascontiguousarray(mat[keep]).tobytes()
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def national_id_matrix(region: np.ndarray, birth_yyyymmdd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """18-character resident IDs: 6-digit region, birth date, 3-digit sequence and the check character."""
    body = np.concatenate(
        [digit_matrix(region, 6), digit_matrix(birth_yyyymmdd, 8), digit_matrix(seq, 3)], axis=1
    )
    total = (body.astype(np.int64) - _ZERO) @ _ID_WEIGHTS
    return np.concatenate([body, _ID_CHECK[total % 11][:, None]], axis=1)


def luhn_digits(payload: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The Luhn check digit (ASCII) of each row's first `lengths` digits of an ASCII matrix."""
    total = np.zeros(payload.shape[0], dtype=np.int32)
    # One pass per column over 1-D vectors: no (rows x width) int64 temporaries for millions of cards.
    for col in range(payload.shape[1]):
        d = payload[:, col].astype(np.int32) - _ZERO
        pos_from_right = lengths - 1 - col  # 0 for the last payload digit, which is doubled
        doubled = np.where(d > 4, d * 2 - 9, d * 2)
        total += np.where(pos_from_right < 0, 0, np.where(pos_from_right % 2 == 0, doubled, d))
    return np.asarray((10 - total % 10) % 10 + _ZERO, dtype=np.uint8)


def card_matrix(
    bin_prefix: np.ndarray, body: np.ndarray, body_width: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Card numbers: 6-digit BIN, a body of 9 or 12 digits, Luhn digit; returns (matrix, lengths)."""
    n = body.size
    mat = np.full((n, 19), _ZERO, dtype=np.uint8)
    mat[:, :6] = digit_matrix(bin_prefix, 6)
    for width in np.unique(body_width):
        rows = body_width == width
        mat[rows, 6 : 6 + width] = digit_matrix(body[rows], int(width))
    lengths = 6 + body_width + 1
    check = luhn_digits(mat, lengths - 1)
    mat[np.arange(n), lengths - 1] = check
    return mat, lengths.astype(np.int64)
