"""Project packages (`--project`): CMake built with arm-none-eabi-gcc and run under QEMU against the host;
Arduino, PlatformIO, Zephyr and ESP-IDF compiled with the flags their build systems use and their manifests
checked against each ecosystem's documented fields; several models linked into one program; the float
entry point and class labels of the richer model.h."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.cli import main as cli_main
from tinygen.target.boards import load_board

from conftest import MODELS

KWS = MODELS / "mlperf/kws/kws_ref_model.tflite"
HELLO = MODELS / "tflm/hello_world/hello_world_int8.tflite"
pytestmark = pytest.mark.skipif(not MODELS.is_dir(), reason="../shared/models is absent")
FAST = dict(measure_stack=False, compare_tflm_arena=False)
KWS_LABELS = ["silence", "unknown", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]


def _need(*tools: str) -> None:
    """Missing tools fail the test (`make sysdeps` installs them); they never skip it."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))}\n{p.stdout}\n{p.stderr}"
    return p


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """kws built once per project (with labels), by name: OUT folders."""
    root = tmp_path_factory.mktemp("projects")
    labels = root / "labels.txt"
    labels.write_text("\n".join(KWS_LABELS) + "\n")
    outs = {}
    for project in ("cmake", "arduino", "platformio", "zephyr", "esp-idf"):
        outs[project] = root / project
        tinygen.compile(str(KWS), outs[project], name="kws", project=project, labels=str(labels), **FAST)
    return outs


def _test_input(header: Path) -> bytes:
    """The bytes of tg_test_input0 in a generated tg_test_data.h."""
    body = header.read_text().split("tg_test_input0", 1)[1].split("};", 1)[0]
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body))


def _host_hex(out: Path, data: bytes) -> str:
    manifest = json.loads((out / "tinygen.json").read_text())
    info = manifest["inputs"][0]
    x = np.frombuffer(data, dtype=info["dtype"]).reshape(info["shape"])
    return tinygen.run(out, [x])[0].tobytes().hex()


# ---- CMake ----------------------------------------------------------------------------------------

def test_cmake_package_builds_and_runs_under_qemu_equal_to_host(built, tmp_path):
    _need("cmake", "arm-none-eabi-gcc", "qemu-system-arm")
    pkg = built["cmake"] / "cmake" / "kws"
    for rel in ("CMakeLists.txt", "cmake/arm-none-eabi-gcc.cmake", "src/kws.c", "src/kws.h", "example/main.c",
                "example/startup.c", "example/linker.ld"):
        assert (pkg / rel).is_file(), rel
    assert "add_library(kws STATIC" in (pkg / "CMakeLists.txt").read_text()
    build = tmp_path / "build"
    _run(["cmake", "-S", pkg, "-B", build, "-DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi-gcc.cmake",
          "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_COMPILE_WARNING_AS_ERROR=ON"])
    log = _run(["cmake", "--build", build, "--verbose"]).stdout
    assert "-mcpu=cortex-m4" in log and "-Wall -Wextra" in log
    elf = build / "kws_example.elf"
    board = load_board("cortex-m4")
    run = _run(["qemu-system-arm", "-M", board.qemu_machine, "-nographic", "-monitor", "none",
                "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", elf],
               timeout=120)
    expected = _host_hex(built["cmake"], _test_input(pkg / "example" / "tg_test_data.h"))
    log = run.stdout + run.stderr  # semihosting writes to the host's stderr
    assert f"output0: {expected}\n" in log and "status: 0\n" in log, log


def _three_models(root: Path, project: str) -> dict:
    """kws and a second copy of it (every runtime file shared) and hello_world, each with its own name."""
    outs = {}
    for name, model in (("kws", KWS), ("kws2", KWS), ("hw", HELLO)):
        outs[name] = root / f"{name}_{project}"
        tinygen.compile(str(model), outs[name], name=name, project=project, **FAST)
    return outs


