// AVX2 hot loops: compiled for avx2/fma/popcnt with a target pragma, selected at run time only on
// CPUs that support them (core.cpp). Standard headers are included before the pragma.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "accelsim/hot.hpp"
#include "mutants.hpp"  // test builds only (hot_generic.inc)

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx2,fma,popcnt,bmi,bmi2")

namespace accelsim {
namespace hot_avx2_ns {
#include "hot_generic.inc"

constexpr int kMR = 6, kNR16 = 16, kNR8 = 32;  // tiles: 6x16 (s16), 6x32 (u8s8); xnor: the generic 4x4
static_assert(kMR * kNR8 <= kMaxTileElems, "tile buffer");

// Two int16 (or two int8) codes read as one int32 (int16) broadcast word: memcpy, not a pointer cast
// (no strict-aliasing UB; compiles to one load).
static inline int32_t pair_i32(const int16_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
static inline int16_t pair_i16(const int8_t* p) {
  int16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}

// 6x16 int32 tile: per k-pair, 2 B loads, 6 pair broadcasts, 12 vpmaddwd + 12 vpaddd.
static void ukr_s16(const int16_t* a, const int16_t* b, int64_t kpairs, int32_t* c, int64_t ldc) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t kp = 0; kp < kpairs; ++kp) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
    __m256i av;
    av = _mm256_set1_epi32(pair_i32(a + 0)); c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(av, b0)); c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(av, b1));
    av = _mm256_set1_epi32(pair_i32(a + 2)); c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(av, b0)); c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(av, b1));
    av = _mm256_set1_epi32(pair_i32(a + 4)); c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(av, b0)); c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(av, b1));
    av = _mm256_set1_epi32(pair_i32(a + 6)); c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(av, b0)); c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(av, b1));
    av = _mm256_set1_epi32(pair_i32(a + 8)); c40 = _mm256_add_epi32(c40, _mm256_madd_epi16(av, b0)); c41 = _mm256_add_epi32(c41, _mm256_madd_epi16(av, b1));
    av = _mm256_set1_epi32(pair_i32(a + 10)); c50 = _mm256_add_epi32(c50, _mm256_madd_epi16(av, b0)); c51 = _mm256_add_epi32(c51, _mm256_madd_epi16(av, b1));
    a += 2 * kMR;
    b += 2 * kNR16;
  }
  auto st = [&](int m, __m256i lo, __m256i hi) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + m * ldc), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + m * ldc + 8), hi);
  };
  st(0, c00, c01); st(1, c10, c11); st(2, c20, c21); st(3, c30, c31); st(4, c40, c41); st(5, c50, c51);
}

// Adds the 16 int16 lanes of v (columns n0..n0+15) to int32 row r of c.
static inline void widen_add(int32_t* row, __m256i v) {
  const __m256i lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(v));
  const __m256i hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(v, 1));
  __m256i* p0 = reinterpret_cast<__m256i*>(row);
  __m256i* p1 = reinterpret_cast<__m256i*>(row + 8);
  _mm256_storeu_si256(p0, _mm256_add_epi32(_mm256_loadu_si256(p0), lo));
  _mm256_storeu_si256(p1, _mm256_add_epi32(_mm256_loadu_si256(p1), hi));
}

