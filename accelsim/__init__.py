"""accelsim: what does a GAN generator cost in silicon, and what does each compression buy?

Bit-exact quantized transposed-convolution kernels (``accelsim.formats`` golden models,
``accelsim.kernels`` C++) and a cycle/energy accelerator simulator. Importing accelsim never
imports torch.
"""
__version__ = "0.1.0"

__all__ = ["__version__"]
