// Requantization of exact accumulators to output codes: `integer` (gemmlowp) and `torch` (fbgemm)
// modes, then ReLU or a lookup-table activation. Formulas: accelsim/formats/requant.py and
// docs/quantization.md. Arithmetic is exact (128-bit) in the integer mode; float32 in the torch mode
// (built with -ffp-contract=off: the one fused multiply-add is the explicit std::fma of fbgemm's bias).
#include <algorithm>
#include <cmath>
#include <climits>
#include <string>
#include <type_traits>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"
#include "mutants.hpp"
#include "validate.hpp"

namespace accelsim {

DType container_dtype(const IntFmt& f) {
  if (f.bits <= 8) return f.is_signed ? DType::i8 : DType::u8;
  return f.is_signed ? DType::i16 : DType::u16;
}

namespace {

using i128 = __int128;

// trunc((a*m + nudge) / 2^31), nudge = 2^30 if a*m >= 0 else 1 - 2^30: ties toward +inf (rndnu).
inline i128 srdhm_rndnu(i128 a, int64_t m) {
  const i128 ab = a * m;
  const i128 nudge = ab >= 0 ? (i128(1) << 30) - (ACCELSIM_MUTANT(2) ? 1 : 0) : 1 - (i128(1) << 30);
  return (ab + nudge) / (i128(1) << 31);  // C++ division truncates toward zero
}

// Rounding divide by 2^e, ties away from zero (rndna), e in [0, 62].
inline i128 rdpot_rndna(i128 x, int e) {
  const i128 mask = (i128(1) << e) - 1;
  const i128 remainder = x & mask;
  const i128 threshold = (mask >> 1) + (x < 0 && !ACCELSIM_MUTANT(1) ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

// gemmlowp in 64-bit arithmetic: valid when |acc| < 2^31 and shift >= 0 (the common case).
inline int32_t requant_fast(int64_t acc, int64_t m0, int s) {
  const int64_t ab = acc * m0;
  const int64_t nudge = ab >= 0 ? (int64_t(1) << 30) - (ACCELSIM_MUTANT(2) ? 1 : 0) : 1 - (int64_t(1) << 30);
  const int64_t h = (ab + nudge) / (int64_t(1) << 31);
  const int64_t mask = (int64_t(1) << s) - 1;
  const int64_t rem = h & mask, thr = (mask >> 1) + (h < 0 && !ACCELSIM_MUTANT(1) ? 1 : 0);
  return int32_t((h >> s) + (rem > thr ? 1 : 0));
}

// The ISA's vectorized row kernel for the common integer case (hot.hpp RequantRow).
inline void requant_row(const HotKernels& hk, const int32_t* a, int64_t n, const RequantRow& p, int8_t* o) {
  hk.requant_row_i8(a, n, p, o);
}
inline void requant_row(const HotKernels& hk, const int32_t* a, int64_t n, const RequantRow& p, uint8_t* o) {
  hk.requant_row_u8(a, n, p, o);
}
inline void requant_row(const HotKernels& hk, const int32_t* a, int64_t n, const RequantRow& p, int16_t* o) {
  hk.requant_row_i16(a, n, p, o);
}
inline void requant_row(const HotKernels& hk, const int32_t* a, int64_t n, const RequantRow& p, uint16_t* o) {
  hk.requant_row_u16(a, n, p, o);
}

template <class TAcc, class TOut>
void run(const RequantArgs& a, const TAcc* acc, TOut* out, int64_t C, int64_t inner) {
  const int64_t n = a.acc.numel();
  const int32_t qmin = a.out_fmt.qmin(), qmax = a.out_fmt.qmax() - (ACCELSIM_MUTANT(3) ? 1 : 0);
  const int32_t zp = ACCELSIM_MUTANT(4) ? -a.zero_point : a.zero_point;
  const int32_t* lut = static_cast<const int32_t*>(a.lut.data);
  const int64_t nparam = a.mode == RequantMode::integer ? a.m0.shape[0] : a.mult_f32.shape[0];
  const int32_t* m0 = static_cast<const int32_t*>(a.m0.data);
  const int32_t* sh = static_cast<const int32_t*>(a.shift.data);
  const float* bf = static_cast<const float*>(a.bias_f32.data);
  const float* mf = static_cast<const float*>(a.mult_f32.data);
  const float* kf = static_cast<const float*>(a.bias_mul_f32.data);
  const int64_t nk = kf ? a.bias_mul_f32.shape[0] : 0;
  const int64_t nb = a.mode == RequantMode::torch ? a.bias_f32.shape[0] : 0;
  const int64_t rows = n / std::max<int64_t>(inner, 1);  // (outer, channel) rows of `inner` elements
  const HotKernels& hk = hot();
  parallel_for((rows + 63) / 64, [&](int64_t blk) {
    const int64_t r0 = blk * 64, r1 = std::min<int64_t>(rows, r0 + 64);
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t ch = row % C, c = nparam == 1 ? 0 : ch;
      const TAcc* src = acc + row * inner;
      TOut* dst = out + row * inner;
      const int s = a.mode == RequantMode::integer ? sh[c] : 0;
      const int64_t mult = a.mode == RequantMode::integer ? m0[c] : 0;
      if constexpr (std::is_same<TAcc, int32_t>::value) {
        RequantRow p;
        if (requant_row_params(a, ch, &p)) {
          requant_row(hk, src, inner, p, dst);
          continue;
        }
      }
      for (int64_t i = 0; i < inner; ++i) {
        int32_t y;
        if (a.mode == RequantMode::integer) {
          const int64_t v = int64_t(src[i]);
          i128 r;
          if (s >= 0 && v >= INT32_MIN && v <= INT32_MAX) {
            r = i128(requant_fast(v, mult, s)) + zp;
          } else {
            const i128 vv = i128(v) * (i128(1) << (s < 0 ? -s : 0));
            r = rdpot_rndna(srdhm_rndnu(vv, mult), s > 0 ? s : 0) + zp;
          }
          y = r < qmin ? qmin : (r > qmax ? qmax : int32_t(r));
        } else {
          // fbgemm: int32 accumulator (wraps modulo 2^32), fma(bias, k, f32(acc)), times m, cvtps2dq
          const auto wrapped = int32_t(uint32_t(uint64_t(int64_t(src[i]))));
          const float k = kf ? kf[nk == 1 ? 0 : ch] : 1.0f;
          const float t = std::fma(bf[nb == 1 ? 0 : ch], k, float(wrapped));
          const float u = t * mf[c];
          const int64_t r = (u >= -2147483648.0f && u < 2147483648.0f)
                                ? int64_t(ACCELSIM_MUTANT(6) ? std::round(u) : std::nearbyint(u))
                                : int64_t(INT32_MIN);   // x86 "integer indefinite" (NaN, out of range)
          const int64_t v = r + zp;
          y = v < qmin ? qmin : (v > qmax ? qmax : int32_t(v));
        }
        if (a.act == Activation::relu) y = y < zp ? zp : y;
        else if (a.act == Activation::lut) y = lut[y - qmin];
        dst[i] = TOut(y);
      }
    }
  });
}

template <class TAcc>
void dispatch_out(const RequantArgs& a, const TAcc* acc, void* out, int64_t C, int64_t inner) {
  switch (container_dtype(a.out_fmt)) {
    case DType::i8: run(a, acc, static_cast<int8_t*>(out), C, inner); break;
    case DType::u8: run(a, acc, static_cast<uint8_t*>(out), C, inner); break;
    case DType::i16: run(a, acc, static_cast<int16_t*>(out), C, inner); break;
    default: run(a, acc, static_cast<uint16_t*>(out), C, inner); break;
  }
}

}  // namespace

bool requant_row_params(const RequantArgs& a, int64_t ch, RequantRow* p) {
  if (a.mode != RequantMode::integer || a.act == Activation::lut) return false;
  const int64_t c = a.m0.shape[0] == 1 ? 0 : ch;
  const int s = static_cast<const int32_t*>(a.shift.data)[c];
  if (s < 0) return false;
  const int32_t qmin = a.out_fmt.qmin(), qmax = a.out_fmt.qmax() - (ACCELSIM_MUTANT(3) ? 1 : 0);
  const int32_t zp = ACCELSIM_MUTANT(4) ? -a.zero_point : a.zero_point;
  const int32_t lo = a.act == Activation::relu ? std::max(qmin, zp) : qmin;
  *p = RequantRow{static_cast<const int32_t*>(a.m0.data)[c], s, zp, lo, qmax};
  return true;
}

void requant_row_run(const RequantRow& p, const int32_t* acc, int64_t n, DType out, void* dst) {
  const HotKernels& hk = hot();
  switch (out) {
    case DType::i8: return requant_row(hk, acc, n, p, static_cast<int8_t*>(dst));
    case DType::u8: return requant_row(hk, acc, n, p, static_cast<uint8_t*>(dst));
    case DType::i16: return requant_row(hk, acc, n, p, static_cast<int16_t*>(dst));
    case DType::u16: return requant_row(hk, acc, n, p, static_cast<uint16_t*>(dst));
    default: fail("internal: requant_row_run needs an int8/uint8/int16/uint16 output");
  }
}

void requantize(const RequantArgs& a, void* out) {
  if (a.acc.ndim < 1 || a.acc.ndim > 4) fail("acc must have rank 1..4, got " + std::to_string(a.acc.ndim));
  require_tensor(a.acc, "acc", a.acc.ndim, {DType::i32, DType::i64});
  check_int_fmt(a.out_fmt, "out");
  const int32_t qmin = a.out_fmt.qmin(), qmax = a.out_fmt.qmax();
  if (a.zero_point < qmin || a.zero_point > qmax)
    fail("zero_point must lie in [" + std::to_string(qmin) + ", " + std::to_string(qmax) + "], got " + std::to_string(a.zero_point));
  const int axis = a.acc.ndim == 1 ? 0 : 1;
  const int64_t C = a.acc.shape[axis];
  int64_t inner = 1;
  for (int i = axis + 1; i < a.acc.ndim; ++i) inner *= a.acc.shape[i];
  auto check_count = [&](const TensorView& t, const char* name) {
    if (t.shape[0] != 1 && t.shape[0] != C)
      fail(std::string(name) + " must have 1 or " + std::to_string(C) + " entries, got " + std::to_string(t.shape[0]));
  };
  if (a.mode == RequantMode::integer) {
    require_tensor(a.m0, "m0", 1, {DType::i32});
    require_tensor(a.shift, "shift", 1, {DType::i32});
    check_count(a.m0, "m0");
    if (a.shift.shape[0] != a.m0.shape[0]) fail("shift must have as many entries as m0");
    const int32_t* m0 = static_cast<const int32_t*>(a.m0.data);
    const int32_t* sh = static_cast<const int32_t*>(a.shift.data);
    for (int64_t i = 0; i < a.m0.shape[0]; ++i) {
      if (!(m0[i] == 0 || m0[i] >= (1 << 30))) fail("m0 must be 0 or in [2^30, 2^31), got " + std::to_string(m0[i]));
      if (sh[i] < -31 || sh[i] > 62) fail("shift must be in [-31, 62], got " + std::to_string(sh[i]));
    }
  } else if (a.mode == RequantMode::torch) {
    require_tensor(a.bias_f32, "bias_f32", 1, {DType::f32});
    require_tensor(a.mult_f32, "mult_f32", 1, {DType::f32});
    check_count(a.mult_f32, "mult_f32");
    check_count(a.bias_f32, "bias_f32");
    const float* bf = static_cast<const float*>(a.bias_f32.data);
    const float* mf = static_cast<const float*>(a.mult_f32.data);
    for (int64_t i = 0; i < a.mult_f32.shape[0]; ++i)
      if (!std::isfinite(mf[i]) || mf[i] < 0.0f || mf[i] > 1e30f) fail("mult_f32 must be finite, in [0, 1e30]");
    for (int64_t i = 0; i < a.bias_f32.shape[0]; ++i)
      if (!std::isfinite(bf[i]) || std::fabs(bf[i]) > 1e30f) fail("bias_f32 must be finite, |b| <= 1e30");
    if (a.bias_mul_f32.data) {
      require_tensor(a.bias_mul_f32, "bias_mul_f32", 1, {DType::f32});
      check_count(a.bias_mul_f32, "bias_mul_f32");
      const float* kf = static_cast<const float*>(a.bias_mul_f32.data);
      for (int64_t i = 0; i < a.bias_mul_f32.shape[0]; ++i)
        if (!std::isfinite(kf[i]) || std::fabs(kf[i]) > 1e30f) fail("bias_mul_f32 must be finite, |k| <= 1e30");
    }
  } else {
    fail("mode must be integer or torch");
  }
  if (a.act == Activation::lut) {
    require_tensor(a.lut, "lut", 1, {DType::i32});
    if (a.lut.shape[0] != int64_t(qmax) - qmin + 1)
      fail("lut must have qmax - qmin + 1 = " + std::to_string(int64_t(qmax) - qmin + 1) + " entries, got " + std::to_string(a.lut.shape[0]));
    check_codes(a.lut, qmin, qmax, "lut");
  } else if (a.act != Activation::none && a.act != Activation::relu) {
    fail("activation must be none, relu or lut");
  }
  if (!out && a.acc.numel() > 0) fail("output pointer is null");
  if (a.acc.dtype == DType::i32) dispatch_out(a, static_cast<const int32_t*>(a.acc.data), out, C, inner);
  else dispatch_out(a, static_cast<const int64_t*>(a.acc.data), out, C, inner);
}

}  // namespace accelsim
