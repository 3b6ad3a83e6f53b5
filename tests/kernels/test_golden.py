"""Golden generated sources: model.c / model.h of two real models, stored in tests/golden/.

Any change to the C that tinygen generates shows here, and in review as a diff of the golden files.
After an intended change, regenerate them with `TINYGEN_UPDATE_GOLDEN=1 pytest tests/kernels/test_golden.py`
and commit the diff with the change that caused it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinygen.compiler import generate, load_model

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
MODELS = {
    "hello_world": "tflm/hello_world/hello_world_int8.tflite",  # FULLY_CONNECTED, portable kernels
    "kws": "mlperf/kws/kws_ref_model.tflite",  # conv, depthwise, in-place and SIMD kernels, pool, softmax
}


@pytest.mark.parametrize("key", sorted(MODELS))
def test_generated_sources_match_golden(key, models_dir):
    files = generate(load_model(models_dir / MODELS[key]), name="model").files
    folder = GOLDEN / key
    current = {"model.c": files["model.c"], "model.h": files["model.h"],
               "files.txt": "".join(f"{name}\n" for name in sorted(files))}
    if os.environ.get("TINYGEN_UPDATE_GOLDEN"):
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in current.items():
            (folder / name).write_text(text)
    for name, text in current.items():
        golden = (folder / name).read_text()
        assert text == golden, f"{key}/{name} differs from tests/golden (see the module docstring)"