// 6x32 tile: per k-pair, 2 B loads (32 columns x 2 k as uint8), 6 int8-pair broadcasts,
// 12 vpmaddubsw + 12 vpaddw into int16; every `flush` k-pairs the int16 sums are widened into c.
static void ukr_u8s8(const int8_t* a, const uint8_t* b, int64_t kpairs, int64_t flush, int32_t* c, int64_t ldc) {
  for (int m = 0; m < kMR; ++m)
    for (int n = 0; n < kNR8; ++n) c[m * ldc + n] = 0;
  for (int64_t k0 = 0; k0 < kpairs; k0 += flush) {
    const int64_t k1 = k0 + flush < kpairs ? k0 + flush : kpairs;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const int8_t* ak = a + k0 * 2 * kMR;
    const uint8_t* bk = b + k0 * 2 * kNR8;
    for (int64_t kp = k0; kp < k1; ++kp) {
      const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bk));
      const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bk + 32));
      __m256i av;
      av = _mm256_set1_epi16(pair_i16(ak + 0)); c00 = _mm256_add_epi16(c00, _mm256_maddubs_epi16(b0, av)); c01 = _mm256_add_epi16(c01, _mm256_maddubs_epi16(b1, av));
      av = _mm256_set1_epi16(pair_i16(ak + 2)); c10 = _mm256_add_epi16(c10, _mm256_maddubs_epi16(b0, av)); c11 = _mm256_add_epi16(c11, _mm256_maddubs_epi16(b1, av));
      av = _mm256_set1_epi16(pair_i16(ak + 4)); c20 = _mm256_add_epi16(c20, _mm256_maddubs_epi16(b0, av)); c21 = _mm256_add_epi16(c21, _mm256_maddubs_epi16(b1, av));
      av = _mm256_set1_epi16(pair_i16(ak + 6)); c30 = _mm256_add_epi16(c30, _mm256_maddubs_epi16(b0, av)); c31 = _mm256_add_epi16(c31, _mm256_maddubs_epi16(b1, av));
      av = _mm256_set1_epi16(pair_i16(ak + 8)); c40 = _mm256_add_epi16(c40, _mm256_maddubs_epi16(b0, av)); c41 = _mm256_add_epi16(c41, _mm256_maddubs_epi16(b1, av));
      av = _mm256_set1_epi16(pair_i16(ak + 10)); c50 = _mm256_add_epi16(c50, _mm256_maddubs_epi16(b0, av)); c51 = _mm256_add_epi16(c51, _mm256_maddubs_epi16(b1, av));
      ak += 2 * kMR;
      bk += 2 * kNR8;
    }
    widen_add(c + 0 * ldc, c00); widen_add(c + 0 * ldc + 16, c01);
    widen_add(c + 1 * ldc, c10); widen_add(c + 1 * ldc + 16, c11);
    widen_add(c + 2 * ldc, c20); widen_add(c + 2 * ldc + 16, c21);
    widen_add(c + 3 * ldc, c30); widen_add(c + 3 * ldc + 16, c31);
    widen_add(c + 4 * ldc, c40); widen_add(c + 4 * ldc + 16, c41);
    widen_add(c + 5 * ldc, c50); widen_add(c + 5 * ldc + 16, c51);
  }
}


// Integer requantization row (hot.hpp RequantRow), bit for bit requant_row_generic, 8 lanes per step
// (AVX2 has no 64-bit arithmetic shift, so unlike hot_avx512.cpp the rounding shift runs on int32):
//   ab = acc * m0 by vpmuldq (signed 32x32 -> 64) on the even lanes and on the odd lanes shifted down;
//   h = (ab + 2^30) >> 31, the generic trunc((ab + nudge) / 2^31) (hot_avx512.cpp requant_row shows
//       why); |h| < 2^31 (m0 != INT32_MIN), so the even lanes' t >> 31 (low half) and the odd lanes'
//       t << 1 (high half) blend into 8 int32 lanes;
//   r = (h >> s) + ((h & mask) > half + (h < 0)) on int32 lanes (vpcmpgtd gives -1 where it rounds
//       up): for s <= 31, mask = 2^s - 1 and half fit int32 and h & mask is the generic int64 value;
//   clamp to [lo - zp, hi - zp], + zp, and a truncating narrow (vpshufb + vpermd keep the low byte /
//       half of each lane: TOut(r + zp)).
// The last n % 8 elements, shifts above 31, m0 = INT32_MIN and clamp bounds outside int32 take the
// generic loop.
// Mutants 1 and 2 (mutants.hpp) change the same two quantities as in the generic one.
template <class TOut>
static void requant_row(const int32_t* __restrict acc, int64_t n, const RequantRow& p, TOut* __restrict out) {
  const int s = p.shift;
  const int64_t lo = int64_t(p.lo) - p.zp, hi = int64_t(p.hi) - p.zp;
  if (s > 31 || p.m0 == INT32_MIN || lo != int64_t(int32_t(lo)) || hi != int64_t(int32_t(hi)))
    return requant_row_generic(acc, n, p, out);
  const bool m1 = ACCELSIM_MUTANT(1), m2 = ACCELSIM_MUTANT(2);
  const __m256i vm0 = _mm256_set1_epi64x(p.m0), vnudge = _mm256_set1_epi64x(int64_t(1) << 30);
  const __m256i vmask = _mm256_set1_epi32(int32_t((int64_t(1) << s) - 1));
  const __m256i vhalf = _mm256_set1_epi32(int32_t(((int64_t(1) << s) - 1) >> 1));
  const __m256i vlo = _mm256_set1_epi32(int32_t(lo)), vhi = _mm256_set1_epi32(int32_t(hi));
  const __m256i vzp = _mm256_set1_epi32(p.zp), one64 = _mm256_set1_epi64x(1), zero = _mm256_setzero_si256();
  const __m128i vs = _mm_cvtsi32_si128(s);
  // low byte (int8) or low two bytes (int16) of each int32 lane to the front of its 128-bit half, then
  // the two halves' packed parts next to each other
  const __m256i pick = sizeof(TOut) == 1
                           ? _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                              0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1)
                           : _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1,
                                              0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i join = sizeof(TOut) == 1 ? _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0)
                                         : _mm256_setr_epi32(0, 1, 4, 5, 0, 0, 0, 0);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + i));
    const __m256i pe = _mm256_mul_epi32(a, vm0), po = _mm256_mul_epi32(_mm256_srli_epi64(a, 32), vm0);
    __m256i te = _mm256_add_epi64(pe, vnudge), to = _mm256_add_epi64(po, vnudge);
    if (m2) {  // nudge 2^30 - 1 where ab >= 0
      te = _mm256_sub_epi64(te, _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, pe), one64));
      to = _mm256_sub_epi64(to, _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, po), one64));
    }
    const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(te, 31), _mm256_slli_epi64(to, 1), 0xAA);
    const __m256i thr = m1 ? vhalf : _mm256_sub_epi32(vhalf, _mm256_srai_epi32(h, 31));
    const __m256i up = _mm256_cmpgt_epi32(_mm256_and_si256(h, vmask), thr);
    __m256i r = _mm256_sub_epi32(_mm256_sra_epi32(h, vs), up);
    r = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(r, vlo), vhi), vzp);
    const __m128i packed = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(r, pick), join));
    if constexpr (sizeof(TOut) == 1) _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), packed);
    else _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), packed);
  }
  if (i < n) requant_row_generic(acc + i, n - i, p, out + i);
}

