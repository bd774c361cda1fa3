// Vector-unit ops of the quantized runtime on activation codes (golden model and formulas:
// accelsim/formats/vector.py). Float arithmetic is IEEE double in the golden model's operation
// order, built with -ffp-contract=off (no fused multiply-adds), so results are equal bit for bit.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <type_traits>
#include <vector>
#include <string>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"
#include "accelsim/parallel.hpp"
#include "validate.hpp"

namespace accelsim {

namespace {

// out[i] = fixed.quantize(y[i]) through the active ISA's loop (hot.hpp).
inline void quantize_run(const double* y, int64_t n, double scale, double zp, double qmin, double qmax, int8_t* o) {
  hot().quantize_row_i8(y, n, scale, zp, qmin, qmax, o);
}
inline void quantize_run(const double* y, int64_t n, double scale, double zp, double qmin, double qmax, uint8_t* o) {
  hot().quantize_row_u8(y, n, scale, zp, qmin, qmax, o);
}
inline void quantize_run(const double* y, int64_t n, double scale, double zp, double qmin, double qmax, int16_t* o) {
  hot().quantize_row_i16(y, n, scale, zp, qmin, qmax, o);
}
inline void quantize_run(const double* y, int64_t n, double scale, double zp, double qmin, double qmax,
                         uint16_t* o) {
  hot().quantize_row_u16(y, n, scale, zp, qmin, qmax, o);
}

template <class TOut>
TOut* typed(void* p) { return static_cast<TOut*>(p); }

constexpr int64_t kBlock = 1024;  // values normalized per block (8 KiB of float64 on the stack) before quantizing

// s1 = sum d, s2 = sum d^2 over one plane of d = x - zp (exact int64: |d| < 2^17, n < 2^31); for
// int16 codes also dmax = max |d| (else 0).
template <class TIn>
void plane_sums(const HotKernels& hk, const TIn* __restrict x, int64_t n, int32_t zp, int64_t& s1, int64_t& s2,
                int64_t& dmax) {
  dmax = 0;
  if constexpr (std::is_same<TIn, int16_t>::value) {
    int64_t s[4];  // sum x, sum x^2, min, max; then sum (x - zp) = sum x - n zp and
    hk.plane_sums_i16(x, n, s);  // sum (x - zp)^2 = sum x^2 - 2 zp sum x + n zp^2, exact in 128 bits
    const __int128 z = zp, nn = n, sx = s[0], sxx = s[1];
    s1 = int64_t(sx - nn * z);
    s2 = int64_t(sxx - 2 * z * sx + nn * z * z);
    dmax = std::max(std::abs(s[2] - zp), std::abs(s[3] - zp));
  } else {
    int64_t a = 0, b = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t d = int64_t(x[i]) - zp;
      a += d;
      b += d * d;
    }
    s1 = a;
    s2 = b;
  }
}

// y[i] = (double(x[i] - zp) - mean) * k + beta, then y[i] + r[i] if r; whether every y[i] is finite.
// y may be r (a sum into the residual: element i read, then written).
template <class TIn>
bool norm_block(const HotKernels& hk, const TIn* __restrict x, int64_t n, int32_t zp, double mean, double k,
                double beta, const double* r, double* y) {
  if constexpr (std::is_same<TIn, int16_t>::value) {
    return hk.norm_row_i16(x, n, zp, mean, k, beta, r, y);
  } else {
    bool finite = true;
    for (int64_t i = 0; i < n; ++i) {
      double v = (double(int32_t(x[i]) - zp) - mean) * k + beta;
      if (r) v = v + r[i];
      y[i] = v;
      finite &= std::fabs(v) <= 1.7976931348623157e308;
    }
    return finite;
  }
}

// The float32 shortcut of HotKernels::norm_codes_i16_* for one plane: t' = fmaf(d, a, b) with
// a = f32(k / scale), b = f32((beta - mean k) / scale), taken where |t' - rint(t')| < cut. Bound: let
// T = ((d - mean) k + beta) / scale (real arithmetic on the double parameters) and f the golden double
// quotient fl(fl(fl(fl(d - mean) k) + beta) / scale); u = 2^-53, v = 2^-24, D = max |d| of the plane.
//  |f - T| <= 5u ((D + |mean|) |k| + |beta|) / scale   (four roundings, each <= u relative)
//  |t' - T| <= |d| |a - k/s| + |b - B| + v |t'|, B = (beta - mean k) / s exactly, with
//     |a - k/s| <= 1.0001 v |k| / s, |b - B| <= 1.0001 v |b| + 4u (|beta| + |mean k|) / s, and
//     |t'| <= D |a| + |b| <= 1.0001 (D |k| / s + |b|), so
//  |t' - f| <= E = 2^-22 (D |k| / s + |b| + (|beta| + |mean k|) / s) + 2^-50 ((D + |mean|) |k| + |beta|) / s
//     + (D + 1) 2^-140 (float32 underflow of a, b, t'), about a factor 2 above the sum of the terms.
// If |t' - r| < cut <= 1/2 - E (r = rint(t'), t' - r exact), f lies strictly inside (r - 1/2, r + 1/2),
// so round_half_even(f) = r. The shortcut is used only when every parameter is finite, the map stays
// below 2^22 in magnitude (r exact in float32 and int32) and E < 2^-6 (then few values need the double
// way); else cut = 0.
NormCodesRow norm_plan(int32_t zp, double mean, double k, double beta, double scale, int32_t ozp, int32_t lo,
                       int32_t hi, int64_t dmax) {
  NormCodesRow p{zp, ozp, lo, hi, 0.f, 0.f, 0.f, mean, k, beta, scale};
  const double D = double(dmax), a64 = k / scale, b64 = (beta - mean * k) / scale;
  if (!(std::isfinite(mean) && std::isfinite(k) && std::isfinite(beta) && std::isfinite(a64) && std::isfinite(b64)))
    return p;
  const double tmax = D * std::fabs(a64) + std::fabs(b64);
  if (!(tmax <= 0x1p22) || std::fabs(a64) > 0x1p100 || std::fabs(b64) > 0x1p100) return p;
  const double E = (0x1p-22 * (D * std::fabs(k) / scale + std::fabs(b64) + (std::fabs(beta) + std::fabs(mean * k)) / scale) +
                    0x1p-50 * ((D + std::fabs(mean)) * std::fabs(k) + std::fabs(beta)) / scale + (D + 1) * 0x1p-140) *
                   1.001;  // the double arithmetic of E itself
  if (!(E < 0x1p-6)) return p;
  float cut = float(0.5 - E);
  if (double(cut) > 0.5 - E) cut = std::nextafter(cut, 0.f);
  p.a = float(a64);
  p.b = float(b64);
  p.cut = cut;
  return p;
}

}  // namespace

