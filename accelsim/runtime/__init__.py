"""The runtime: execute a generator graph in any registered format (DESIGN.md section 2).

``quantize(graph, "w8a8", calib_inputs)`` calibrates activation ranges (one float forward per
calibration input) and prepares every conv / transposed conv / linear node for the integer kernels;
``QuantizedGraph.run(inputs, impl="cpp" | "reference")`` executes it: the C++ kernels or the golden
numpy model, through the same code, so the two agree bit for bit.

Arithmetic per node (docs/quantization.md has the formulas):
* ``wNaM`` / ``w2aM`` / ``w1aM`` MAC nodes: the input is an M-bit signed affine tensor (scale and zero
  point from the calibrated range of the value it reads); weights symmetric per output channel
  (N bits), ternary (TWN) or binary (mean |w|); bias int32 at s_x*s_w; exact integer accumulation
  (``conv_int``); ``integer`` requantization (m0, shift per channel) to the output tensor. When
  every reader takes it as codes of one MAC input domain (directly or through relu, pad, reshape
  and the other ops below), that domain is the output's; otherwise its range is the calibrated
  range of the node's output, or of the ReLU that follows it (the ReLU is then the clamp at the
  zero point), with M bits when only MAC nodes read it and ``VECTOR_BITS`` = 16 when anything else
  does (a norm, an add, the final tanh: the vector unit's width, as an accelerator hands its
  accumulators to the vector unit; CycleGAN w8a8 PSNR 34.8 -> 39.3 dB). A MAC node that reads
  another's integer output with the same quantization parameters takes its codes as they are: a
  conv chain never leaves integers.
* ``w1a1``: the input is sign(x) in {-1, +1} scaled by beta = the calibrated mean |x| (XNOR-Net),
  weights binary with alpha per channel, the XNOR-popcount kernel (``conv_xnor``) accumulates
  exactly; the output is ``acc * beta * alpha + bias`` in float64.
* ``flex16+5``: input and weights as int16 mantissas with one exponent each (``to_flex``), bias
  at the accumulator's exponent, exact int64 accumulation and a dynamic output exponent
  (``conv_flex``); the output is ``m * 2^e``.
* ``fp16``: operands rounded to IEEE half, products summed in float64, output rounded to float32
  (the accumulator of a mixed-precision unit); ``fp32``: float64 arithmetic rounded to float32.
* Where a value is made, it is quantized once into the input domain of the MAC nodes that read it
  (directly or through ops that only move, copy or clamp at 0 values: relu, pad, reshape, permute,
  pixel shuffle, concat, nearest upsample), and those ops then run on codes: the same codes as the
  float64 op followed by quantization at the MAC input, because quantization commutes with them and
  real 0 is exact in every domain (tests/test_vector_ops.py). A MAC whose readers all take codes in
  one domain requantizes straight into it.
* Instance norm of codes (a MAC output) is the vector unit's: statistics from exact integer sums,
  the normalisation in float64 (``accelsim.formats.vector`` has the formula), emitted as float64 or
  straight as the codes of the MAC that reads it.
* A MAC node's conv and requantization run as one kernel call (``kernels.conv_requant``: the int8
  transposed convolution requantizes each task's accumulators as the task finishes, other paths from
  one scratch buffer; no accumulator tensor comes back to Python); a ``trace`` run keeps the two
  calls (``conv_int``, ``requantize_integer``) so that every accumulator can be recorded.
* Pads of codes run in C++ (``kernels.pad_codes``; golden: ``np.pad``). An instance norm of codes
  whose only reader is an add of float64 values runs with that add, and the early quantization of
  the sum, in one pass (``kernels.instance_norm_add``): the same bits as the three ops in turn
  (a ``trace`` run keeps them apart, to record every value). The float64 sum goes into the
  residual's own array when that is a fresh norm or add result that every other reader takes as
  early codes (``into_residual``).
* A value read as codes in several domains (a U-Net skip read by a conv and by a concat) is
  quantized into each where it is made; the concat then runs on codes.
* An elementwise activation of codes (LeakyReLU, PReLU, tanh, sigmoid, hardtanh, batch norm: the
  op's ``TABLE_OPS``) is a table lookup (``kernels.lut_codes``): the table holds the op's result
  for every code of the input's storage dtype (256 or 65536 entries, one per channel for per-channel
  parameters), made once per graph by the float64 path itself (dequantize, the graph op, and the
  quantization into each early domain, or float64 for other readers), so a lookup is that path to
  the bit; a ``trace`` run runs the float64 ops. Pixel shuffle of codes runs in C++
  (``kernels.pixel_shuffle_codes``).
* Every other op (add, upsample, other norms and activations, ...) runs in float64 on the
  dequantized values (``accelsim.graph.ops``): exact where the op is exact, and the same bits for
  the C++ and golden paths.
"""
from accelsim.runtime.quantized import MacPlan, QTensor, QuantizedGraph, calibrate, quantize

__all__ = ["MacPlan", "QTensor", "QuantizedGraph", "calibrate", "quantize"]
