"""Quantized generators: a float generator (a chain of conv / transposed-conv layers with optional
BatchNorm and an activation) turned into integer layers of one numeric format, calibrated on fixed
latent vectors, and run layer by layer through the C++ kernels or the golden model (same code path,
``impl="cpp" | "reference"``).

Formats (``FORMATS``): ``fp32`` (float64 golden, cast to float32), ``intN`` for N in 2..16 (N-bit
activations, N-bit per-channel symmetric weights), ``ternary`` and ``binary_w_int8_a`` (int8
activations), ``binary`` (binary weights; binary activations after the first layer: the activation
becomes sign(BN(conv)), as in XNOR-Net, and a binary layer's sign is an integer threshold on its
popcount dot), ``flex16`` (flex16+5, dynamic exponents, or Autoflex-predicted static exponents).

Integer pipeline of one layer (docs/quantization.md): BatchNorm folded into the weights; weights
quantized per output channel; activations affine per tensor with ranges calibrated as the max over
the calibration batch; bias int32 at s_x*s_w; ``integer`` requantization with per-channel (m0, shift);
ReLU as the clamp at the zero point (output zero point = qmin); the final tanh as a lookup table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelsim.errors import FormatError, ModelError
from accelsim.formats import binary, fixed, flexpoint, requant, ternary
from accelsim.formats.conv import ConvSpec, convolve

LATENT_RANGE = 4.0  # latents are N(0, 1): +-4 sigma covers all but ~6e-5 of the values

FORMATS = ("fp32", "int16", "int8", "int6", "int4", "int2", "ternary", "binary_w_int8_a", "binary", "flex16")


@dataclass(frozen=True)
class FloatLayer:
    """One layer of a float generator. Weights in torch layout, float64."""

    name: str
    spec: ConvSpec
    weight: np.ndarray
    bias: np.ndarray | None = None
    bn: tuple | None = None  # (gamma, beta, running_mean, running_var, eps)
    act: str = "none"        # relu | tanh | sigmoid | none

    def folded(self) -> tuple[np.ndarray, np.ndarray]:
        """(weight, bias) with BatchNorm folded in (bias zeros when there is none)."""
        cout = self.weight.shape[1] * self.spec.groups if self.spec.transposed else self.weight.shape[0]
        if self.bn is None:
            b = np.zeros(cout) if self.bias is None else np.asarray(self.bias, np.float64)
            return np.asarray(self.weight, np.float64), b
        g, beta, mean, var, eps = self.bn
        return fixed.fold_batchnorm(self.weight, self.bias, g, beta, mean, var, eps, self.spec.transposed)


ACTS = {"relu": lambda v: np.maximum(v, 0.0), "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "none": lambda v: v}


def dcgan_layers(weights: dict[str, np.ndarray], eps: float = 1e-5) -> list[FloatLayer]:
    """The DCGAN generator chain (deconv1 stride 1 pad 0, deconv2.. stride 2 pad 1, BN + ReLU, tanh)
    from a state dict with keys deconvN.weight and bnN.{weight,bias,running_mean,running_var}."""
    n = 1
    layers = []
    while f"deconv{n}.weight" in weights:
        n += 1
    count = n - 1
    if count == 0:
        raise ModelError("not a DCGAN generator state dict: no deconv1.weight")
    for i in range(1, count + 1):
        spec = ConvSpec.make(stride=1 if i == 1 else 2, padding=0 if i == 1 else 1, transposed=True)
        bn = None
        if f"bn{i}.weight" in weights:
            bn = tuple(np.asarray(weights[f"bn{i}.{k}"], np.float64) for k in
                       ("weight", "bias", "running_mean", "running_var")) + (eps,)
        bias = weights.get(f"deconv{i}.bias")
        layers.append(FloatLayer(f"deconv{i}", spec, np.asarray(weights[f"deconv{i}.weight"], np.float64),
                                 None if bias is None else np.asarray(bias, np.float64), bn,
                                 "tanh" if i == count else "relu"))
    return layers


def float_forward(layers: list[FloatLayer], z: np.ndarray, trace: bool = False):
    """The float64 golden forward pass. Returns output (and per-layer (pre, post) activations)."""
    x = np.asarray(z, np.float64)
    rec = []
    for layer in layers:
        w, b = layer.folded()
        pre = convolve(x, w, layer.spec) + b.reshape(1, -1, 1, 1)
        post = ACTS[layer.act](pre)
        rec.append((x, pre, post))
        x = post
    return (x, rec) if trace else x


def parse_format(fmt: str) -> tuple[int, str, int]:
    """(activation bits, weight kind, weight bits) of an integer format name."""
    if fmt == "ternary":
        return 8, "ternary", 2
    if fmt == "binary_w_int8_a":
        return 8, "binary", 2
    if fmt.startswith("int") and fmt[3:].isdigit() and 2 <= int(fmt[3:]) <= 16:
        return int(fmt[3:]), "fixed", int(fmt[3:])
    raise FormatError(f"format must be one of {', '.join(FORMATS)} (or intN, N in 2..16), got {fmt!r}")


@dataclass
class QLayer:
    """One integer layer: everything the kernels need, and what the vectors exporter writes."""

    name: str
    spec: ConvSpec
    fmt: str
    x_bits: int = 8
    x_signed: bool = True
    x_scale: float = 1.0
    x_zero_point: int = 0
    w_kind: str = "fixed"     # fixed | ternary | binary | xnor | flex
    w_bits: int = 8
    w_codes: np.ndarray | None = None
    w_scale: np.ndarray | None = None  # per output channel (alpha for ternary/binary)
    bias: np.ndarray | None = None     # int32 at s_x*s_w (int64 at e_x+e_w for flex)
    m0: np.ndarray | None = None
    shift: np.ndarray | None = None
    out_bits: int = 8
    out_signed: bool = True
    out_scale: float = 1.0
    out_zero_point: int = 0
    act: str = "relu"         # relu | tanh | sign | none
    lut: np.ndarray | None = None
    w_exp: int = 0            # flex16
    out_exp: int | None = None  # flex16 static (Autoflex) exponent; None = dynamic
    extra: dict = field(default_factory=dict)


def _check_latents(z, name: str) -> None:
    """Latents must be finite numbers (every format: the fp32 path would otherwise return NaN images)."""
    z = np.asarray(z)
    if z.dtype.kind not in "biuf":
        raise ModelError(f"{name} must be a numeric array, got dtype {z.dtype}")
    if z.dtype.kind == "f" and not np.isfinite(z).all():
        raise ModelError(f"{name} contains NaN or inf")


def _act_range(post: np.ndarray, act: str) -> tuple[float, float]:
    hi = float(np.max(post)) if post.size else 1.0
    lo = float(np.min(post)) if post.size else 0.0
    return (0.0, max(hi, 1e-8)) if act == "relu" else (min(lo, -1e-8), max(hi, 1e-8))


class QuantizedGenerator:
    """A float generator quantized to one format. ``run(z, impl)`` executes it layer by layer."""

    def __init__(self, layers: list[FloatLayer], fmt: str, calib_z: np.ndarray, autoflex: bool = False):
        if fmt not in FORMATS and not fmt.startswith("int"):
            raise FormatError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        _check_latents(calib_z, "calibration latents")
        self.float_layers = layers
        self.fmt = fmt
        _, rec = float_forward(layers, calib_z, trace=True)
        self.layers: list[QLayer] = []
        if fmt == "fp32":
            return
        if fmt == "flex16":
            self._build_flex(rec, calib_z, autoflex)
            return
        if fmt == "binary":
            self._build_binary(rec)
            return
        abits, wkind, wbits = parse_format(fmt)
        afmt = fixed.IntFormat(abits, signed=True)
        # layer input 0: the standard-normal latent, symmetric range +-4 sigma (or wider if seen)
        zmax = max(LATENT_RANGE, float(np.max(np.abs(rec[0][0]))))
        x_scale, x_zp = zmax / afmt.qmax, 0
        for i, (layer, (_, pre, post)) in enumerate(zip(layers, rec)):
            w, b = layer.folded()
            q = QLayer(layer.name, layer.spec, fmt, abits, True, x_scale, x_zp, wkind, wbits)
            if wkind == "fixed":
                q.w_codes, q.w_scale = fixed.quantize_weights(w, wbits, layer.spec, per_channel=True)
            elif wkind == "ternary":
                q.w_codes, q.w_scale = ternary.ternarize(w, layer.spec)
            else:
                q.w_codes, q.w_scale = binary.binarize(w, layer.spec)
            q.bias = fixed.quantize_bias(b, x_scale, q.w_scale)
            q.act = layer.act if layer.act in ("relu", "tanh", "sigmoid", "none") else "none"
            if layer.act in ("tanh", "sigmoid"):
                # requantize the pre-activation to a symmetric abits code, then the LUT gives the output
                pmax = float(np.max(np.abs(pre))) or 1.0
                pre_scale = pmax / afmt.qmax
                q.out_scale = 1.0 / afmt.qmax if layer.act == "tanh" else 1.0 / (afmt.qmax - afmt.qmin)
                q.out_zero_point = 0 if layer.act == "tanh" else afmt.qmin
                q.lut = requant.activation_lut(layer.act, pre_scale, 0, afmt.qmin, afmt.qmax, q.out_scale,
                                               q.out_zero_point, afmt.qmin, afmt.qmax).astype(np.int32)
                real_m = x_scale * q.w_scale / pre_scale
                q.extra["pre_scale"] = pre_scale
            else:
                lo, hi = _act_range(post, layer.act)
                q.out_scale, q.out_zero_point = fixed.choose_activation_qparams(lo, hi, afmt)
                real_m = x_scale * q.w_scale / q.out_scale
            q.out_bits, q.out_signed = abits, True
            pairs = [requant.quantize_multiplier(float(r)) for r in real_m]
            q.m0 = np.array([p[0] for p in pairs], np.int32)
            q.shift = np.array([p[1] for p in pairs], np.int32)
            self.layers.append(q)
            x_scale, x_zp = q.out_scale, q.out_zero_point

    # ---- binary: sign activations after the first layer ----------------------------------------
    def _build_binary(self, rec):
        afmt = fixed.IntFormat(8)
        zmax = max(LATENT_RANGE, float(np.max(np.abs(rec[0][0]))))
        x_scale = zmax / afmt.qmax
        for i, (layer, (_, pre, _)) in enumerate(zip(self.float_layers, rec)):
            w, b = layer.folded()
            codes, alpha = binary.binarize(w, layer.spec)
            first = i == 0
            # A sign activation stands for beta * sign(pre) with beta = mean |pre| of the layer that
            # produced it (XNOR-Net's scaling factor, per tensor): the next layer's input scale.
            in_scale = x_scale if first else self.layers[-1].extra["beta_out"]
            q = QLayer(layer.name, layer.spec, "binary", 8 if first else 1, True, in_scale, 0,
                       "binary" if first else "xnor", 2 if first else 1, codes, alpha)
            q.bias = fixed.quantize_bias(b, in_scale, alpha)
            if layer.act in ("tanh", "sigmoid"):
                pmax = float(np.max(np.abs(pre))) or 1.0
                pre_scale = pmax / afmt.qmax
                q.out_scale, q.out_zero_point = 1.0 / afmt.qmax, 0
                q.lut = requant.activation_lut(layer.act, pre_scale, 0, afmt.qmin, afmt.qmax, q.out_scale, 0,
                                               afmt.qmin, afmt.qmax).astype(np.int32)
                pairs = [requant.quantize_multiplier(float(r)) for r in in_scale * alpha / pre_scale]
                q.m0 = np.array([p[0] for p in pairs], np.int32)
                q.shift = np.array([p[1] for p in pairs], np.int32)
                q.act, q.out_bits = layer.act, 8
            else:
                q.act, q.out_bits = "sign", 1
                q.extra["beta_out"] = float(np.mean(np.abs(pre))) or 1.0
            self.layers.append(q)

    # ---- flex16 -------------------------------------------------------------------------------------
    def _build_flex(self, rec, calib_z, autoflex: bool):
        for layer, (_, pre, post) in zip(self.float_layers, rec):
            w, b = layer.folded()
            wm, we = flexpoint.to_flex(w)
            q = QLayer(layer.name, layer.spec, "flex16", 16, True, w_kind="flex", w_bits=16, w_codes=wm, w_exp=we,
                       act=layer.act)
            q.extra["bias_float"] = b
            if autoflex:
                af = flexpoint.Autoflex(initial_exponent=0)
                for chunk in np.array_split(np.abs(pre).reshape(pre.shape[0], -1).max(axis=1), 8):
                    if chunk.size:
                        af.update(float(chunk.max()))
                q.out_exp = af.exponent()
            self.layers.append(q)

    # ---- execution --------------------------------------------------------------------------------
    def run(self, z: np.ndarray, impl: str = "cpp", trace: bool = False):
        """Images in [-1, 1] (float64) from latents z; with ``trace``, also per layer
        ``{"name", "input", "acc", "output"}`` integer tensors. ``impl``: "cpp", "reference", or an
        object with the kernels' signatures (``accelsim.sim.crossbar_func.CrossbarKernels``)."""
        _check_latents(z, "z")
        if self.fmt == "fp32":
            out = float_forward(self.float_layers, z).astype(np.float32).astype(np.float64)
            return (out, []) if trace else out
        from accelsim import kernels
        K = kernels.implementation(impl) if isinstance(impl, str) else impl   # or an object with their signatures
        z = np.ascontiguousarray(z)   # the kernels take C-contiguous NCHW (an HWC image's transpose is not)
        if self.fmt == "flex16":
            return self._run_flex(z, K, trace)
        tr = []
        q0 = self.layers[0]
        x = fixed.quantize(z, q0.x_scale, q0.x_zero_point, fixed.IntFormat(q0.x_bits))
        for q in self.layers:
            if q.w_kind == "xnor":
                acc = K.conv_xnor(x, q.w_codes, bias=q.bias, spec=q.spec)
            else:
                acc = K.conv_int(x, q.w_codes, x_bits=q.x_bits, x_signed=q.x_signed, x_zero_point=q.x_zero_point,
                                 w_kind=q.w_kind, w_bits=q.w_bits, bias=q.bias, spec=q.spec)
            if q.act == "sign":
                y = np.where(acc >= 0, 1, -1).astype(np.int8)
            else:
                act = q.lut if q.lut is not None else ("relu" if q.act == "relu" else "none")
                y = K.requantize_integer(acc, q.m0, q.shift, zero_point=0 if q.lut is not None else q.out_zero_point,
                                         out_bits=q.out_bits, out_signed=q.out_signed, act=act)
            if trace:
                tr.append({"name": q.name, "input": x, "acc": acc, "output": y})
            x = y
        last = self.layers[-1]
        out = fixed.dequantize(x, last.out_scale, last.out_zero_point)
        return (out, tr) if trace else out

    def _run_flex(self, z, K, trace):
        tr = []
        xm, xe = flexpoint.to_flex(z)
        for q in self.layers:
            bias = np.rint(q.extra["bias_float"] * 2.0 ** -(xe + q.w_exp)).astype(np.int64)
            m, e, over, amax = K.conv_flex(xm, xe, q.w_codes, q.w_exp, bias=bias, spec=q.spec, out_exp=q.out_exp)
            if q.act == "relu":
                m = np.maximum(m, 0).astype(np.int16)
            if trace:
                tr.append({"name": q.name, "input": (xm, xe), "output": (m, e), "overflows": over})
            if q.act in ("tanh", "sigmoid"):
                out = ACTS[q.act](flexpoint.from_flex(m, e))
                return (out, tr) if trace else out
            xm, xe = m, e
        out = flexpoint.from_flex(xm, xe)
        return (out, tr) if trace else out


def quantize_generator(model: str | list[FloatLayer], fmt: str, calib_n: int = 64, seed: int = 1234,
                       autoflex: bool = False) -> QuantizedGenerator:
    """Quantize a shipped generator (by name) or a FloatLayer chain to ``fmt``, calibrated on
    ``calib_n`` latents drawn with ``seed`` (disjoint from the evaluation latents' default seed 0)."""
    if isinstance(model, str):
        from accelsim.models import registry
        layers = dcgan_layers(registry.load_weights(model))
        zdim = layers[0].weight.shape[0]
        calib = registry.latents(calib_n, seed, z_dim=zdim)
    else:
        layers = model
        zdim = layers[0].weight.shape[0]
        calib = np.random.default_rng(seed).standard_normal((calib_n, zdim, 1, 1))
    return QuantizedGenerator(layers, fmt, calib, autoflex=autoflex)
