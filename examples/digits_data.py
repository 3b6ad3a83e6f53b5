"""scikit-learn's bundled 8x8 digits, split and scaled the same way by every example."""
from __future__ import annotations

import numpy as np


def load_digits_split(seed: int = 0):
    """Return (x_train, y_train, x_test, y_test); x is float32 (N, 8, 8, 1) in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[..., None]
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    return x_tr, y_tr, x_te, y_te
