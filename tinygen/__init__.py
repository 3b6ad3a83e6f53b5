"""tinygen: a TinyML code generator (Keras or int8 .tflite in, bit-exact static C out)."""
from tinygen.errors import TinygenError

__version__ = "0.1.0"

__all__ = ["TinygenError", "__version__", "compile", "run"]


def compile(model, out_dir, **kwargs):  # noqa: A001 - the public name users expect
    from tinygen.compiler import compile_model

    return compile_model(model, out_dir, **kwargs)


def run(out_dir, inputs, target="host", **kwargs):
    from tinygen.verify.runner import run_model

    return run_model(out_dir, inputs, target=target, **kwargs)
