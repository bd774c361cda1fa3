// accelsim kernels: the C++ API shared by the pybind11 module and the C ABI.
// Semantics are those of the golden model in accelsim/formats (docs/quantization.md); every
// function here is bit-exact against it. Layout NCHW, weights in torch layout, C-contiguous.
#pragma once
#include <cstdint>
#include <string>

#include "accelsim/core.hpp"

namespace accelsim {

struct IntFmt {
  int bits = 8;  // [1, 16]
  bool is_signed = true;
  int32_t qmin() const { return is_signed ? -(1 << (bits - 1)) : 0; }
  int32_t qmax() const { return is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1; }
};

// ---- integer convolution: fixed point, ternary and binary weights ----------------------------
enum class WeightKind : int {
  fixed = 0,    // codes in [-2^(w_bits-1), 2^(w_bits-1) - 1]
  ternary = 1,  // codes in {-1, 0, +1}
  binary = 2,   // codes in {-1, +1}
};

struct QConvArgs {
  TensorView x;          // activation codes, container dtype of x_fmt (int8/uint8/int16/uint16)
  IntFmt x_fmt;
  int32_t x_zero_point = 0;
  TensorView w;          // int8 (w_bits <= 8) or int16 weight codes, torch layout
  WeightKind w_kind = WeightKind::fixed;
  int w_bits = 8;        // fixed only: [2, 16]
  TensorView bias;       // optional int32 or int64 [Cout] at scale s_x*s_w (data == nullptr: none)
  ConvParams conv;
};

struct QConvPlan {
  QConvArgs args;
  Geom g;
  int acc_bits = 32;     // 32 or 64, decided from formats and shapes (never wraps)
};

// Validates everything (shapes, dtypes, code ranges of x and w) and decides the accumulator width:
// 32 iff (qmax_x - qmin_x) * max|w code range| * taps + max|bias| < 2^31.
QConvPlan qconv_plan(const QConvArgs& a);
// acc[n, co, oy, ox] = bias[co] + sum (x - z_x) * w over the taps; out holds g.out_numel()
// elements of int32 (acc_bits 32) or int64.
void qconv_run(const QConvPlan& plan, void* out);

// Algorithm of transposed convolutions on the int8 path (u8 x s8 codes, int32 accumulators, int8
// weights): `phase` (phase decomposition, qconv.cpp convt_phase), `col2im` (GEMM + phase-plane
// col2im, conv_packed), `implicit` (the phases as implicit GEMMs, conv_implicit, on ISAs with its
// kernel, AMX tiles or AVX-512; elsewhere as automatic), `dense` (1x1 inputs as x[n][cin] times
// w[cin][cout kh kw], conv_dense; other geometries as automatic) or `automatic` (each where it was
// measured faster: docs/design.md). Other formats and wider accumulators always take their own paths.
// ACCELSIM_CONVT=auto|phase|col2im|implicit|dense at first use, else automatic.
enum class ConvtPath : int { automatic = 0, phase = 1, col2im = 2, implicit = 3, dense = 4 };
ConvtPath convt_path();
void set_convt_path(ConvtPath p);
ConvtPath convt_path_from(const std::string& name);  // fails naming the value
const char* convt_path_name(ConvtPath p);            // "auto", "phase", "col2im", "implicit", "dense"
// What the last transposed qconv_run / qconv_requant_run in the process ran: "phase", "col2im",
// "implicit", "dense" or "other" (the int16 / int64 paths); "" before any (tests check that every path is reached).
const char* last_convt_path();
// What the last conv2d qconv_run / qconv_requant_run ran: "implicit" (qconv.cpp conv_implicit, AMX),
// "packed" (im2col into a packed GEMM, u8 x s8 or int16, or the u8 x s8 small-output form) or "other"
// (the int64 paths); "" before any.
const char* last_conv2d_path();

// ---- requantization -----------------------------------------------------------------------------
enum class RequantMode : int { integer = 0, torch = 1 };
struct RequantArgs;
// qconv_run then requantize(rq) of its accumulators into out (codes of rq.out_fmt, g.out_numel()
// elements) in one call: the same bits. The int8 packed path of transposed convolutions requantizes
// each task's accumulators as the task finishes (no accumulator tensor); the other paths use one
// scratch buffer kept by the calling thread. rq.acc is ignored (the conv's output shape is used).
void qconv_requant_run(const QConvPlan& plan, const RequantArgs& rq, void* out);
enum class Activation : int { none = 0, relu = 1, lut = 2 };

struct RequantArgs {
  TensorView acc;        // int32 or int64, rank 1..4; channel axis 1 (axis 0 for rank 1)
  RequantMode mode = RequantMode::integer;
  TensorView m0, shift;  // integer: int32[1 or C]; m0 in {0} U [2^30, 2^31), shift in [-31, 62]
  TensorView bias_f32, mult_f32;  // torch: float32[1 or C]
  TensorView bias_mul_f32;        // torch: float32[1 or C], or no data (then 1): t = fma(bias, bias_mul, f32(acc))
  int32_t zero_point = 0;
  IntFmt out_fmt;
  Activation act = Activation::none;
  TensorView lut;        // int32[qmax - qmin + 1], codes in out range (act == lut)
};
// out: container dtype of out_fmt (int8/uint8/int16/uint16), acc.numel() elements.
void requantize(const RequantArgs& a, void* out);
DType container_dtype(const IntFmt& f);
// The row kernel's parameters (hot.hpp RequantRow) of channel c, when requantize(a) runs int32
// accumulators of channel c through it (integer mode, shift >= 0, no lookup table): sets *p and
// returns true; else false. a must have passed requantize's validation.
struct RequantRow;
bool requant_row_params(const RequantArgs& a, int64_t c, RequantRow* p);
// dst[i] = the code of acc[i] (i < n) by the active ISA's row kernel with p, dst of dtype `out`
// (container_dtype of the output format): the bits requantize gives those accumulators.
void requant_row_run(const RequantRow& p, const int32_t* acc, int64_t n, DType out, void* dst);

// ---- binary weights x binary activations (XNOR-popcount) ---------------------------------------
struct BConvArgs {
  TensorView x;     // int8 in {-1, +1}, NCHW
  TensorView w;     // int8 in {-1, +1}, torch layout
  TensorView bias;  // optional int32[Cout]
  ConvParams conv;
};
// out[n, co, oy, ox] = bias[co] + sum over valid taps of x*w, computed as
// sum over valid taps (cin_g - 2*popcount(x_bits xor w_bits)); int32, g.out_numel() elements.
Geom bconv_geom(const BConvArgs& a);
void bconv(const BConvArgs& a, int32_t* out);
// The whole w1a1 MAC node in one call (golden: accelsim.formats.reference.conv_xnor_f64): the signs
// of float64 x (+1 where x >= 0: NaN gives -1, -0.0 gives +1), the XNOR convolution with int8 {-1, +1}
// weights w (packed once and cached: w.key as in QConvArgs, else a hash of w's bytes) and optional
// int32 bias, then out[n, co, oy, ox] = double(acc) * scale[co] (one IEEE multiply), float64, then the
// ReLU when asked. The
// accumulator bound and the shape checks are bconv_geom's.
struct BConvF64Args {
  TensorView x;      // float64 NCHW
  TensorView w;      // int8 in {-1, +1}, torch layout
  TensorView bias;   // optional int32[Cout]
  TensorView scale;  // float64[Cout]; with relu every entry positive and finite
  ConvParams conv;
  bool relu = false;  // out = max(out, 0.0) (numpy's maximum: a ReLU the runtime fuses)
};
Geom bconv_f64_geom(const BConvF64Args& a);
void bconv_f64(const BConvF64Args& a, double* out);
// Packs int8 {-1,+1} along the last axis into uint64 words (bit i = 1 for +1), rows x words.
void pack_signs(const int8_t* src, int64_t rows, int64_t len, uint64_t* dst);

// ---- flexpoint flex16+5 --------------------------------------------------------------------------
constexpr int kFlexExpMin = -16, kFlexExpMax = 15;
struct FlexConvArgs {
  TensorView x;  int32_t x_exp = 0;  // int16 mantissas, shared exponent in [-16, 15]
  TensorView w;  int32_t w_exp = 0;
  TensorView bias;                   // optional int64[Cout] at exponent x_exp + w_exp
  ConvParams conv;
  bool dynamic = true;               // choose the output exponent from the data
  int32_t out_exp = 0;               // static mode: the exponent to use, [-16, 15]
};
struct FlexResult {
  int32_t out_exp = 0;
  int64_t overflows = 0;     // outputs saturated (static mode only)
  int64_t acc_max_abs = 0;   // max |acc| at exponent x_exp + w_exp (for Autoflex statistics)
};
Geom flexconv_geom(const FlexConvArgs& a);
FlexResult flexconv(const FlexConvArgs& a, int16_t* out);


// ---- vector-unit ops on activation codes (golden model: accelsim/formats/vector.py) ------------
// Instance norm of real = scale * (x - zero_point) per plane of hw values (planes = N * C, plane p is
// channel p % channels), from exact integer sums S1 = sum d, S2 = sum d^2 (d = x - zero_point):
//   mean = S1 / hw, var = max(S2 / hw - mean^2, 0), k = scale * gamma / sqrt(scale^2 var + eps),
//   y = (d - mean) * k + beta   (gamma = 1, beta = 0 without weight / bias)
// written as float64 (out_float) or as codes of out_fmt: clamp(round_half_even(y / out_scale) + zp).
// With `residual` (float64, x's shape) the result is y + residual (one IEEE add: a residual block's
// norm and add in one pass), written as float64, as codes, or both (NaN or inf fails for codes).
struct InstanceNormArgs {
  const void* x = nullptr;
  DType x_dtype = DType::i16;
  IntFmt x_fmt{16, true};
  int64_t planes = 0, hw = 0, channels = 1;
  double scale = 1.0, eps = 1e-5;
  int32_t zero_point = 0;
  const double* weight = nullptr;  // optional [channels]
  const double* bias = nullptr;    // optional [channels]
  double* out_float = nullptr;     // this, or
  void* out_codes = nullptr;       // codes of out_fmt, or (with residual) both
  const double* residual = nullptr;  // optional, planes * hw values added to y
  IntFmt out_fmt{8, true};
  double out_scale = 1.0;
  int32_t out_zero_point = 0;
  bool relu = false;                 // codes only: clamp at out_zero_point (a fused ReLU)
};
void instance_norm_codes(const InstanceNormArgs& a);
// Spatial padding of codes (graph op `pad` on codes, csrc/src/graph_ops.cpp): x is `planes` planes
// of h x w elements of `dtype` (1 or 2 bytes); out gets planes of (h + top + bottom) x (w + left +
// right). mode 0 constant (`value`, the zero point: real 0), 1 reflect (numpy "reflect": the edge is
// not repeated; needs top, bottom < h and left, right < w), 2 replicate (numpy "edge").
void pad_codes(const void* x, DType dtype, int64_t planes, int64_t h, int64_t w, int64_t top, int64_t bottom,
               int64_t left, int64_t right, int mode, int32_t value, void* out);
// Table lookup of codes (an elementwise op tabulated over every code, csrc/src/graph_ops.cpp): x is
// `outer` blocks of `channels` channels of `inner` codes of `dtype` (1 or 2 bytes); out[i] =
// table[c * T + x[i] - min(dtype)] with T = 2^(8 * size of dtype) entries per table, c the channel
// of i when per_channel (channels tables), else 0 (one table). Entries of out_size bytes (1, 2, 8) are
// copied as they are.
void lut_codes(const void* x, DType dtype, int64_t outer, int64_t channels, int64_t inner, const void* table,
               bool per_channel, size_t out_size, void* out);
// torch's pixel_shuffle of n x (c_out r r) x h x w elements of elem_size bytes (1, 2, 4, 8) into
// n x c_out x (h r) x (w r): out[n, c, y r + i, x r + j] = x[n, c r r + i r + j, y, x].
void pixel_shuffle_codes(const void* x, size_t elem_size, int64_t n, int64_t c_out, int64_t r, int64_t h, int64_t w,
                         void* out);
// out[i] = clamp(round_half_even(x[i] / scale) + zero_point, qmin, qmax) (fixed.quantize); fails on
// NaN or inf.
void quantize_codes(const double* x, int64_t n, double scale, int32_t zero_point, IntFmt fmt, void* out);
// out[i] = scale * (codes[i] - zero_point) in float64 (fixed.dequantize).
void dequantize_codes(const void* codes, DType dtype, int64_t n, double scale, int32_t zero_point, double* out);
// A residual add of codes into a float64 sum (accelsim/formats/vector.py dequantize_add): y[i] =
// residual[i] + scale * (codes[i] - zero_point) in float64 (the bits of dequantize, then numpy's add),
// into out_float (when not null; it may be residual itself), and when out_codes is not null its codes
// clamp(round_half_even(y[i] / out_scale) + out_zero_point) (fixed.quantize; fails on NaN or inf).
struct DequantizeAddArgs {
  const void* codes = nullptr;
  DType dtype = DType::i8;  // int8, uint8, int16 or uint16
  int64_t n = 0;
  double scale = 1.0;
  int32_t zero_point = 0;
  const double* residual = nullptr;
  double* out_float = nullptr;
  double out_scale = 1.0;
  int32_t out_zero_point = 0;
  IntFmt out_fmt{8, true};
  void* out_codes = nullptr;
};
void dequantize_add(const DequantizeAddArgs& a);

// ---- peak probes (benchmarks) ----------------------------------------------------------------------
// Names of the probes (nullptr-terminated) and the multiply-accumulates per second one sustains on
// all num_threads() threads at once, `iters` loop iterations per thread (peak_probe.cpp documents
// the MACs each instruction counts). Fails for a name this CPU or build cannot run.
const char* const* peak_probe_names();
double peak_probe(const std::string& name, int64_t iters);
int64_t amx_probe_loop(int64_t iters);  // hot_amx.cpp: the AMX probe's loop

}  // namespace accelsim