def _driver(outs: dict, package_src) -> str:
    """A host program calling every model once on its package's test input; prints name: hex."""
    lines = ["#include <stdio.h>", "#include <stdint.h>"]
    lines += [f'#include "{n}.h"' for n in outs]
    body = []
    for n, out in outs.items():
        data = _test_input(package_src(out, n))
        up = n.upper()
        lines.append(f"static const uint8_t in_{n}[{len(data)}] = {{{', '.join(map(str, data))}}};")
        lines.append(f"static uint8_t out_{n}[{up}_OUTPUT0_SIZE];")
        body += [f"    {{ const void *i[1] = {{in_{n}}}; void *o[1] = {{out_{n}}}; int k;",
                 f"      if ({n}_invoke_io(i, o) != 0) return 1;",
                 f'      printf("{n}: "); for (k = 0; k < {up}_OUTPUT0_SIZE; k++) printf("%02x", out_{n}[k]);'
                 ' printf("\\n"); }']
    return "\n".join(lines + ["int main(void)", "{"] + body + ["    return 0;", "}", ""])


def test_cmake_links_several_models_into_one_program(tmp_path):
    """Three CMake packages in one build: each runtime file compiled once, all models called, outputs equal
    to each model's own host run; a runtime file that differs between two packages stops the configuration."""
    _need("cmake", "gcc")
    outs = _three_models(tmp_path, "cmake")
    top = tmp_path / "app"
    top.mkdir()
    subdirs = "".join(f'add_subdirectory("{out / "cmake" / n}" {n})\n' for n, out in outs.items())
    (top / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(app C)\n" + subdirs
        + "add_executable(app main.c)\ntarget_link_libraries(app PRIVATE " + " ".join(outs) + ")\n")
    (top / "main.c").write_text(_driver(outs, lambda out, n: out / "cmake" / n / "example" / "tg_test_data.h"))
    _run(["cmake", "-S", top, "-B", top / "build", "-DCMAKE_COMPILE_WARNING_AS_ERROR=ON"])
    _run(["cmake", "--build", top / "build"])
    objs = sorted(p.name for p in (top / "build").rglob("tg_conv2d_s8_fast.c.o"))
    assert objs == ["tg_conv2d_s8_fast.c.o"], objs  # kws and kws2 both bring it: compiled once
    printed = _run([top / "build" / "app"]).stdout
    for n, out in outs.items():
        data = _test_input(out / "cmake" / n / "example" / "tg_test_data.h")
        assert f"{n}: {_host_hex(out, data)}\n" in printed, printed
    # a second package whose copy of a shared runtime file differs (another tinygen) is refused
    other = outs["kws2"] / "cmake" / "kws2" / "runtime" / "tg_common.h"
    other.write_text(other.read_text() + "/* changed */\n")
    p = subprocess.run(["cmake", "-S", str(top), "-B", str(tmp_path / "build2")], capture_output=True, text=True)
    assert p.returncode != 0 and "tg_common.h" in p.stderr and "same tinygen" in p.stderr


def test_archive_packages_link_several_models_into_one_program(tmp_path):
    """Arduino (dot_a_linkage), PlatformIO (libArchive) and ESP-IDF link each library as a static archive:
    three models' archives, with the same runtime objects in two of them, link into one program."""
    _need("gcc", "ar")
    outs = _three_models(tmp_path, "arduino")
    archives = []
    for n, out in outs.items():
        src = out / "arduino" / n / "src"
        objs = []
        for c in sorted(src.glob("*.c")):
            obj = tmp_path / f"{n}_{c.stem}.o"
            _run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I", src, "-c", c, "-o", obj])
            objs.append(obj)
        archives.append(tmp_path / f"lib{n}.a")
        _run(["ar", "rcs", archives[-1], *objs])
    main = tmp_path / "main.c"
    main.write_text(_driver(outs, lambda out, n: out / "arduino" / n / "examples" / n / "tg_test_data.h"))
    incs = [a for n, out in outs.items() for a in ("-I", out / "arduino" / n / "src")]
    _run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", *incs, main, *archives, "-o", tmp_path / "app"])
    printed = _run([tmp_path / "app"]).stdout
    for n, out in outs.items():
        data = _test_input(out / "arduino" / n / "examples" / n / "tg_test_data.h")
        assert f"{n}: {_host_hex(out, data)}\n" in printed, printed


