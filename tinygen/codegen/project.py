"""Project packages around a generated model (`--project`): CMake, Arduino, PlatformIO, Zephyr, ESP-IDF.

Each package is written to OUT/<project>/<name>/ next to the plain output (model/, firmware/, the
Makefile and the reports, which `tinygen run / verify / bench` read). In a package the model's files
are named after the model (<name>.c, <name>.h) and its symbols carry the name, so several models link
into one program. The runtime kernels (tg_*) are the same code in every package of one tinygen: the
CMake and Zephyr packages compile each file once per build (cmake/tinygen_runtime.cmake); the Arduino,
PlatformIO and ESP-IDF packages are linked as static archives, where a kernel another model's archive
already defines is not pulled again.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import jinja2

from tinygen.codegen import model as codegen
from tinygen.codegen.firmware import DEFAULT_STACK_BYTES, firmware_files
from tinygen.paths import templates_dir
from tinygen.target.boards import load_board

PACKAGE_VERSION = "1.0.0"
AUTHOR = "tinygen (generated)"
# library.properties requires a url; the package has no home page of its own (docs/deploy.md: replace it
# before publishing to a registry).
URL = "https://localhost/"
_QUANTIZED = ("int8", "uint8", "int16")  # the input types <name>_invoke_float quantizes (codegen.model)


@functools.lru_cache(maxsize=None)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "project")),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, autoescape=False)


def _render(template: str, **values) -> str:
    return _env().get_template(template).render(**values)


def package_dir(out_dir, project: str, name: str) -> Path:
    """Where `tinygen build --project PROJECT --name NAME -o OUT` writes its package."""
    return Path(out_dir) / project / name


def write_project(out_dir: Path, project: str, result, board: str, manifest: dict, test_inputs) -> Path:
    """Write the `project` package for a compiled model (a CompileResult) into OUT/<project>/<name>/."""
    name = manifest["name"]
    files = dict(result.files)  # <name>.c, <name>.h (compiler.generate names them) and the runtime
    model_files = {f"{name}.c": files.pop(f"{name}.c"), f"{name}.h": files.pop(f"{name}.h")}
    board_obj = load_board(board)
    ctx = _context(name, result, board_obj, manifest, files)
    data = firmware_files(board_obj, manifest, test_inputs, header=f"{name}.h")["tg_test_data.h"]
    writer = {"cmake": _cmake, "arduino": _arduino, "platformio": _platformio, "zephyr": _zephyr,
              "esp-idf": _esp_idf}[project]
    out = package_dir(out_dir, project, name)
    tree = writer(ctx, model_files, files, data, board_obj, manifest, test_inputs)
    for rel, text in sorted(tree.items()):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    return out


def _context(name: str, result, board, manifest: dict, runtime: dict) -> dict:
    report = result.report
    stack = report.get("stack", {}).get("worst_bytes")
    outs = [dict(ctype=codegen.CTYPES[t["dtype"]]) for t in manifest["outputs"]]
    return dict(prefix=name, upper=name.upper(), board=board.name, core=board.core,
                model_name=codegen._comment(report["model"]), arena=report["arena_bytes"],
                weights=report["weights_bytes"], labels=report.get("labels") or [],
                inputs=manifest["inputs"], outputs=outs, version=PACKAGE_VERSION, author=AUTHOR, url=URL,
                runtime=sorted(runtime), stack_worst=f"{stack} bytes" if stack is not None else "not measured",
                main_stack=max(DEFAULT_STACK_BYTES, ((int(stack or 0) + 1024 + 255) // 256) * 256),
                float_output=any(o["ctype"] == "float" for o in outs),
                float_api=all(t["dtype"] == "float32" or (t["scale"] is not None and t["dtype"] in _QUANTIZED)
                              for t in manifest["inputs"]))


def _c_example(ctx: dict, file: str, entry: str, tail: str) -> str:
    return _render("example.c.j2", file=file, entry=entry, tail=tail, **ctx)


def _cmake(ctx, model_files, runtime, data, board, manifest, test_inputs) -> dict:
    """A CMake library target named after the model, a toolchain file, and an example firmware."""
    tree = {f"src/{k}": v for k, v in model_files.items()}
    tree.update({f"runtime/{k}": v for k, v in runtime.items()})
    tree["cmake/tinygen_runtime.cmake"] = (templates_dir() / "project" / "tinygen_runtime.cmake").read_text()
    tree["cmake/arm-none-eabi-gcc.cmake"] = _render("toolchain.cmake.j2", arch_flags=" ".join(board.arch_flags),
                                                    **ctx)
    fw = firmware_files(board, manifest, test_inputs, header=f"{ctx['prefix']}.h")
    tree.update({f"example/{k}": v for k, v in fw.items()})
    tree["CMakeLists.txt"] = _render("CMakeLists.txt.j2", io=board.io, stack_bytes=DEFAULT_STACK_BYTES, **ctx)
    return tree


def _arduino(ctx, model_files, runtime, data, board, manifest, test_inputs) -> dict:
    """An Arduino library (1.5 format): library.properties, src/, examples/<name>/<name>.ino."""
    name = ctx["prefix"]
    tree = {f"src/{k}": v for k, v in {**model_files, **runtime}.items()}
    tree["library.properties"] = _render("library.properties.j2", lib_name=arduino_name(name), **ctx)
    tree[f"examples/{name}/{name}.ino"] = _render("example.ino.j2", **ctx)
    tree[f"examples/{name}/tg_test_data.h"] = data
    return tree


def _platformio(ctx, model_files, runtime, data, board, manifest, test_inputs) -> dict:
    """A PlatformIO library: library.json, src/, examples/<name>/."""
    name = ctx["prefix"]
    tree = {f"src/{k}": v for k, v in {**model_files, **runtime}.items()}
    tree[f"examples/{name}/main.c"] = _c_example(ctx, "main.c", "int main(void)", "    return status;")
    tree[f"examples/{name}/tg_test_data.h"] = data
    manifest_json = {
        "name": platformio_name(name), "version": ctx["version"],
        "description": f"The {name} neural network as static C99, generated by tinygen: no heap, "
                       "no runtime library",
        "keywords": ["tinyml", "neural network", "tinygen"],
        "authors": [{"name": ctx["author"], "maintainer": True}],
        "frameworks": "*", "platforms": "*",
        "headers": f"{name}.h",
        "build": {"srcDir": "src", "includeDir": "src", "libArchive": True},
        "examples": [{"name": name, "base": f"examples/{name}", "files": ["main.c", "tg_test_data.h"]}],
    }
    tree["library.json"] = json.dumps(manifest_json, indent=2) + "\n"
    return tree


def _zephyr(ctx, model_files, runtime, data, board, manifest, test_inputs) -> dict:
    """A Zephyr module: zephyr/module.yml, CMakeLists.txt, Kconfig, and samples/<name>/."""
    name = ctx["prefix"]
    z = dict(ctx, kconfig=f"TINYGEN_{name.upper()}", lib_name=name)
    tree = {f"src/{k}": v for k, v in model_files.items()}
    tree.update({f"runtime/{k}": v for k, v in runtime.items()})
    tree["cmake/tinygen_runtime.cmake"] = (templates_dir() / "project" / "tinygen_runtime.cmake").read_text()
    tree["zephyr/module.yml"] = _render("zephyr_module.yml.j2", **z)
    tree["CMakeLists.txt"] = _render("zephyr_CMakeLists.txt.j2", **z)
    tree["Kconfig"] = _render("zephyr_Kconfig.j2", **z)
    sample = f"samples/{name}"
    tree[f"{sample}/CMakeLists.txt"] = _render("zephyr_sample_CMakeLists.txt.j2", **z)
    tree[f"{sample}/prj.conf"] = _render("zephyr_prj.conf.j2", **z)
    tree[f"{sample}/sample.yaml"] = _render("zephyr_sample.yaml.j2", **z)
    tree[f"{sample}/src/main.c"] = _c_example(ctx, "main.c", "int main(void)", "    return 0;")
    tree[f"{sample}/src/tg_test_data.h"] = data
    return tree


def _esp_idf(ctx, model_files, runtime, data, board, manifest, test_inputs) -> dict:
    """An ESP-IDF component (idf_component_register, idf_component.yml) and an example project."""
    name = ctx["prefix"]
    tree = {f"src/{k}": v for k, v in {**model_files, **runtime}.items()}
    sources = sorted(k for k in {**model_files, **runtime} if k.endswith(".c"))
    tree["CMakeLists.txt"] = _render("idf_CMakeLists.txt.j2", sources=sources, **ctx)
    tree["idf_component.yml"] = _render("idf_component.yml.j2", **ctx)
    ex = f"examples/{name}"
    tree[f"{ex}/CMakeLists.txt"] = _render("idf_example_CMakeLists.txt.j2", **ctx)
    tree[f"{ex}/main/CMakeLists.txt"] = _render("idf_example_main_CMakeLists.txt.j2", component=name, **ctx)
    tree[f"{ex}/main/main.c"] = _c_example(ctx, "main.c", "void app_main(void)", "    (void)status;")
    tree[f"{ex}/main/tg_test_data.h"] = data
    return tree


def arduino_name(name: str) -> str:
    """A library.properties name: letters, digits, spaces, '_', '.', '-', starting with a letter or digit."""
    return name if name[:1].isalnum() else "tinygen" + name


def platformio_name(name: str) -> str:
    """A library.json name (slug style): lower case letters, digits and single dashes inside."""
    slug = "-".join(p for p in name.lower().replace("_", "-").split("-") if p)
    return slug or "tinygen-model"
