"""Generated C: deterministic, warning-free C99 on host and Cortex-M compilers, no heap."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from oracle import INT8_MODELS
from tinygen.compiler import generate, load_model
from tinygen.codegen import model as codegen

SHARED_TFLITE = list(INT8_MODELS.values())
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wshadow", "-O2", "-c"]


@pytest.fixture(scope="module", params=SHARED_TFLITE)
def generated(request, models_dir, tmp_path_factory):
    graph = load_model(models_dir / request.param)
    result = generate(graph, name="net")
    out = tmp_path_factory.mktemp("gen")
    codegen.write(result.files, out)
    return request.param, result, out


def compile_all(cc: str, flags: list, folder) -> list:
    objs = []
    for src in sorted(folder.glob("*.c")):
        obj = src.with_suffix(".o" if cc == "gcc" else ".arm.o")
        proc = subprocess.run([cc, *flags, "-I", str(folder), str(src), "-o", str(obj)],
                              capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stderr.strip(), f"{cc} {src.name}:\n{proc.stderr}"
        objs.append(obj)
    return objs


def test_host_compile_is_warning_free_and_heap_free(generated):
    name, result, out = generated
    objs = compile_all("gcc", STRICT, out)
    syms = subprocess.run(["nm", "-u", *map(str, objs)], capture_output=True, text=True).stdout
    for forbidden in ("malloc", "free", "calloc", "realloc", "printf"):
        assert f" {forbidden}\n" not in syms, f"{name}: references {forbidden}"


def test_cortex_m4_compile_is_warning_free(generated):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc is not installed (run `make sysdeps`)")
    _, _, out = generated
    compile_all("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
                                      *STRICT], out)


def test_generation_is_deterministic(generated, models_dir):
    name, result, _ = generated
    again = generate(load_model(models_dir / name), name="net")
    assert again.files == result.files


def test_generation_is_identical_across_processes(models_dir, tmp_path):
    """Different PYTHONHASHSEED and working folder give byte-identical sources."""
    script = ("import sys, hashlib; from tinygen.compiler import generate, load_model\n"
              "r = generate(load_model(sys.argv[1]), name='m')\n"
              "h = hashlib.sha256()\n"
              "[h.update(k.encode() + v.encode()) for k, v in sorted(r.files.items())]\n"
              "print(h.hexdigest())\n")
    digests = set()
    for seed, cwd in (("1", tmp_path), ("999", tmp_path.parent)):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-c", script, str(models_dir / SHARED_TFLITE[2])], cwd=cwd,
                              env=env, capture_output=True, text=True, check=True)
        digests.add(proc.stdout.strip())
    assert len(digests) == 1


def _distinct_arch_flags():
    from tinygen.target.boards import list_boards

    seen = {}
    for b in list_boards():
        seen.setdefault(tuple(b.arch_flags), b.name)
    return sorted(seen.items(), key=lambda kv: kv[1])


@pytest.mark.parametrize("flags,board", _distinct_arch_flags(), ids=[b for _, b in _distinct_arch_flags()])
def test_every_core_compiles_every_model_warning_free(flags, board, models_dir, tmp_path):
    """Each distinct -mcpu/-mfpu/-mfloat-abi set builds every shared model with -Wconversion -Werror."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc is not installed (run `make sysdeps`)")
    for i, name in enumerate(SHARED_TFLITE):
        folder = tmp_path / f"m{i}"
        codegen.write(generate(load_model(models_dir / name), name="net").files, folder)
        compile_all("arm-none-eabi-gcc", [*flags, "-Wconversion", "-Wsign-conversion", *STRICT], folder)