# ---- Arduino, PlatformIO, Zephyr, ESP-IDF: layout, manifests, compiled with their build flags ----------

def _properties(path: Path) -> dict:
    pairs = [line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return {k: v for k, v in pairs}


ARDUINO_CATEGORIES = {"Display", "Communication", "Signal Input/Output", "Sensors", "Device Control", "Timing",
                      "Data Storage", "Data Processing", "Other"}
# What the Arduino mbed core (Nano 33 BLE) passes: the board's core flags, C as gnu11, C++ as gnu++14.
ARM_C = ["-std=gnu11", "-Os", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra", "-Werror"]
ARDUINO_SHIM = """#pragma once
#include <stddef.h>
#include <stdint.h>
class SerialShim {
public:
  void begin(unsigned long baud);
  explicit operator bool() const;
  size_t print(const char *s);
  size_t print(char c);
  size_t print(long v);
  size_t print(double v, int digits);
  size_t println();
  size_t println(int v);
  size_t println(const char *s);
};
extern SerialShim Serial;
"""


def _arm_compile(board: str, sources, includes, tmp: Path, extra=()) -> None:
    flags = load_board(board).arch_flags
    for src in sources:
        _run(["arm-none-eabi-gcc", *flags, *ARM_C, *extra, *[a for i in includes for a in ("-I", i)], "-c", src,
              "-o", tmp / (Path(src).stem + ".o")])


def test_arduino_library(built, tmp_path):
    _need("arm-none-eabi-gcc", "arm-none-eabi-g++")
    lib = built["arduino"] / "arduino" / "kws"
    props = _properties(lib / "library.properties")
    for field in ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url",
                  "architectures"):
        assert props.get(field), field
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.\-]*", props["name"]) and len(props["name"]) <= 63
    assert re.fullmatch(r"\d+\.\d+\.\d+", props["version"]) and props["category"] in ARDUINO_CATEGORIES
    assert props["dot_a_linkage"] == "true" and props["includes"] == "kws.h"
    ino = lib / "examples" / "kws" / "kws.ino"
    assert ino.is_file() and (lib / "src" / "kws.h").is_file()
    sources = sorted((lib / "src").glob("*.c"))
    _arm_compile("arduino-nano-33-ble", sources, [lib / "src"], tmp_path)
    # the sketch as C++ (what the Arduino builder makes of an .ino: Arduino.h first) against the C header
    (tmp_path / "Arduino.h").write_text(ARDUINO_SHIM)
    flags = load_board("arduino-nano-33-ble").arch_flags
    _run(["arm-none-eabi-g++", *flags, "-std=gnu++14", "-Os", "-Wall", "-Wextra", "-Werror", "-fno-exceptions",
          "-include", tmp_path / "Arduino.h", "-I", lib / "src", "-I", ino.parent, "-x", "c++", "-c", ino,
          "-o", tmp_path / "sketch.o"])
    syms = _run(["arm-none-eabi-nm", "-u", tmp_path / "sketch.o"]).stdout
    assert "kws_invoke_io" in syms and "kws_labels" in syms  # C linkage: unmangled names


def test_platformio_library(built, tmp_path):
    _need("arm-none-eabi-gcc")
    lib = built["platformio"] / "platformio" / "kws"
    doc = json.loads((lib / "library.json").read_text())
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", doc["name"]) and len(doc["name"]) <= 50
    assert re.fullmatch(r"\d+\.\d+\.\d+", doc["version"]) and 0 < len(doc["description"]) <= 255
    assert doc["build"]["libArchive"] is True
    src = lib / doc["build"]["srcDir"]
    assert (lib / doc["build"]["includeDir"] / doc["headers"]).is_file()
    for ex in doc["examples"]:
        for f in ex["files"]:
            assert (lib / ex["base"] / f).is_file()
    example = lib / doc["examples"][0]["base"] / "main.c"
    _arm_compile("cortex-m4", sorted(src.glob("*.c")) + [example], [src, example.parent], tmp_path)
    # and the whole example links (newlib's nosys stubs stand in for a board's system calls)
    flags = load_board("cortex-m4").arch_flags
    _run(["arm-none-eabi-gcc", *flags, "--specs=nosys.specs", "-Wl,--gc-sections", *sorted(tmp_path.glob("*.o")),
          "-lm", "-o", tmp_path / "example.elf"])