// ---- instance norm and quantization rows (contracts: hot.hpp; the quantize proof: hot_generic.inc) ----

// s = {sum x, sum x^2, min x, max x} of int16 codes (as hot_avx512.cpp's: vpmaddwd pairs, x + x' in
// int32 lanes for at most 2^14 vectors, x^2 + x'^2 <= 2^31 read as uint32 into int64 lanes); scalar tail.
static void plane_sums_i16(const int16_t* x, int64_t n, int64_t* s) {
  const __m256i ones = _mm256_set1_epi16(1), lo32 = _mm256_set1_epi64x(0xFFFFFFFFll);
  __m256i s1 = _mm256_setzero_si256(), s2 = s1, a1 = s1;
  __m256i vmin = _mm256_set1_epi16(32767), vmax = _mm256_set1_epi16(-32768);
  int64_t i = 0, since = 0;
  auto widen = [&] {  // int32 lanes of a1 into s1 (int64 lanes), sign-extended
    s1 = _mm256_add_epi64(s1, _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(a1)),
                                                _mm256_cvtepi32_epi64(_mm256_extracti128_si256(a1, 1))));
    a1 = _mm256_setzero_si256();
    since = 0;
  };
  for (; i + 16 <= n; i += 16) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    vmin = _mm256_min_epi16(vmin, v);
    vmax = _mm256_max_epi16(vmax, v);
    a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(v, ones));
    const __m256i q = _mm256_madd_epi16(v, v);
    s2 = _mm256_add_epi64(s2, _mm256_add_epi64(_mm256_and_si256(q, lo32), _mm256_srli_epi64(q, 32)));
    if (++since == (1 << 14)) widen();
  }
  widen();
  alignas(32) int64_t t1[4], t2[4];
  alignas(32) int16_t tmin[16], tmax[16];
  _mm256_store_si256(reinterpret_cast<__m256i*>(t1), s1);
  _mm256_store_si256(reinterpret_cast<__m256i*>(t2), s2);
  _mm256_store_si256(reinterpret_cast<__m256i*>(tmin), vmin);
  _mm256_store_si256(reinterpret_cast<__m256i*>(tmax), vmax);
  int64_t r1 = t1[0] + t1[1] + t1[2] + t1[3], r2 = t2[0] + t2[1] + t2[2] + t2[3], lo = 32767, hi = -32768;
  for (int j = 0; j < 16; ++j) {
    lo = tmin[j] < lo ? tmin[j] : lo;
    hi = tmax[j] > hi ? tmax[j] : hi;
  }
  for (; i < n; ++i) {
    const int64_t v = x[i];
    r1 += v;
    r2 += v * v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  s[0] = r1;
  s[1] = r2;
  s[2] = lo;
  s[3] = hi;
}

