"""A layer's program for the tile controller: the run-time registers (``cfg.hex``) and the descriptor
tables that turn GEMM operand indices into buffer addresses (im2col as tables), from the vectors'
manifest record.

The GEMMs are the simulator's lowering (``accelsim.mapping.lowering``, ``phase`` for transposed
convolutions, ``direct`` otherwise): for a transposed convolution, one GEMM per output phase
(oy % s, ox % s) with only the taps that land on real inputs, P = that phase's output pixels,
K = Cin x its taps, F = Cout. ``gemms`` derives them from the convolution definition of
docs/quantization.md section 1 and ``check_against_lowering`` asserts they are the simulator's shapes.

Tables (32-bit words): ``gemm`` (per GEMM: P, T, K and the bases of its rows in the other tables),
``pixout`` (output pixel y*Wo + x of each GEMM row), ``pixin`` (per GEMM row and tap: the input
pixel iy*W + ix it reads, or 0xffffffff where the tap falls outside the input), ``ktab`` (operand k:
input channel << 16 | tap index), ``taps`` (tap index -> ky*KW + kx).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from accelsim.errors import ConfigError, InfeasibleError
from accelsim.rtl.sv import ACT_CODES, CFG_FIELDS, GEMM_WORDS, INVALID, PACKING_CODES


@dataclass(frozen=True)
class GemmProgram:
    pixels: tuple[int, ...]          # output pixel index per row (P)
    taps: tuple[int, ...]            # ky*KW + kx per tap (T)
    pixin: tuple[int, ...]           # P x T input pixel or INVALID
    cin: int

    @property
    def window(self) -> int:
        return self.cin * len(self.taps)


def _phase_taps(k: int, s: int, p: int, d: int, r: int) -> list[int]:
    return [t for t in range(k) if (t * d) % s == (r + p) % s]


def gemms(rec: dict) -> list[GemmProgram]:
    """The GEMMs of one exported layer, in the simulator's lowering order."""
    t = rec["tensors"]
    n, cin, h, w = t["x"]["shape"]
    _, cout, ho, wo = t["y"]["shape"]
    wshape = t["w"].get("logical_shape", t["w"]["shape"])
    kh, kw = wshape[2], wshape[3]
    conv = rec["conv"]
    (sh, sw), (ph, pw), (dh, dw) = conv["stride"], conv["padding"], conv["dilation"]
    if conv["groups"] != 1:
        raise InfeasibleError(f"layer {rec['index']} ({rec['name']}): the RTL runs groups == 1, got {conv['groups']}")
    if n != 1:
        raise ConfigError(f"layer {rec['index']} ({rec['name']}): the RTL check runs batch 1, the vectors have {n}")
    out = []
    if conv["transposed"]:
        for rh in range(sh):
            th = _phase_taps(kh, sh, ph, dh, rh)
            for rw in range(sw):
                tw = _phase_taps(kw, sw, pw, dw, rw)
                pix = [(oy, ox) for oy in range(rh, ho, sh) for ox in range(rw, wo, sw)]
                if not pix or not th or not tw:
                    continue
                taps = [(a, b) for a in th for b in tw]
                pixin = []
                for oy, ox in pix:
                    for a, b in taps:
                        iy, ix = (oy + ph - a * dh) // sh, (ox + pw - b * dw) // sw
                        pixin.append(iy * w + ix if 0 <= iy < h and 0 <= ix < w else INVALID)
                out.append(GemmProgram(tuple(oy * wo + ox for oy, ox in pix), tuple(a * kw + b for a, b in taps),
                                       tuple(pixin), cin))
    else:
        pix = [(oy, ox) for oy in range(ho) for ox in range(wo)]
        taps = [(a, b) for a in range(kh) for b in range(kw)]
        pixin = []
        for oy, ox in pix:
            for a, b in taps:
                iy, ix = oy * sh - ph + a * dh, ox * sw - pw + b * dw
                pixin.append(iy * w + ix if 0 <= iy < h and 0 <= ix < w else INVALID)
        out.append(GemmProgram(tuple(oy * wo + ox for oy, ox in pix), tuple(a * kw + b for a, b in taps),
                               tuple(pixin), cin))
    return out


