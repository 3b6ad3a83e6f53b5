"""--name names the plain output's files: OUT/model/<name>.c / <name>.h (and every symbol), recorded in
tinygen.json (`model_files`), so run / verify / bench and the firmware find them, and the model/ folders of
two builds go into one program (docs/deploy.md, "Several models in one program")."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygen

HELLO = "tflm/hello_world/hello_world_int8.tflite"  # --name a: fully connected layers
KWS = "mlperf/kws/kws_ref_model.tflite"  # --name b: conv, depthwise, pool, softmax
STRICT = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"]


def cli(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TINYGEN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=900)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (run `make sysdeps`)")
    return path


@pytest.fixture(scope="module")
def built(models_dir, tmp_path_factory) -> dict:
    """{name: output folder} of `tinygen build` of two different models with --name a and --name b."""
    root = tmp_path_factory.mktemp("named")
    outs = {}
    for name, rel in (("a", HELLO), ("b", KWS)):
        outs[name] = root / name
        p = cli("build", models_dir / rel, "-o", outs[name], "--name", name)
        assert p.returncode == 0, p.stderr
    return outs


def _inputs(out: Path, n: int, seed: int) -> np.ndarray:
    info = json.loads((out / "tinygen.json").read_text())["inputs"][0]
    return np.random.default_rng(seed).integers(-128, 128, size=(n, *info["shape"][1:])).astype(np.int8)


def test_files_and_symbols_follow_name(built):
    for name, out in built.items():
        model = out / "model"
        assert (model / f"{name}.c").is_file() and (model / f"{name}.h").is_file()
        assert not (model / "model.c").exists() and not (model / "model.h").exists()
        man = json.loads((out / "tinygen.json").read_text())
        assert man["model_files"] == {"source": f"model/{name}.c", "header": f"model/{name}.h"}
        assert f'#include "{name}.h"\n' in (out / "firmware" / "main.c").read_text()
        header = (model / f"{name}.h").read_text()
        assert f"int {name}_invoke_io(const void *const *inputs, void *const *outputs);" in header
        assert f"#define {name.upper()}_ARENA_SIZE " in header


@pytest.mark.qemu
def test_run_verify_bench_on_a_named_folder(built, tmp_path):
    _tool("arm-none-eabi-gcc"), _tool("qemu-system-arm"), _tool("make")
    out = built["a"]
    x = _inputs(out, 16, 1)
    np.save(tmp_path / "x.npy", x)
    ys = {}
    for target in ("host", "qemu"):
        p = cli("run", out, "--input", tmp_path / "x.npy", "--output", tmp_path / f"{target}.npy", "--target", target)
        assert p.returncode == 0, p.stderr
        ys[target] = np.load(tmp_path / f"{target}.npy")
    assert ys["host"].shape == (16, 1) and ys["host"].tobytes() == ys["qemu"].tobytes()
    assert len(set(ys["host"].ravel().tolist())) > 1  # the inputs really reach the model
    p = cli("verify", out, "--samples", "4")
    assert p.returncode == 0 and "OK: bit-exact with TFLM" in p.stdout, p.stdout + p.stderr
    p = cli("bench", out)
    assert p.returncode == 0, p.stderr
    assert "FULLY_CONNECTED" in p.stdout


def _driver() -> str:
    """A main() that runs both models, one sample of each in turn: argv = a-in a-out b-in b-out."""
    lines = ["#include <stdio.h>", '#include "a.h"', '#include "b.h"', "",
             "int main(int argc, char **argv)", "{",
             "    static int8_t ai[A_INPUT0_SIZE], ao[A_OUTPUT0_SIZE], bi[B_INPUT0_SIZE], bo[B_OUTPUT0_SIZE];",
             "    FILE *fai, *fao, *fbi, *fbo;",
             "    if (argc != 5) return 64;",
             '    fai = fopen(argv[1], "rb"); fao = fopen(argv[2], "wb");',
             '    fbi = fopen(argv[3], "rb"); fbo = fopen(argv[4], "wb");',
             "    if (!fai || !fao || !fbi || !fbo) return 65;",
             "    while (fread(ai, 1, sizeof ai, fai) == sizeof ai && fread(bi, 1, sizeof bi, fbi) == sizeof bi) {",
             "        if (a_invoke(ai, ao) != 0 || b_invoke(bi, bo) != 0) return 1;",
             "        fwrite(ao, 1, sizeof ao, fao);",
             "        fwrite(bo, 1, sizeof bo, fbo);",
             "    }",
             "    fclose(fai); fclose(fao); fclose(fbi); fclose(fbo);",
             "    return 0;", "}", ""]
    return "\n".join(lines)


def test_two_plain_outputs_link_into_one_program(built, tmp_path):
    """The union of the two model/ folders (kernel files of one name are the same file) compiles warning-free
    into one program whose outputs equal each model's own host run; compiling each folder's kernels
    separately defines them twice, which is why docs/deploy.md says to compile each kernel file once."""
    gcc = _tool("gcc")
    a, b = built["a"] / "model", built["b"] / "model"
    shared = sorted({f.name for f in a.iterdir()} & {f.name for f in b.iterdir()})
    assert "tg_common.h" in shared and any(s.endswith(".c") for s in shared)
    assert not {"a.c", "a.h", "b.c", "b.h"} & set(shared)
    for s in shared:
        assert (a / s).read_bytes() == (b / s).read_bytes(), s
    both = tmp_path / "both"
    both.mkdir()
    for folder in (a, b):
        for f in folder.iterdir():
            shutil.copyfile(f, both / f.name)
    (tmp_path / "main.c").write_text(_driver())
    exe = tmp_path / "both_models"
    p = subprocess.run([gcc, *STRICT, "-I", str(both), str(tmp_path / "main.c"), *map(str, sorted(both.glob("*.c"))),
                        "-o", str(exe)], capture_output=True, text=True)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr
    xa, xb = _inputs(built["a"], 12, 2), _inputs(built["b"], 12, 3)
    xa.tofile(tmp_path / "a.in")
    xb.tofile(tmp_path / "b.in")
    subprocess.run([str(exe), *(str(tmp_path / f) for f in ("a.in", "a.out", "b.in", "b.out"))], check=True,
                   timeout=120)
    for name, x in (("a", xa), ("b", xb)):
        want = tinygen.run(built[name], [x])[0]
        got = np.fromfile(tmp_path / f"{name}.out", np.int8).reshape(want.shape)
        assert got.tobytes() == want.tobytes(), name
        assert len(np.unique(want)) > 1, name

    objs = []
    for folder in (a, b):  # each folder compiled as a library of its own: the kernels clash at link time
        for src in sorted(folder.glob("*.c")):
            objs.append(tmp_path / f"{folder.parent.name}_{src.stem}.o")
            subprocess.run([gcc, *STRICT, "-I", str(folder), "-c", str(src), "-o", str(objs[-1])], check=True)
    p = subprocess.run([gcc, str(tmp_path / "main.c"), "-I", str(both), *map(str, objs), "-o", str(tmp_path / "x")],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "multiple definition of `tg_" in p.stderr, p.stderr


def test_folder_written_before_model_files_still_works(built, tmp_path):
    """A folder from a build before tinygen.json had `model_files` (model/model.c and model.h whatever the
    name) still runs on the host and gets its firmware."""
    from tinygen.codegen.firmware import write_firmware
    from tinygen.verify.runner import model_paths, read_manifest

    old = tmp_path / "old"
    shutil.copytree(built["a"], old, ignore=shutil.ignore_patterns("build", "build-profile"))
    model = old / "model"
    (model / "a.h").rename(model / "model.h")
    text = (model / "a.c").read_text()
    assert '#include "a.h"\n' in text
    (model / "model.c").write_text(text.replace('#include "a.h"\n', '#include "model.h"\n'))
    (model / "a.c").unlink()
    man = read_manifest(old)
    del man["model_files"]
    (old / "tinygen.json").write_text(json.dumps(man))
    assert model_paths(old, man) == (model / "model.c", model / "model.h")
    x = _inputs(built["a"], 10, 4)
    assert tinygen.run(old, [x])[0].tobytes() == tinygen.run(built["a"], [x])[0].tobytes()
    write_firmware(old, man["board"], man, [x[0]])
    assert '#include "model.h"\n' in (old / "firmware" / "main.c").read_text()
    (model / "model.h").unlink()
    with pytest.raises(tinygen.TinygenError, match=r"no model/model.h; generate the model"):
        write_firmware(old, man["board"], man, [x[0]])


@pytest.mark.parametrize("name,needle", [("math", "<math.h>"), ("String", "<string.h>"),
                                         ("tg_conv2d_s8", "tg_ belongs to the runtime")])
def test_name_that_would_hide_a_header_is_refused(models_dir, tmp_path, name, needle):
    out = tmp_path / "o"
    p = cli("build", models_dir / HELLO, "-o", out, "--name", name)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--name" in lines[0] and needle in lines[0], p.stderr
    assert not out.exists()