void instance_norm_codes(const InstanceNormArgs& a) {
  check_int_fmt(a.x_fmt, "x");
  if (a.planes < 0 || a.hw < 1 || a.channels < 1 || a.planes % a.channels)
    fail("instance norm: x must have rank 3 or 4 (N, C, ...) with values per plane (hw >= 1)");
  if (!(a.scale > 0) || !std::isfinite(a.scale) || !(a.eps > 0) || !std::isfinite(a.eps))
    fail("instance norm: scale and eps must be finite and > 0");
  if (a.zero_point < a.x_fmt.qmin() || a.zero_point > a.x_fmt.qmax())  // so d = x - zp is exact in int32
    fail("instance norm: zero_point must lie in the x format's range [" + std::to_string(a.x_fmt.qmin()) + ", " +
         std::to_string(a.x_fmt.qmax()) + "], got " + std::to_string(a.zero_point));
  if (a.hw >= (int64_t(1) << 31)) fail("instance norm: a plane must hold fewer than 2^31 values");  // S2 < 2^63
  if (a.out_codes) {
    check_int_fmt(a.out_fmt, "out");
    if (!(a.out_scale > 0) || !std::isfinite(a.out_scale)) fail("instance norm: out_scale must be finite and > 0");
    if (a.out_zero_point < a.out_fmt.qmin() || a.out_zero_point > a.out_fmt.qmax())
      fail("instance norm: out_zero_point must lie in the output format's range");
  }
  if (a.out_float && a.out_codes && !a.residual) fail("instance norm: float and code outputs only with a residual");
  if (!a.out_float && !a.out_codes) fail("instance norm: no output");
  if (a.relu && (a.residual || !a.out_codes)) fail("instance norm: relu is fused only into codes without a residual");
  const double ozp = a.out_zero_point, qmax = a.out_fmt.qmax();
  const double qmin = a.relu ? std::max<double>(a.out_fmt.qmin(), ozp) : a.out_fmt.qmin();  // relu(q) = max(q, zp)
  std::atomic<bool> non_finite{false};
  auto run = [&](const auto* x) {
    parallel_for(a.planes, [&](int64_t p) {
      const HotKernels& hk = hot();
      const auto* xp = x + p * a.hw;
      const int64_t c = p % a.channels;
      int64_t s1, s2, dmax;
      plane_sums(hk, xp, a.hw, a.zero_point, s1, s2, dmax);
      const double n = double(a.hw);
      const double mean = double(s1) / n;
      double var = double(s2) / n - mean * mean;
      if (!(var >= 0.0)) var = 0.0;
      const double gamma = a.weight ? a.weight[c] : 1.0, beta = a.bias ? a.bias[c] : 0.0;
      const double k = a.scale * gamma / std::sqrt(a.scale * a.scale * var + a.eps);
      const int64_t ncodes = int64_t(a.x_fmt.qmax()) - a.x_fmt.qmin() + 1;
      if (a.out_codes && !a.out_float && !a.residual && a.x_fmt.bits == 8 && a.x_dtype == container_dtype(a.x_fmt) &&
          4 * ncodes <= a.hw) {
        // Each output code is a function of its input code alone (per plane): normalize and quantize
        // every possible code once, by the same row kernels (elementwise: the same bits), then look
        // the plane's codes up. 8-bit codes in their own container only: every value of the
        // container is then a code of the format, so every lookup is in the table. A non-finite
        // value in the table (it may belong to a code the plane lacks) sends the plane to the
        // per-value path below, which refuses only values the plane has.
        int32_t dv[256];
        double yv[256];
        for (int64_t v = 0; v < ncodes; ++v) dv[v] = int32_t(a.x_fmt.qmin() + v) - a.zero_point;
        hk.normalize_row_s32(dv, ncodes, mean, k, beta, yv);
        bool finite = true;
        for (int64_t v = 0; v < ncodes; ++v) finite &= std::fabs(yv[v]) <= 1.7976931348623157e308;
        if (finite) {
          auto lookup = [&](auto* o) {
            using TO = std::remove_pointer_t<decltype(o)>;
            TO lut[256];
            quantize_run(yv, ncodes, a.out_scale, ozp, qmin, qmax, lut);
            TO* __restrict dst = o + p * a.hw;
            const TO* __restrict t = lut;
            const int32_t base = a.x_fmt.qmin();
            for (int64_t i = 0; i < a.hw; ++i) dst[i] = t[int32_t(xp[i]) - base];
          };
          switch (container_dtype(a.out_fmt)) {
            case DType::i8: lookup(typed<int8_t>(a.out_codes)); break;
            case DType::u8: lookup(typed<uint8_t>(a.out_codes)); break;
            case DType::i16: lookup(typed<int16_t>(a.out_codes)); break;
            default: lookup(typed<uint16_t>(a.out_codes)); break;
          }
          return;
        }
      }
      const double* r = a.residual ? a.residual + p * a.hw : nullptr;
      if constexpr (std::is_same<std::remove_cv_t<std::remove_pointer_t<decltype(x)>>, int16_t>::value) {
        if (a.out_codes && !a.residual && std::isfinite(mean) && std::isfinite(k) && std::isfinite(beta)) {
          // straight to codes when no value can overflow: |y| <= (D + |mean|) |k| + |beta| (times 1 + 4u)
          // < 2^1021 (the golden model refuses an infinite value: such planes take the blocks below)
          if ((double(dmax) + std::fabs(mean)) * std::fabs(k) + std::fabs(beta) < 0x1p1020) {
            const NormCodesRow row = norm_plan(a.zero_point, mean, k, beta, a.out_scale, a.out_zero_point,
                                               int32_t(qmin), int32_t(qmax), dmax);
            const size_t osz = dtype_size(container_dtype(a.out_fmt));
            if (osz == 1) hk.norm_codes_i16_8(xp, a.hw, row, static_cast<uint8_t*>(a.out_codes) + p * a.hw);
            else hk.norm_codes_i16_16(xp, a.hw, row, static_cast<uint16_t*>(a.out_codes) + p * a.hw);
            return;
          }
        }
      }
      if (a.out_codes) {
        double blk[kBlock];
        auto emit = [&](auto* o) {  // in blocks: y in float64 (+ residual), then its codes
          for (int64_t i0 = 0; i0 < a.hw; i0 += kBlock) {
            const int64_t nb = std::min(kBlock, a.hw - i0);
            double* y = a.out_float ? a.out_float + p * a.hw + i0 : blk;
            if (!norm_block(hk, xp + i0, nb, a.zero_point, mean, k, beta, r ? r + i0 : nullptr, y)) {
              non_finite = true;  // fixed.quantize refuses NaN and inf (the golden model raises)
              return;
            }
            quantize_run(y, nb, a.out_scale, ozp, qmin, qmax, o + p * a.hw + i0);
          }
        };
        switch (container_dtype(a.out_fmt)) {
          case DType::i8: emit(typed<int8_t>(a.out_codes)); break;
          case DType::u8: emit(typed<uint8_t>(a.out_codes)); break;
          case DType::i16: emit(typed<int16_t>(a.out_codes)); break;
          default: emit(typed<uint16_t>(a.out_codes)); break;
        }
      } else {
        norm_block(hk, xp, a.hw, a.zero_point, mean, k, beta, r, a.out_float + p * a.hw);
      }
    });
  };
  switch (a.x_dtype) {
    case DType::i8: run(static_cast<const int8_t*>(a.x)); break;
    case DType::u8: run(static_cast<const uint8_t*>(a.x)); break;
    case DType::i16: run(static_cast<const int16_t*>(a.x)); break;
    case DType::u16: run(static_cast<const uint16_t*>(a.x)); break;
    default: fail("instance norm: x must hold int8, uint8, int16 or uint16 codes");
  }
  if (non_finite)
    fail(a.residual ? "instance norm: the sum with the residual contains NaN or inf: cannot quantize"
                    : "instance norm: the normalized values contain NaN or inf: cannot quantize");
}

