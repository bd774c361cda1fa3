// Hot loops, one implementation per ISA (scalar, avx2, avx512; amx = avx512 with AMX-INT8 u8s8 tiles),
// chosen at run time.
// Each ISA's translation unit defines its table in its own namespace (no ODR sharing).
#pragma once
#include <cstdint>

#include "accelsim/core.hpp"

namespace accelsim {

// Tile geometry of a packed GEMM micro-kernel: it computes an mr x nr tile of C, with k packed in
// groups of kg consecutive values. Panels (zero padded to whole tiles and whole k-groups):
//   A panel (mr rows):    [kgroups][mr][kg]      B panel (nr columns):  [kgroups][nr][kg]
// Each ISA picks its own geometry; the driver (packed_gemm.hpp) packs to whatever the table says.
// A panel layout may group k more coarsely (kg_a, a multiple of kg; 0 means kg):
//   A panel: [K / kg_a][mr][kg_a], and the driver pads K to a multiple of kg_a for both panels
// (the AMX kernel reads 64-byte A rows and 16 k-groups of 4 per B tile).
struct TileShape {
  int mr, nr, kg;
  int kg_a = 0;
  int kga() const { return kg_a ? kg_a : kg; }
};
constexpr int kMaxTileElems = 1024;  // mr * nr of every micro-kernel (the driver's tail-tile buffer)

// Requantization of one row of int32 accumulators in the gemmlowp `integer` mode (formula and
// rounding: docs/quantization.md section 3), specialised to the common case: shift >= 0, int32
// input, multiplier m0 in {0} U [2^30, 2^31). out[i] = clamp(r + zp, lo, hi) with lo = max(qmin, zp)
// under ReLU, else qmin; hi = qmax.
struct RequantRow {
  int32_t m0, shift, zp, lo, hi;
};

// One plane's instance norm straight to codes (HotKernels::norm_codes_i16_*): d = x - zp, the norm
// (mean, k, beta), fixed.quantize (scale, ozp, clamp to [lo, hi]), and the float32 map a * d + b with
// its acceptance bound cut (0: none), from vector_ops.cpp norm_plan.
struct NormCodesRow {
  int32_t zp, ozp, lo, hi;
  float a, b, cut;
  double mean, k, beta, scale;
};

struct HotKernels {
  // ---- packed GEMM micro-kernels: C (mr x nr, row stride ldc) = A panel * B panel, overwritten,
  // over `kgroups` k-groups. All sums are exact under the stated caller guarantees.
  //  s16:  int16 x int16, products (pairs, kg = 2) summed in int32 (vpmaddwd / vpdpwssd). The caller
  //        guarantees every partial sum fits int32.
  //  u8s8: uint8 B x int8 A, summed in int32 (kg = 2 or 4). When u8s8_int16_sums (vpmaddubsw): pair
  //        sums and up to `flush` consecutive k-groups are summed in int16 before widening, and the
  //        caller guarantees flush * max|pair sum| <= 32767. Otherwise (vpdpbusd, scalar) products go
  //        straight into int32 and `flush` is ignored; the caller guarantees int32 partial sums.
  //  xnor: uint64 sign words (kg = 1): C = sum over k of popcount(a ^ b), int32 (caller: < 2^31).
  TileShape s16, u8s8, xnor;
  bool u8s8_int16_sums;
  void (*ukr_s16)(const int16_t* a, const int16_t* b, int64_t kgroups, int32_t* c, int64_t ldc);
  void (*ukr_u8s8)(const int8_t* a, const uint8_t* b, int64_t kgroups, int64_t flush, int32_t* c, int64_t ldc);
  void (*ukr_xnor)(const uint64_t* a, const uint64_t* b, int64_t kgroups, int32_t* c, int64_t ldc);
  // C[M x N] = A[M x K] * B[K x N], row-major, exact: int32 operands, int64 sums (the caller
  // guarantees no int64 overflow). The fallback for formats wider than the packed kernels take.
  void (*gemm_s32_s64)(const int32_t* A, const int32_t* B, int64_t* C, int64_t M, int64_t K, int64_t N);
  // popc[co] = sum_{t < taps} sum_{i < words} popcount(x_rows[t][i] ^ w[co*w_co_stride + w_off[t] + i])
  // for co < n_co: the XNOR-popcount core of a binary convolution (one output pixel, all channels).
  void (*xor_popcount_rows)(const uint64_t* const* x_rows, const int64_t* w_off, int64_t taps, const uint64_t* w,
                            int64_t w_co_stride, int64_t n_co, int64_t words, int64_t* popc);
  // dst[i] += (add + mul * src[i]) & (mask ? mask[i] : ~0) for i < n (int32; the caller guarantees no
  // overflow): one GEMM row's contribution to a col2im phase plane or to an output row.
  void (*add_row_s32)(const int32_t* src, int64_t n, int32_t mul, int32_t add, const int32_t* mask, int32_t* dst);
  // dst[r*ld_dst + 2i] = add + a[r*ld_src + i], dst[r*ld_dst + 2i+1] = add + b[r*ld_src + i] for r < rows,
  // i < n: output rows of a stride-2 transposed convolution from their two phase rows.
  void (*interleave2_s32)(const int32_t* a, const int32_t* b, int64_t ld_src, int64_t rows, int64_t n, int32_t add,
                          int32_t* dst, int64_t ld_dst);
  // dst[j * dst_stride] = sum_{c < n_ch} (src[c * ch_stride + j] > 0) << c for j < n_pix (n_ch, n_pix
  // <= 64): sign bits of a channel-major block, packed per pixel along channels.
  void (*pack_signs_block)(const int8_t* src, int64_t ch_stride, int64_t n_ch, int64_t n_pix, uint64_t* dst,
                           int64_t dst_stride);
  // Flexpoint output stage (docs/quantization.md section 6), over int64 accumulators v[i < n]:
  //  max_abs_s64: max |v[i]| (the caller guarantees |v| < 2^63), 0 if n = 0.
  //  round_s64_s16: out[i] = clamp(round_half_even(v[i] / 2^s), -32768, 32767) for s in [1, 62], or
  //    clamp(v[i] * 2^-s) for s in [-62, 0]; returns how many were clamped.
  //  compact_s64: c[i] = 2 * floor(v[i] / 2^t) + (v[i] mod 2^t != 0) for t in [0, 62] (the caller
  //    guarantees c fits int32); round_half_even(c / 2^(s+1)) = round_half_even(v / 2^(s+t)), s >= 1.
  int64_t (*max_abs_s64)(const int64_t* v, int64_t n);
  int64_t (*round_s64_s16)(const int64_t* v, int64_t n, int s, int16_t* out);
  void (*compact_s64)(const int64_t* v, int64_t n, int t, int32_t* c);
  // out[i] = requantize(acc[i]) for i < n (RequantRow); TOut = int8, uint8, int16 or uint16.
  void (*requant_row_i8)(const int32_t* acc, int64_t n, const RequantRow& p, int8_t* out);
  void (*requant_row_u8)(const int32_t* acc, int64_t n, const RequantRow& p, uint8_t* out);
  void (*requant_row_i16)(const int32_t* acc, int64_t n, const RequantRow& p, int16_t* out);
  void (*requant_row_u16)(const int32_t* acc, int64_t n, const RequantRow& p, uint16_t* out);
  // One output row of a stride-1, dilation-1 conv2d with cout <= 4 output channels, straight from
  // the input rows (no im2col): out[co][ox] = base[co] + sum_{r < nrows} sum_{q < kq}
  // sum_{i < 4} wq[(r * kq + q) * cout + co].byte(i) (int8) * rows[r][ox + 4q + i] (uint8), for
  // ox < ow, int32 sums (the caller guarantees they fit). rows[r] must be readable up to
  // ceil(ow / 64) * 64 + 4 * kq + 64 bytes. nullptr where the CPU lacks the instructions (VBMI);
  // the driver then uses the packed GEMM.
  void (*direct_row_u8s8)(const uint8_t* const* rows, int64_t nrows, const int32_t* wq, int64_t kq, int64_t cout,
                          const int32_t* base, int64_t ow, int32_t* const* out);
  // Instance norm of one plane (accelsim/formats/vector.py):
  //  plane_sums_i16: s[0] = sum x, s[1] = sum x^2, s[2] = min x, s[3] = max x over int16 codes (int64,
  //    exact for n < 2^31; n >= 1); the caller derives the sums of d = x - zero_point from them exactly
  //    (vector_ops.cpp);
  //  normalize_row_s32: y[i] = (double(d[i]) - mean) * k + beta (each an IEEE double operation);
  //  norm_row_i16: the same of d[i] = x[i] - zp (int16 codes, exact in int32), then y[i] = y[i] + r[i]
  //    when r is not null (y may be r); returns whether every y[i] is finite.
  void (*plane_sums_i16)(const int16_t* x, int64_t n, int64_t* s);
  void (*normalize_row_s32)(const int32_t* d, int64_t n, double mean, double k, double beta, double* y);
  bool (*norm_row_i16)(const int16_t* x, int64_t n, int32_t zp, double mean, double k, double beta, const double* r,
                       double* y);
  //  norm_codes_i16_{8,16}: straight to codes (8- or 16-bit containers, signed or not: the low bytes of
  //    the int32 result), out[i] = clamp(round_half_even(((double(x[i] - zp) - mean) * k + beta) / scale) + ozp,
  //    lo, hi) in IEEE double as written (fixed.quantize of the norm). When cut > 0 a row may take
  //    r = rint(fmaf(float(x[i] - zp), a, b)) (float32) for every value with |fmaf(...) - r| < cut: the
  //    caller (vector_ops.cpp norm_plan) guarantees that the double quotient then rounds to r too; the
  //    other values go the double way.
  void (*norm_codes_i16_8)(const int16_t* x, int64_t n, const NormCodesRow& p, uint8_t* out);
  void (*norm_codes_i16_16)(const int16_t* x, int64_t n, const NormCodesRow& p, uint16_t* out);
  // out[i] = clamp(round_half_even(y[i] / scale) + zp, qmin, qmax) for y finite or +-inf (fixed.quantize;
  // zp, qmin, qmax integers held in doubles); TOut = int8, uint8, int16 or uint16. The SIMD rows
  // divide only where a multiply by 1 / scale could round differently (quantize_row_fast_* below).
  void (*quantize_row_i8)(const double* y, int64_t n, double scale, double zp, double qmin, double qmax, int8_t* out);
  void (*quantize_row_u8)(const double* y, int64_t n, double scale, double zp, double qmin, double qmax, uint8_t* out);
  void (*quantize_row_i16)(const double* y, int64_t n, double scale, double zp, double qmin, double qmax,
                           int16_t* out);
  void (*quantize_row_u16)(const double* y, int64_t n, double scale, double zp, double qmin, double qmax,
                           uint16_t* out);
  // dst[i * stride] = add + src[i] for i < n, stride >= 1 (int32; the caller guarantees no overflow),
  // other elements of dst untouched: a row of one output phase of a transposed convolution.
  void (*store_strided_s32)(const int32_t* src, int64_t n, int32_t add, int32_t* dst, int64_t stride);
  // Called on a thread before a run of ukr_u8s8 calls (packed_gemm: once per C block and K chunk,
  // i.e. every 12 or so tiles, not per tile): AMX loads the tile configuration its ukr_u8s8 assumes
  // (LDTILECFG costs about as much as a 32x32x256 tile; per tile it took a fifth of the kernel's
  // time). Nothing that runs between it and those calls may change the tile configuration.
  // nullptr: the ISA's ukr_u8s8 needs no set-up.
  void (*tile_begin)() = nullptr;
  // A 64-bit fingerprint of n bytes, the same on every ISA (hot_generic.inc hash_bytes_generic): the
  // packed-weight cache's check that weights kept their bytes (qconv.cpp).
  uint64_t (*hash_bytes)(const uint8_t* p, int64_t n) = nullptr;
  // Implicit-GEMM conv tile (qconv.cpp conv_implicit): C (32 x 32 int32, row stride ldc, overwritten),
  // C[i][j] = base[i] + sum over steps s < steps, k < 64 of W_s[i][k] * X_s[j][k] (base: 32 int32 addends,
  // one per channel, or nullptr for none; the caller guarantees the sum fits int32), where X_s = x + xoff[s] holds
  // 32 pixels j of 64 uint8 channel bytes each, 64 bytes apart (read in place from the input's copy in
  // 64-channel blocks: no im2col, no packing), and W_s = w + s * 2048 holds int8 weights as
  // [2 halves of 16 channels i][16 k-groups][16 channels][4 k]. Exact int32 sums under the u8s8
  // guarantee. Only columns j < ncols (1..32) are asked for: the kernel may skip the pixels past them
  // (their columns of C are then unspecified; X still holds all 32 pixels' bytes). nullptr: the ISA
  // has no such kernel (conv_packed then packs B).
  void (*ukr_u8s8_implicit)(const uint8_t* x, const int64_t* xoff, const int8_t* w, int64_t steps, int32_t* c,
                            int64_t ldc, int64_t ncols, const int32_t* base) = nullptr;
  // ---- the fused w1a1 convolution (bconv.cpp bconv_f64: float64 in, float64 out) --------------------
  // Implicit-GEMM XNOR tile over output pixels (lanes) x output channels (xnor_conv.mr channels,
  // xnor_conv.nr pixels; kg unused): acc[c * ldc + j] = sum_{t < taps} sum_{i < words}
  // popcount(x[i * plane + xoff[t] + j] ^ w[(t * words + i) * mr + c]) for c < mr, j < nr, int64
  // (exact), overwritten. x must be readable at every such index (the caller pads its buffer).
  TileShape xnor_conv{0, 0, 1};
  void (*ukr_xnor_conv)(const uint64_t* x, int64_t plane, const int64_t* xoff, int64_t taps, int64_t words,
                        const uint64_t* w, int64_t* acc, int64_t ldc) = nullptr;
  // dst[j] = sum_{c < n_ch} (src[c * ch_stride + j] >= 0) << c for j < n_pix (n_ch <= 64, n_pix <= 512;
  // the IEEE comparison: NaN gives 0, -0.0 gives 1): float64 signs of a channel-major block, per pixel.
  void (*pack_signs_f64_block)(const double* src, int64_t ch_stride, int64_t n_ch, int64_t n_pix,
                               uint64_t* dst) = nullptr;
  // dst[i] = y = double(add + base[i % nph][i / nph] - 2 * src[i % nph][i / nph]) * scale for i < n (one
  // IEEE multiply of an exactly converted integer; the caller guarantees |add + base - 2 src| < 2^53), or with relu
  // y > 0 ? y : +0.0 (the caller guarantees scale > 0 finite, so y is never -0.0 or NaN): an output row
  // of an XNOR convolution from its nph phase rows of popcount sums.
  void (*xnor_row_f64)(const int64_t* const* src, const int64_t* const* base, int64_t nph, int64_t n, int64_t add,
                       double scale, bool relu, double* dst) = nullptr;
  // Dense u8 x s8 panel (qconv.cpp conv_dense: a transposed conv of 1x1 inputs is x[n][cin] times
  // w[cin][cout kh kw]): y[i * ldy + j] = sum_{q < kq} sum_{b < 4} w[(q * 64 + j) * 4 + b] (int8) *
  // x[i * ldx + 4 q + b] (uint8) for i < ni, j < 64 (one panel of 64 columns, [kq][64][4]), int32 sums
  // (exact under the u8 x s8 guarantee, no int16 step), overwritten. nullptr: the ISA has no such kernel.
  void (*dense_u8s8)(const uint8_t* x, int64_t ldx, int64_t ni, const int8_t* w, int64_t kq, int32_t* y,
                     int64_t ldy) = nullptr;
  // dst[i * stride] = src[i] for i < n, elements of `size` bytes (1 or 2), stride >= 1, the other
  // elements of dst untouched: a row of one output phase of a transposed convolution, in codes
  // (qconv.cpp conv_implicit's emit). Every table sets it.
  void (*store_strided_codes)(const void* src, int64_t n, int64_t size, void* dst, int64_t stride) = nullptr;
};

const HotKernels& hot();  // for active_isa()
const HotKernels& hot_scalar();
const HotKernels* hot_avx2();    // nullptr if not compiled in
const HotKernels* hot_avx512();  // nullptr if not compiled in
const HotKernels* hot_amx();     // nullptr if not compiled in (AVX-512 + AMX-INT8 u8s8 tiles)

}  // namespace accelsim
