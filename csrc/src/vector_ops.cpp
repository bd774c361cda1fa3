// Vector-unit ops of the quantized runtime on activation codes (golden model and formulas:
// accelsim/formats/vector.py). Float arithmetic is IEEE double in the golden model's operation
// order, built with -ffp-contract=off (no fused multiply-adds), so results are equal bit for bit.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <string>

#include "accelsim/kernels.hpp"
#include "accelsim/parallel.hpp"
#include "validate.hpp"

namespace accelsim {

namespace {

// clamp(round_half_even(v / scale) + zp, qmin, qmax): fixed.quantize for one finite v.
template <class TOut>
inline TOut quantize_one(double v, double scale, double zp, double qmin, double qmax) {
  double q = std::nearbyint(v / scale) + zp;
  q = q < qmin ? qmin : (q > qmax ? qmax : q);
  return TOut(q);
}

template <class TOut>
TOut* typed(void* p) { return static_cast<TOut*>(p); }

}  // namespace

void instance_norm_codes(const InstanceNormArgs& a) {
  check_int_fmt(a.x_fmt, "x");
  if (a.planes < 0 || a.hw < 1 || a.channels < 1 || a.planes % a.channels)
    fail("instance norm: planes must be a multiple of channels and hw >= 1");
  if (!(a.scale > 0) || !std::isfinite(a.scale) || !(a.eps > 0) || !std::isfinite(a.eps))
    fail("instance norm: scale and eps must be finite and > 0");
  if (a.out_codes) {
    check_int_fmt(a.out_fmt, "out");
    if (!(a.out_scale > 0) || !std::isfinite(a.out_scale)) fail("instance norm: out_scale must be finite and > 0");
    if (a.out_zero_point < a.out_fmt.qmin() || a.out_zero_point > a.out_fmt.qmax())
      fail("instance norm: out_zero_point must lie in the output format's range");
  }
  const double qmin = a.out_fmt.qmin(), qmax = a.out_fmt.qmax(), ozp = a.out_zero_point;
  auto run = [&](const auto* x) {
    parallel_for(a.planes, [&](int64_t p) {
      const auto* xp = x + p * a.hw;
      const int64_t c = p % a.channels, zp = a.zero_point;
      int64_t s1 = 0, s2 = 0;  // exact: |d| <= 2^16, d^2 <= 2^32, hw <= 2^28
      for (int64_t i = 0; i < a.hw; ++i) {
        const int64_t d = int64_t(xp[i]) - zp;
        s1 += d;
        s2 += d * d;
      }
      const double n = double(a.hw);
      const double mean = double(s1) / n;
      double var = double(s2) / n - mean * mean;
      if (!(var >= 0.0)) var = 0.0;
      const double gamma = a.weight ? a.weight[c] : 1.0, beta = a.bias ? a.bias[c] : 0.0;
      const double k = a.scale * gamma / std::sqrt(a.scale * a.scale * var + a.eps);
      if (a.out_codes) {
        auto emit = [&](auto* o) {
          using T = std::remove_pointer_t<decltype(o)>;
          T* op = o + p * a.hw;
          for (int64_t i = 0; i < a.hw; ++i) {
            const double y = (double(int64_t(xp[i]) - zp) - mean) * k + beta;
            op[i] = quantize_one<T>(y, a.out_scale, ozp, qmin, qmax);
          }
        };
        switch (container_dtype(a.out_fmt)) {
          case DType::i8: emit(typed<int8_t>(a.out_codes)); break;
          case DType::u8: emit(typed<uint8_t>(a.out_codes)); break;
          case DType::i16: emit(typed<int16_t>(a.out_codes)); break;
          default: emit(typed<uint16_t>(a.out_codes)); break;
        }
      } else {
        double* op = a.out_float + p * a.hw;
        for (int64_t i = 0; i < a.hw; ++i) op[i] = (double(int64_t(xp[i]) - zp) - mean) * k + beta;
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
}

void quantize_codes(const double* x, int64_t n, double scale, int32_t zero_point, IntFmt fmt, void* out) {
  check_int_fmt(fmt, "out");
  if (!(scale > 0) || !std::isfinite(scale)) fail("scale must be finite and > 0");
  if (zero_point < fmt.qmin() || zero_point > fmt.qmax()) fail("zero_point must lie in the format's range");
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) fail("x contains NaN or inf: cannot quantize");
  const double qmin = fmt.qmin(), qmax = fmt.qmax(), zp = zero_point;
  constexpr int64_t kChunk = 1 << 16;
  auto emit = [&](auto* o) {
    using T = std::remove_pointer_t<decltype(o)>;
    parallel_for((n + kChunk - 1) / kChunk, [&](int64_t b) {
      const int64_t i1 = std::min(n, (b + 1) * kChunk);
      for (int64_t i = b * kChunk; i < i1; ++i) o[i] = quantize_one<T>(x[i], scale, zp, qmin, qmax);
    });
  };
  switch (container_dtype(fmt)) {
    case DType::i8: emit(typed<int8_t>(out)); break;
    case DType::u8: emit(typed<uint8_t>(out)); break;
    case DType::i16: emit(typed<int16_t>(out)); break;
    default: emit(typed<uint16_t>(out)); break;
  }
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