void quantize_codes(const double* x, int64_t n, double scale, int32_t zero_point, IntFmt fmt, void* out) {
  check_int_fmt(fmt, "out");
  if (!(scale > 0) || !std::isfinite(scale)) fail("scale must be finite and > 0");
  if (zero_point < fmt.qmin() || zero_point > fmt.qmax()) fail("zero_point must lie in the format's range");
  const double qmin = fmt.qmin(), qmax = fmt.qmax(), zp = zero_point;
  constexpr int64_t kChunk = 1 << 16;
  std::atomic<bool> non_finite{false};
  auto emit = [&](auto* o) {
    parallel_for((n + kChunk - 1) / kChunk, [&](int64_t b) {
      const int64_t i0 = b * kChunk, i1 = std::min(n, i0 + kChunk);
      bool bad = false;  // NaN or inf anywhere (checked per chunk; the output is discarded then)
      for (int64_t i = i0; i < i1; ++i) bad |= !(std::fabs(x[i]) <= 1.7976931348623157e308);
      if (bad) non_finite = true;
      else quantize_run(x + i0, i1 - i0, scale, zp, qmin, qmax, o + i0);
    });
  };
  switch (container_dtype(fmt)) {
    case DType::i8: emit(typed<int8_t>(out)); break;
    case DType::u8: emit(typed<uint8_t>(out)); break;
    case DType::i16: emit(typed<int16_t>(out)); break;
    default: emit(typed<uint16_t>(out)); break;
  }
  if (non_finite) fail("x contains NaN or inf: cannot quantize");
}