def test_zephyr_module(built, tmp_path):
    import yaml

    _need("arm-none-eabi-gcc")
    mod = built["zephyr"] / "zephyr" / "kws"
    doc = yaml.safe_load((mod / "zephyr" / "module.yml").read_text())
    assert doc["build"]["cmake"] == "." and (mod / "CMakeLists.txt").is_file()
    assert (mod / doc["build"]["kconfig"]).is_file()
    assert re.search(r"^config TINYGEN_KWS\n\tbool ", (mod / "Kconfig").read_text(), re.M)
    cmake = (mod / "CMakeLists.txt").read_text()
    assert "if(CONFIG_TINYGEN_KWS)" in cmake and "zephyr_library_named(kws)" in cmake
    sample = mod / "samples" / "kws"
    assert "CONFIG_TINYGEN_KWS=y" in (sample / "prj.conf").read_text()
    assert "find_package(Zephyr" in (sample / "CMakeLists.txt").read_text()
    assert yaml.safe_load((sample / "sample.yaml").read_text())["sample"]["name"]
    # Zephyr's flags for a Cortex-M4F board (gnu11, -Os, the core's flags), sources and sample
    sources = sorted((mod / "src").glob("*.c")) + sorted((mod / "runtime").glob("*.c")) + [sample / "src/main.c"]
    _arm_compile("nrf52840dk", sources, [mod / "src", mod / "runtime", sample / "src"], tmp_path)