// norm_codes_i16_*: 8 values per step in float32 (a * d + b, one fma, rint), the values outside the
// acceptance bound redone the double way; the tail (< 8 values) the double way.
template <class T>
static void norm_codes_i16(const int16_t* x, int64_t n, const NormCodesRow& p, T* out) {
  if (!(p.cut > 0)) return norm_codes_i16_generic<T>(x, n, p, out);
  const __m256i vzp = _mm256_set1_epi32(p.zp), vozp = _mm256_set1_epi32(p.ozp);
  const __m256i vlo = _mm256_set1_epi32(p.lo), vhi = _mm256_set1_epi32(p.hi);
  const __m256 va = _mm256_set1_ps(p.a), vb = _mm256_set1_ps(p.b), vcut = _mm256_set1_ps(p.cut);
  const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i d = _mm256_sub_epi32(
        _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))), vzp);
    const __m256 t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), va, vb);
    const __m256 r = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 ok = _mm256_cmp_ps(_mm256_and_ps(_mm256_sub_ps(t, r), absm), vcut, _CMP_LT_OQ);
    __m256i q = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(r), vozp), vlo), vhi);
    const int okm = _mm256_movemask_ps(ok);
    alignas(32) int32_t qs[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(qs), q);
    if (okm != 0xFF)
      for (int j = 0; j < 8; ++j)
        if (!((okm >> j) & 1)) qs[j] = norm_code_exact(x[i + j], p);
    for (int j = 0; j < 8; ++j) out[i + j] = T(qs[j]);
  }
  norm_codes_i16_generic<T>(x + i, n - i, p, out + i);
}

// y = (double(x - zp) - mean) * k + beta (+ r), 4 lanes at a time, one IEEE operation each; scalar tail.
template <bool kR>
static bool norm_row_i16_t(const int16_t* x, int64_t n, int32_t zp, double mean, double k, double beta,
                           const double* r, double* y) {
  const __m128i vzp = _mm_set1_epi32(zp);
  const __m256d vmean = _mm256_set1_pd(mean), vk = _mm256_set1_pd(k), vb = _mm256_set1_pd(beta);
  const __m256d vmax = _mm256_set1_pd(1.7976931348623157e308);
  const __m256d absm = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFll));
  __m256d fin = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    int64_t raw;
    __builtin_memcpy(&raw, x + i, 8);
    const __m128i d = _mm_sub_epi32(_mm_cvtepi16_epi32(_mm_cvtsi64_si128(raw)), vzp);
    __m256d v = _mm256_add_pd(_mm256_mul_pd(_mm256_sub_pd(_mm256_cvtepi32_pd(d), vmean), vk), vb);
    if constexpr (kR) v = _mm256_add_pd(v, _mm256_loadu_pd(r + i));
    fin = _mm256_and_pd(fin, _mm256_cmp_pd(_mm256_and_pd(v, absm), vmax, _CMP_LE_OQ));
    _mm256_storeu_pd(y + i, v);
  }
  bool ok = _mm256_movemask_pd(fin) == 0xF;
  for (; i < n; ++i) {
    double v = (double(int32_t(x[i]) - zp) - mean) * k + beta;
    if constexpr (kR) v = v + r[i];
    y[i] = v;
    ok &= __builtin_fabs(v) <= 1.7976931348623157e308;
  }
  return ok;
}

static bool norm_row_i16(const int16_t* x, int64_t n, int32_t zp, double mean, double k, double beta, const double* r,
                         double* y) {
  return r ? norm_row_i16_t<true>(x, n, zp, mean, k, beta, r, y) : norm_row_i16_t<false>(x, n, zp, mean, k, beta, r, y);
}