void dequantize_codes(const void* codes, DType dtype, int64_t n, double scale, int32_t zero_point, double* out) {
  constexpr int64_t kChunk = 1 << 16;
  auto run = [&](const auto* q) {
    parallel_for((n + kChunk - 1) / kChunk, [&](int64_t b) {
      const int64_t i1 = std::min(n, (b + 1) * kChunk);
      for (int64_t i = b * kChunk; i < i1; ++i) out[i] = scale * double(int64_t(q[i]) - zero_point);
    });
  };
  switch (dtype) {
    case DType::i8: run(static_cast<const int8_t*>(codes)); break;
    case DType::u8: run(static_cast<const uint8_t*>(codes)); break;
    case DType::i16: run(static_cast<const int16_t*>(codes)); break;
    case DType::u16: run(static_cast<const uint16_t*>(codes)); break;
    case DType::i32: run(static_cast<const int32_t*>(codes)); break;
    default: fail("dequantize: codes must hold int8, uint8, int16, uint16 or int32");
  }
}

void dequantize_add(const DequantizeAddArgs& a) {
  if (a.out_codes) {
    check_int_fmt(a.out_fmt, "out");
    if (!(a.out_scale > 0) || !std::isfinite(a.out_scale)) fail("out_scale must be finite and > 0");
    if (a.out_zero_point < a.out_fmt.qmin() || a.out_zero_point > a.out_fmt.qmax())
      fail("out_zero_point must lie in the out format's range");
  }
  if (!a.out_codes && !a.out_float) fail("dequantize_add: nothing to write");
  constexpr int64_t kChunk = 1 << 14;  // per task; its float64 sums in blocks of kBlock stay in L1
  constexpr int64_t kBlock = 512;
  const double qmin = a.out_fmt.qmin(), qmax = a.out_fmt.qmax(), ozp = a.out_zero_point;
  std::atomic<bool> non_finite{false};
  auto run = [&](const auto* q, auto* o) {
    parallel_for((a.n + kChunk - 1) / kChunk, [&](int64_t b) {
      double blk[kBlock];
      const int64_t c1 = std::min(a.n, (b + 1) * kChunk);
      for (int64_t i0 = b * kChunk; i0 < c1; i0 += kBlock) {
        const int64_t nb = std::min(kBlock, c1 - i0);
        double* y = a.out_float ? a.out_float + i0 : blk;
        const double* r = a.residual + i0;
        bool bad = false;  // fixed.quantize refuses NaN and inf (the golden model raises)
        for (int64_t i = 0; i < nb; ++i) {  // fixed.dequantize's scale * (q - zp), then + residual
          y[i] = r[i] + a.scale * double(int64_t(q[i0 + i]) - a.zero_point);
          bad |= !(std::fabs(y[i]) <= 1.7976931348623157e308);
        }
        if (!o) continue;
        if (bad) {
          non_finite = true;
          return;
        }
        quantize_run(y, nb, a.out_scale, ozp, qmin, qmax, o + i0);
      }
    });
  };
  auto with_out = [&](const auto* q) {
    if (!a.out_codes) return run(q, static_cast<int8_t*>(nullptr));
    switch (container_dtype(a.out_fmt)) {
      case DType::i8: return run(q, static_cast<int8_t*>(a.out_codes));
      case DType::u8: return run(q, static_cast<uint8_t*>(a.out_codes));
      case DType::i16: return run(q, static_cast<int16_t*>(a.out_codes));
      default: return run(q, static_cast<uint16_t*>(a.out_codes));
    }
  };
  switch (a.dtype) {
    case DType::i8: with_out(static_cast<const int8_t*>(a.codes)); break;
    case DType::u8: with_out(static_cast<const uint8_t*>(a.codes)); break;
    case DType::i16: with_out(static_cast<const int16_t*>(a.codes)); break;
    case DType::u16: with_out(static_cast<const uint16_t*>(a.codes)); break;
    default: fail("dequantize_add: codes must hold int8, uint8, int16 or uint16");
  }
  if (non_finite) fail("dequantize_add: the sum contains NaN or inf: cannot quantize");
}

}  // namespace accelsim