def test_esp_idf_component(built, tmp_path):
    import yaml

    _need("gcc")
    comp = built["esp-idf"] / "esp-idf" / "kws"
    doc = yaml.safe_load((comp / "idf_component.yml").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", doc["version"]) and doc["description"]
    assert doc["dependencies"]["idf"].startswith(">=")
    cmake = (comp / "CMakeLists.txt").read_text()
    assert cmake.lstrip("#").count("idf_component_register(") == 1 and 'INCLUDE_DIRS "src"' in cmake
    listed = set(re.findall(r'"src/([^"]+\.c)"', cmake))
    assert listed == {p.name for p in (comp / "src").glob("*.c")}
    example = comp / "examples" / "kws"
    assert "PRIV_REQUIRES kws" in (example / "main" / "CMakeLists.txt").read_text()
    main = example / "main" / "main.c"
    assert "void app_main(void)" in main.read_text()
    # no Xtensa / RISC-V compiler here: the component is compiled with the host gcc and ESP-IDF's C flags
    for src in sorted((comp / "src").glob("*.c")) + [main]:
        _run(["gcc", "-std=gnu17", "-Os", "-ffunction-sections", "-fdata-sections", "-Wall", "-Werror=all",
              "-Wextra", "-Werror", "-I", comp / "src", "-I", main.parent, "-c", src, "-o", tmp_path / "x.o"])


# ---- the richer model.h ---------------------------------------------------------------------------

def _round_half_away(q: np.ndarray) -> np.ndarray:
    """std::round in float32: the integer part, then the fraction (exact in float32) decides."""
    with np.errstate(invalid="ignore"):  # inf - inf: the clip that follows saturates +-inf anyway
        r = np.trunc(q)
        frac = q - r
        return np.where(np.isinf(q), q, r + (frac >= 0.5) - (frac <= -0.5))


def test_invoke_float_equals_numpy_quantize_run_dequantize(built, tmp_path):
    """kws_invoke_float on the host == the NumPy quantize of the inputs (TFLite's rounding), the C model,
    and the NumPy dequantize, bit for bit; also at values whose x / scale is a half, or just below one."""
    _need("gcc")
    from tinygen.verify.runner import quantize_input

    out = built["cmake"]
    man = json.loads((out / "tinygen.json").read_text())
    i0, o0 = man["inputs"][0], man["outputs"][0]
    count = int(np.prod(i0["shape"]))
    scale = np.float32(i0["scale"])
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((6, count)) * 40 * scale).astype(np.float32)
    x[0] = (np.arange(count) % 300 - 150 + 0.5).astype(np.float32) * scale  # halves (where exact)
    x[1] = np.nextafter(np.float32(0.5), np.float32(0)) * scale * np.sign(rng.standard_normal(count))
    x[2, :10] = [1e30, -1e30, 1e6, -1e6, 0.0, -0.0, np.inf, -np.inf, 1e-30, -1e-30]
    model = out / "model"
    driver = tmp_path / "drive.c"
    driver.write_text(f"""#include <stdio.h>
#include "kws.h"
int main(void) {{
    static float in[{count}], res[{o0['shape'][-1]}];
    while (fread(in, sizeof(float), {count}, stdin) == {count}) {{
        if (kws_invoke_float(in, res) != 0) return 1;
        fwrite(res, sizeof(float), KWS_OUTPUT0_COUNT, stdout);
    }}
    return 0;
}}
""")
    exe = tmp_path / "drive"
    _run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I", model, driver,
          *sorted(model.glob("*.c")), "-o", exe])
    p = subprocess.run([str(exe)], input=x.tobytes(), capture_output=True, check=True)
    got = np.frombuffer(p.stdout, np.float32).reshape(len(x), -1)
    q = np.clip(_round_half_away(x / scale) + i0["zero_point"], -128, 127).astype(np.int8)
    # the NumPy reference's quantize (tinygen run) on the rows it accepts (finite) away from the values just
    # below a half, where its floor(q + 0.5) in float32 rounds up and std::round does not
    rows = [0, 3, 4, 5]
    np.testing.assert_array_equal(q[rows], quantize_input(x[rows], dict(i0, shape=[count])))
    y = tinygen.run(out, [q.reshape(len(x), *i0["shape"][1:])])[0].reshape(len(x), -1)
    want = (y.astype(np.int32) - o0["zero_point"]).astype(np.float32) * np.float32(o0["scale"])
    assert got.tobytes() == want.astype(np.float32).tobytes()
    header = (model / "kws.h").read_text()
    assert f"#define KWS_INPUT0_ZERO_POINT {i0['zero_point']}\n" in header
    assert re.search(r"#define KWS_OUTPUT0_SCALE (\S+)f ", header).group(1) == repr(float(np.float32(o0["scale"])))
    assert "#define KWS_STATE_SIZE 0\n" in header and f"#define KWS_ARENA_SIZE {man['arena_bytes']}" in header
    assert "not re-entrant" in header


def test_labels_in_header_and_errors(built, tmp_path):
    header = (built["arduino"] / "arduino" / "kws" / "src" / "kws.h").read_text()
    assert "#define KWS_NUM_LABELS 12" in header and "extern const char *const kws_labels[KWS_NUM_LABELS];" in header
    source = (built["arduino"] / "arduino" / "kws" / "src" / "kws.c").read_text()
    assert '    "silence",\n    "unknown",\n    "yes",' in source
    bad = tmp_path / "bad_labels.txt"
    bad.write_text("a\nb\n")
    out = tmp_path / "never"
    with pytest.raises(tinygen.TinygenError, match=r"bad_labels.txt: 2 labels, but output 'Identity' has 12"):
        tinygen.compile(str(KWS), out, labels=str(bad), **FAST)
    assert not out.exists()
    bad.write_text("a\n\nb\n")
    with pytest.raises(tinygen.TinygenError, match=r"bad_labels.txt: line 2 is empty"):
        tinygen.compile(str(KWS), out, labels=str(bad), **FAST)
    files = tinygen.compile(str(HELLO), tmp_path / "hw", labels=None, **FAST).files
    assert "labels" not in files["model.h"]
    from tinygen.codegen.model import _c_string
    assert _c_string('say "hi"\\??/') == 'say \\"hi\\"\\\\\\?\\?/' and _c_string("ï") == "\\303\\257"


