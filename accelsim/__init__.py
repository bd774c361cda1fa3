"""accelsim: what does a GAN generator cost in silicon, and what does each compression buy?

Bit-exact quantized transposed-convolution kernels (``accelsim.formats`` golden models,
``accelsim.kernels`` C++) and a cycle/energy accelerator simulator (``accelsim.simulate``).
Importing accelsim never imports torch; the simulator is imported on first use of ``simulate``.
"""
__version__ = "0.1.0"

__all__ = ["__version__", "simulate"]


def __getattr__(name):
    # Lazy: ``import accelsim`` stays cheap; ``accelsim.simulate`` loads the simulator on first use.
    if name == "simulate":
        from accelsim.api import simulate
        return simulate
    raise AttributeError(f"module 'accelsim' has no attribute {name!r}")
