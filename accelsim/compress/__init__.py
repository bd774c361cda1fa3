"""Compressions of trained generators, each a function ``CompressedGenerator -> CompressedGenerator``
with exact storage sizes in bits (``CompressedGenerator.weight_bits()``), so they compose in any order:

* ``chain``      -- deploy form (BatchNorm folded) + per-tensor storage; ``from_model(name)``
* ``storage``    -- exact bit counts: dense / bitmap / CSR / blockmap structure, codes, side info, Huffman tables
* ``pruning``    -- magnitude pruning of single weights or whole vectors / kernels / channels, and
  channel (structured, physically narrower) pruning
* ``encoding``   -- k-means weight sharing (codebooks) and Huffman coding (``huffman``)
* ``lowrank``    -- SVD factorization of (transposed) convolution filters
* ``precision``  -- post-training intN / ternary / binary / flex16 weights
* ``qat``        -- fake quantizers (numpy and torch STE) and quantization-aware fine-tuning
* ``finetune``   -- teacher-guided fine-tuning keeping masks and codes, optionally supervised by the
  frozen trained discriminator (torch)
* ``distill``    -- knowledge distillation into a narrower student (torch)
* ``recipe``     -- ``compose`` recipes such as ``"distilled+prune50+int8+codebook16+huffman"``

numpy only at import; torch is imported inside the functions that train.
"""
from accelsim.compress.chain import CompressedGenerator, Layer, from_graph, from_model, from_weights
from accelsim.compress.recipe import TrainingBudget, compose
from accelsim.compress.storage import TensorEncoding

__all__ = ["CompressedGenerator", "Layer", "TensorEncoding", "TrainingBudget", "compose", "from_graph", "from_model", "from_weights"]
