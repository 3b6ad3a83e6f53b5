"""The built wheel carries templates/, runtime_c/ and boards/, and an installed wheel builds a model."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_installed_wheel_builds_a_model(models_dir, tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("tinygen-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for must in ("tinygen/_data/templates/model.c.j2", "tinygen/_data/runtime_c/include/tg_common.h",
                 "tinygen/_data/runtime_c/conv/tg_conv2d_s8.c",
                 "tinygen/_data/boards/cortex-m4.toml"):
        assert must in names, must
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = dict(os.environ, PYTHONPATH=str(site))
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = ("import tinygen, sys, numpy as np; from pathlib import Path\n"
            "assert Path(tinygen.__file__).resolve().is_relative_to(Path(sys.argv[2]).resolve()), tinygen.__file__\n"
            "r = tinygen.compile(sys.argv[1], 'out', board='cortex-m4')\n"
            "y = tinygen.run('out', [np.arange(-5, 5, dtype=np.int8).reshape(10, 1)])[0]\n"
            "print(r.report['arena_bytes'], y.ravel().tolist())\n")
    proc = subprocess.run([sys.executable, "-c", code, str(models_dir / "tflm/hello_world/hello_world_int8.tflite"),
                           str(site)], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (work / "out" / "model" / "model.c").is_file()
    assert (work / "out" / "Makefile").is_file()
    assert len(proc.stdout.split("[")[1].split(",")) == 10
