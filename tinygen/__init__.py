"""tinygen: a TinyML code generator (Keras or int8 .tflite in, bit-exact static C out)."""
from tinygen.errors import TinygenError

__version__ = "0.1.0"

__all__ = ["TinygenError", "__version__", "compile", "run"]


def compile(model, out_dir, **kwargs):  # noqa: A001 - the public name users expect
    from tinygen.compiler import compile_model

    return compile_model(model, out_dir, **kwargs)


def run(out_dir, inputs, target="host", reset_each=False, **kwargs):
    """Run the built model on N samples (host or QEMU). They run in order through one instance, from its
    initial state: a stateful model's state carries from sample to sample, as in one TFLM interpreter;
    `reset_each=True` restores the initial state before every sample."""
    from tinygen.verify.runner import run_model

    return run_model(out_dir, inputs, target=target, reset_each=reset_each, **kwargs)