// fixed.quantize of 4 lanes at a time, multiplying by 1 / scale and dividing only the lanes the
// hot_generic.inc bound does not clear; the tail (< 4 values) by quantize_row_generic.
template <class TOut>
static void quantize_row_fast(const double* y, int64_t n, double scale, double zp, double qmin, double qmax, TOut* out) {
  if (!(scale >= kQuantScaleMin && scale <= kQuantScaleMax))
    return quantize_row_generic<TOut>(y, n, scale, zp, qmin, qmax, out);
  const __m256d inv = _mm256_set1_pd(1.0 / scale), vs = _mm256_set1_pd(scale);
  const __m256d tlo = _mm256_set1_pd(-kQuantClampT), thi = _mm256_set1_pd(kQuantClampT);
  const __m256d accept = _mm256_set1_pd(kQuantAccept), vzp = _mm256_set1_pd(zp);
  const __m256d lo = _mm256_set1_pd(qmin), hi = _mm256_set1_pd(qmax);
  const __m256d absm = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFll));
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d v = _mm256_loadu_pd(y + i);
    const __m256d t = _mm256_min_pd(_mm256_max_pd(_mm256_mul_pd(v, inv), tlo), thi);
    __m256d r = _mm256_round_pd(t, kRound);
    const __m256d ok = _mm256_cmp_pd(_mm256_and_pd(_mm256_sub_pd(t, r), absm), accept, _CMP_LT_OQ);
    if (_mm256_movemask_pd(ok) != 0xF) r = _mm256_blendv_pd(_mm256_round_pd(_mm256_div_pd(v, vs), kRound), r, ok);
    const __m128i qi = _mm256_cvttpd_epi32(_mm256_min_pd(_mm256_max_pd(_mm256_add_pd(r, vzp), lo), hi));
    // every value lies in [qmin, qmax], inside TOut's range: the packs below never saturate
    if constexpr (sizeof(TOut) == 1) {
      const __m128i w = _mm_packs_epi32(qi, qi);
      const __m128i b = std::is_signed<TOut>::value ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
      const int32_t word = _mm_cvtsi128_si32(b);
      __builtin_memcpy(out + i, &word, 4);
    } else {
      const __m128i w = std::is_signed<TOut>::value ? _mm_packs_epi32(qi, qi) : _mm_packus_epi32(qi, qi);
      const int64_t word = _mm_cvtsi128_si64(w);
      __builtin_memcpy(out + i, &word, 8);
    }
  }
  quantize_row_generic<TOut>(y + i, n - i, scale, zp, qmin, qmax, out + i);
}

}  // namespace hot_avx2_ns
}  // namespace accelsim

#pragma GCC pop_options

namespace accelsim {
const HotKernels* hot_avx2() {
  using namespace hot_avx2_ns;
  static const HotKernels k{
      /*s16=*/{kMR, kNR16, 2}, /*u8s8=*/{kMR, kNR8, 2}, /*xnor=*/{4, 4, 1}, /*u8s8_int16_sums=*/true,
      ukr_s16, ukr_u8s8, ukr_xnor_generic<4, 4>,
      gemm_s32_s64_generic, xor_popcount_rows_generic, add_row_s32_generic, interleave2_s32_generic,
      pack_signs_block_generic,
      max_abs_s64_generic, round_s64_s16_generic, compact_s64_generic,
      requant_row<int8_t>, requant_row<uint8_t>, requant_row<int16_t>, requant_row<uint16_t>,
      /*direct_row_u8s8=*/nullptr, plane_sums_i16,
      normalize_row_s32_generic, norm_row_i16, norm_codes_i16<uint8_t>, norm_codes_i16<uint16_t>,
      quantize_row_fast<int8_t>, quantize_row_fast<uint8_t>, quantize_row_fast<int16_t>,
      quantize_row_fast<uint16_t>, store_strided_s32_generic,
      /*tile_begin=*/nullptr, hash_bytes_generic, /*ukr_u8s8_implicit=*/nullptr,
      /*xnor_conv=*/{8, 16, 1}, ukr_xnor_conv_generic<8, 16>, pack_signs_f64_block_generic, xnor_row_f64_generic,
      dense_u8s8_generic, store_strided_codes_generic};
  return &k;
}
}  // namespace accelsim
#else
namespace accelsim {
const HotKernels* hot_avx2() { return nullptr; }
}  // namespace accelsim
#endif
