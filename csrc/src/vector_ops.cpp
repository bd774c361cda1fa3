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

constexpr int64_t kBlock = 4096;  // values normalized per block before quantizing

// d[i] = x[i] - zp as int32 (exact: codes and zero points are 16-bit).
template <class TIn>
void offset_codes(const TIn* __restrict x, int64_t n, int32_t zp, int32_t* __restrict d) {
  for (int64_t i = 0; i < n; ++i) d[i] = int32_t(x[i]) - zp;
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
      std::vector<int32_t> d(size_t(a.hw));
      offset_codes(xp, a.hw, a.zero_point, d.data());
      int64_t sums[2];
      hk.plane_sums_s32(d.data(), a.hw, sums);
      const double n = double(a.hw);
      const double mean = double(sums[0]) / n;
      double var = double(sums[1]) / n - mean * mean;
      if (!(var >= 0.0)) var = 0.0;
      const double gamma = a.weight ? a.weight[c] : 1.0, beta = a.bias ? a.bias[c] : 0.0;
      const double k = a.scale * gamma / std::sqrt(a.scale * a.scale * var + a.eps);
      const int64_t ncodes = int64_t(a.x_fmt.qmax()) - a.x_fmt.qmin() + 1;
      if (a.out_codes && !a.out_float && !a.residual && a.x_fmt.bits == 8 && a.x_dtype == container_dtype(a.x_fmt) &&
          4 * ncodes <= a.hw) {
        // Each output code is a function of its input code alone (per plane): normalize and quantize
        // every possible code once, by the same row kernels (elementwise: the same bits), then look
        // the plane's codes up. 8-bit codes in their own container only: every value of the
        // container is then a code of the format, so every lookup is in the table.
        std::vector<int32_t> dv(static_cast<size_t>(ncodes));
        for (int64_t v = 0; v < ncodes; ++v) dv[size_t(v)] = int32_t(a.x_fmt.qmin() + v) - a.zero_point;
        std::vector<double> yv(static_cast<size_t>(ncodes));
        hk.normalize_row_s32(dv.data(), ncodes, mean, k, beta, yv.data());
        auto lookup = [&](auto* o) {
          using TO = std::remove_pointer_t<decltype(o)>;
          std::vector<TO> lut(static_cast<size_t>(ncodes));
          quantize_run(yv.data(), ncodes, a.out_scale, ozp, qmin, qmax, lut.data());
          TO* __restrict dst = o + p * a.hw;
          const TO* __restrict t = lut.data();
          const int32_t base = a.x_fmt.qmin();
          for (int64_t i = 0; i < a.hw; ++i) dst[i] = t[int32_t(xp[i]) - base];
        };
        switch (container_dtype(a.out_fmt)) {
          case DType::i8: lookup(typed<int8_t>(a.out_codes)); break;
          case DType::u8: lookup(typed<uint8_t>(a.out_codes)); break;
          case DType::i16: lookup(typed<int16_t>(a.out_codes)); break;
          default: lookup(typed<uint16_t>(a.out_codes)); break;
        }
      } else if (a.out_codes) {
        std::vector<double> blk(a.out_float ? 0 : size_t(std::min<int64_t>(a.hw, kBlock)));
        auto emit = [&](auto* o) {  // in blocks: y in float64 (+ residual), then its codes
          for (int64_t i0 = 0; i0 < a.hw; i0 += kBlock) {
            const int64_t nb = std::min(kBlock, a.hw - i0);
            double* y = a.out_float ? a.out_float + p * a.hw + i0 : blk.data();
            hk.normalize_row_s32(d.data() + i0, nb, mean, k, beta, y);
            if (a.residual) {
              const double* r = a.residual + p * a.hw + i0;
              bool bad = false;
              for (int64_t i = 0; i < nb; ++i) {
                y[i] = y[i] + r[i];
                bad |= !(std::fabs(y[i]) <= 1.7976931348623157e308);
              }
              if (bad) {
                non_finite = true;
                return;
              }
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
        double* y = a.out_float + p * a.hw;
        hk.normalize_row_s32(d.data(), a.hw, mean, k, beta, y);
        if (a.residual) {
          const double* r = a.residual + p * a.hw;
          for (int64_t i = 0; i < a.hw; ++i) y[i] = y[i] + r[i];
        }
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
  if (non_finite) fail("instance norm: the sum with the residual contains NaN or inf: cannot quantize");
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

}  // namespace accelsim