def check_against_lowering(rec: dict, progs: list[GemmProgram], lowered) -> None:
    """The GEMM shapes must be the simulator's (``lowered``: accelsim.mapping.lowering.Lowered)."""
    mine = [(len(g.pixels), g.window, rec["tensors"]["y"]["shape"][1]) for g in progs]
    theirs = [(gm.pixels, gm.window, gm.filters) for gm in lowered.gemms for _ in range(gm.count)]
    if mine != theirs:
        raise InfeasibleError(f"layer {rec['index']} ({rec['name']}): the RTL's GEMMs {mine} are not the "
                              f"simulator's {theirs} ({lowered.method} lowering)")


def _qrange(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def cfg_words(rec: dict, progs: list[GemmProgram]) -> dict:
    t, prm = rec["tensors"], rec["params"]
    if rec["kernel"] not in ("qconv", "bconv"):
        raise InfeasibleError(f"layer {rec['index']} ({rec['name']}): kernel {rec['kernel']} has no RTL PE")
    if rec["kernel"] == "qconv" and prm.get("requant_mode") != "integer":
        raise InfeasibleError(f"layer {rec['index']} ({rec['name']}): requant_mode {prm.get('requant_mode')!r}; "
                              "the RTL implements the integer mode")
    act = rec["act"]
    if act not in ACT_CODES:
        raise InfeasibleError(f"layer {rec['index']} ({rec['name']}): act {act!r} has no RTL output stage")
    y = t["y"]
    qmin, qmax = _qrange(y["word_bits"], bool(y["signed"]))
    if act in ("sign", "acc"):
        qmin, qmax = 0, 0      # not used: no requantization
    if act == "lut":
        qmin, qmax = t["lut"]["qmin"], t["lut"]["qmin"] + t["lut"]["count"] - 1
    _, cin, h, w = t["x"]["shape"]
    _, cout, ho, wo = t["y"]["shape"]
    wt = t["w"]
    wshape = wt.get("logical_shape", wt["shape"])
    packing = wt.get("packing") or "none"
    if packing not in PACKING_CODES:
        raise InfeasibleError(f"layer {rec['index']}: weight packing {packing!r} is not implemented in the RTL")
    x = t["x"]
    vals = {
        "n_gemm": len(progs), "cin": cin, "cout": cout, "hw_in": h * w, "hw_out": ho * wo,
        "khkw": wshape[2] * wshape[3],
        "x_zp": int(prm.get("x_zero_point") or 0) if x["encoding"] != "sign" else 0,
        "y_zp": int(prm.get("requant_zero_point") or 0), "qmin": qmin, "qmax": qmax, "act": ACT_CODES[act],
        "x_bits": 1 if x["encoding"] == "sign" else x["word_bits"], "x_signed": int(bool(x["signed"])),
        "bias_bits": t["bias"]["word_bits"] if "bias" in t else 32,
        "lut_qmin": t["lut"]["qmin"] if "lut" in t else 0,
        "cin_words": wt["shape"][-1] if packing != "none" else 0,
        "w_order": 0 if rec["conv"]["transposed"] else 1,
        "lut_bits": t["lut"]["word_bits"] if "lut" in t else 16,
        "w_packing": PACKING_CODES[packing], "has_bias": int("bias" in t),
    }
    return vals


def _hex(words, path: str) -> None:
    with open(path, "w") as f:
        f.write("".join(f"{int(v) & 0xFFFFFFFF:08x}\n" for v in words) or "00000000\n")


def write_program(rec: dict, progs: list[GemmProgram], out_dir: str) -> dict:
    """Write cfg/gemm/pixout/pixin/ktab/taps.hex into ``out_dir``; returns the table sizes (words)."""
    vals = cfg_words(rec, progs)
    _hex([vals[k] for k in CFG_FIELDS], os.path.join(out_dir, "cfg.hex"))
    gem, pixout, pixin, ktab, taps = [], [], [], [], []
    for g in progs:
        gem += [len(g.pixels), len(g.taps), g.window, len(pixout), len(pixin), len(ktab), len(taps), 0][:GEMM_WORDS]
        pixout += g.pixels
        pixin += g.pixin
        ktab += [(ci << 16) | ti for ci in range(g.cin) for ti in range(len(g.taps))]
        taps += g.taps
    for name, words in (("gemm", gem), ("pixout", pixout), ("pixin", pixin), ("ktab", ktab), ("taps", taps)):
        _hex(words, os.path.join(out_dir, f"{name}.hex"))
    return {"gemm": len(progs), "pix": len(pixout), "pixin": len(pixin), "ktab": len(ktab), "taps": len(taps)}