def test_cli_project_and_labels(tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(KWS_LABELS) + "\n")
    out = tmp_path / "pio"
    assert cli_main(["build", str(KWS), "-o", str(out), "--name", "kws", "--project", "platformio",
                     "--labels", str(labels)]) == 0
    assert f"platformio package: {out / 'platformio' / 'kws'}\n" in capsys.readouterr().out
    assert (out / "platformio" / "kws" / "library.json").is_file() and (out / "model" / "kws.h").is_file()
    assert (out / "Makefile").is_file()  # the plain project stays: run / verify / bench read it
    bad = tmp_path / "short.txt"
    bad.write_text("one\n")
    capsys.readouterr()
    assert cli_main(["build", str(KWS), "-o", str(tmp_path / "x"), "--labels", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tinygen: error: ") and str(bad) in err and "\n" not in err
    with pytest.raises(SystemExit):
        cli_main(["build", str(KWS), "-o", str(tmp_path / "y"), "--project", "makefile"])


def test_packages_are_byte_identical_when_built_twice(built, tmp_path):
    again = tmp_path / "again"
    tinygen.compile(str(KWS), again, name="kws", project="zephyr",
                    labels=KWS_LABELS, **FAST)
    first = built["zephyr"] / "zephyr"
    tree = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert tree == sorted(p.relative_to(again / "zephyr") for p in (again / "zephyr").rglob("*") if p.is_file())
    for rel in tree:
        assert (first / rel).read_bytes() == (again / "zephyr" / rel).read_bytes(), rel


def test_invoke_float_with_two_inputs(tmp_path):
    """A two-input model: one float pointer per input and output, each quantized with its own parameters."""
    _need("gcc")
    from test_kernels_misc import A, T, single_op
    from tinygen.compiler import generate
    from tinygen.ir import ElementwiseAttrs, OpKind
    from tinygen.verify.testing import run_c

    graph = single_op(OpKind.ADD, ElementwiseAttrs(activation=A.NONE),
                      [T((1, 5, 7), (0.05, 3)), T((1, 5, 7), (0.03, -7))], T((1, 5, 7), (0.07, -2)))
    files = generate(graph, name="two").files
    assert "int two_invoke_float(const float *input0, const float *input1, float *output0);" in files["two.h"]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "drive.c").write_text("""#include <stdio.h>
#include "two.h"
int main(void) {
    static float a[35], b[35], y[35];
    if (fread(a, 4, 35, stdin) != 35 || fread(b, 4, 35, stdin) != 35) return 2;
    if (two_invoke_float(a, b, y) != 0) return 1;
    fwrite(y, 4, 35, stdout);
    return 0;
}
""")
    _run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", tmp_path, *sorted(tmp_path.glob("*.c")),
          "-o", tmp_path / "drive"])
    rng = np.random.default_rng(5)
    a, b = (rng.uniform(-9, 9, 35).astype(np.float32) for _ in range(2))
    p = subprocess.run([str(tmp_path / "drive")], input=a.tobytes() + b.tobytes(), capture_output=True, check=True)
    qs = []
    for x, name in ((a, "in0"), (b, "in1")):
        q = graph.tensors[name].quant
        s = np.float32(q.scale[0])
        qs.append(np.clip(_round_half_away(x / s) + q.zero_point[0], -128, 127).astype(np.int8).reshape(1, 5, 7))
    y = run_c(graph, qs)[0].reshape(-1)
    oq = graph.tensors[graph.outputs[0]].quant
    want = (y.astype(np.int32) - oq.zero_point[0]).astype(np.float32) * np.float32(oq.scale[0])
    assert p.stdout == want.astype(np.float32).tobytes()
