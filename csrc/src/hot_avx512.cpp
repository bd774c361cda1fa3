// AVX-512 hot loops (F/BW/VL/DQ + VNNI + VPOPCNTDQ): compiled with a target pragma, selected at run
// time only on CPUs that support all of them (core.cpp). Standard headers are included before the
// pragma. Contracts: accelsim/hot.hpp.
#include <cstdint>
#include <cstring>

#include "accelsim/hot.hpp"
#include "mutants.hpp"  // test builds only (hot_generic.inc)

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vpopcntdq,avx2,fma,popcnt,bmi,bmi2")
// GCC 12 warns about the intrinsic headers' own undefined-vector placeholders (false positives).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace accelsim {
namespace hot_avx512_ns {
#include "hot_generic.inc"

constexpr int kMR = 8, kNR = 32;    // s16 / u8s8 tile: 8 rows x 32 int32 columns (2 zmm per row)
constexpr int kMRX = 6, kNRX = 32;  // xnor tile: 6 rows x 32 columns (4 zmm of int64 per row)
static_assert(kMR * kNR <= kMaxTileElems && kMRX * kNRX <= kMaxTileElems, "tile buffer");

static inline int32_t load_i32(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

// 8x32 int32 tile over k-groups of 4 bytes per row / column: u8s8 (kg = 4: uint8 B quads x int8 A
// quads, vpdpbusd) or s16 (kg = 2: int16 pairs x int16 pairs, vpdpwssd). Both sum straight into
// int32 lanes (no intermediate saturation): exact whenever every partial sum fits int32.
// Per k-group: 2 B loads (32 columns x 4 bytes), 8 four-byte A broadcasts, 16 dot-product FMAs.
template <bool kS16>
static inline void ukr_8x32(const uint8_t* a, const uint8_t* b, int64_t kgroups, int32_t* c, int64_t ldc) {
  __m512i acc[kMR][2];
#pragma GCC unroll 8
  for (int m = 0; m < kMR; ++m) acc[m][0] = acc[m][1] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kgroups; ++k) {
    const __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 64);
#pragma GCC unroll 8
    for (int m = 0; m < kMR; ++m) {
      const __m512i av = _mm512_set1_epi32(load_i32(a + 4 * m));
      if constexpr (kS16) {
        acc[m][0] = _mm512_dpwssd_epi32(acc[m][0], av, b0);
        acc[m][1] = _mm512_dpwssd_epi32(acc[m][1], av, b1);
      } else {  // vpdpbusd: first source unsigned bytes (B), second signed bytes (A)
        acc[m][0] = _mm512_dpbusd_epi32(acc[m][0], b0, av);
        acc[m][1] = _mm512_dpbusd_epi32(acc[m][1], b1, av);
      }
    }
    a += 4 * kMR;
    b += 4 * kNR;
  }
#pragma GCC unroll 8
  for (int m = 0; m < kMR; ++m) {
    _mm512_storeu_si512(c + m * ldc, acc[m][0]);
    _mm512_storeu_si512(c + m * ldc + 16, acc[m][1]);
  }
}

static void ukr_s16(const int16_t* a, const int16_t* b, int64_t kgroups, int32_t* c, int64_t ldc) {
  ukr_8x32<true>(reinterpret_cast<const uint8_t*>(a), reinterpret_cast<const uint8_t*>(b), kgroups, c, ldc);
}

static void ukr_u8s8(const int8_t* a, const uint8_t* b, int64_t kgroups, int64_t, int32_t* c, int64_t ldc) {
  ukr_8x32<false>(reinterpret_cast<const uint8_t*>(a), b, kgroups, c, ldc);
}

// 6x32 XNOR-popcount tile, one 64-bit word per k: lanes are columns (8 per zmm), each A word is
// broadcast; per k: 4 B loads, 6 broadcasts, 24 x (vpxorq, vpopcntq, vpaddq) into int64 lanes.
static void ukr_xnor(const uint64_t* a, const uint64_t* b, int64_t kgroups, int32_t* c, int64_t ldc) {
  __m512i acc[kMRX][4];
#pragma GCC unroll 6
  for (int m = 0; m < kMRX; ++m) acc[m][0] = acc[m][1] = acc[m][2] = acc[m][3] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kgroups; ++k) {
    __m512i bv[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) bv[v] = _mm512_loadu_si512(b + 8 * v);
#pragma GCC unroll 6
    for (int m = 0; m < kMRX; ++m) {
      const __m512i av = _mm512_set1_epi64(static_cast<long long>(a[m]));
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v)
        acc[m][v] = _mm512_add_epi64(acc[m][v], _mm512_popcnt_epi64(_mm512_xor_si512(av, bv[v])));
    }
    a += kMRX;
    b += kNRX;
  }
#pragma GCC unroll 6
  for (int m = 0; m < kMRX; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + m * ldc + 8 * v), _mm512_cvtepi64_epi32(acc[m][v]));
}

// Per output channel: the taps' words in masked chunks of 8 (vpxorq + vpopcntq), one horizontal sum.
static void xor_popcount_rows(const uint64_t* const* x_rows, const int64_t* w_off, int64_t taps, const uint64_t* w,
                              int64_t w_co_stride, int64_t n_co, int64_t words, int64_t* popc) {
  for (int64_t co = 0; co < n_co; ++co) {
    const uint64_t* wc = w + co * w_co_stride;
    __m512i acc = _mm512_setzero_si512();
    for (int64_t t = 0; t < taps; ++t) {
      const uint64_t* xa = x_rows[t];
      const uint64_t* wb = wc + w_off[t];
      for (int64_t i = 0; i < words; i += 8) {
        const __mmask8 m = words - i >= 8 ? __mmask8(0xFF) : __mmask8((1u << (words - i)) - 1);
        const __m512i v = _mm512_xor_si512(_mm512_maskz_loadu_epi64(m, xa + i), _mm512_maskz_loadu_epi64(m, wb + i));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(v));
      }
    }
    popc[co] = _mm512_reduce_add_epi64(acc);
  }
}

// Chunks of 16 lanes, the tail through a lane mask.
static void add_row_s32(const int32_t* src, int64_t n, int32_t mul, int32_t add, const int32_t* mask, int32_t* dst) {
  const __m512i vmul = _mm512_set1_epi32(mul), vadd = _mm512_set1_epi32(add);
  auto term = [&](__m512i v, __m512i mk) {  // (add + mul * v) & mask, mul = 1 and -2 without a multiply
    if (mul == 1) v = _mm512_add_epi32(vadd, v);
    else if (mul == -2) v = _mm512_sub_epi32(vadd, _mm512_slli_epi32(v, 1));
    else v = _mm512_add_epi32(vadd, _mm512_mullo_epi32(vmul, v));
    return mask ? _mm512_and_si512(v, mk) : v;
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i mk = mask ? _mm512_loadu_si512(mask + i) : vadd;
    const __m512i v = term(_mm512_loadu_si512(src + i), mk);
    _mm512_storeu_si512(dst + i, _mm512_add_epi32(_mm512_loadu_si512(dst + i), v));
  }
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    const __m512i mk = mask ? _mm512_maskz_loadu_epi32(m, mask + i) : vadd;
    const __m512i v = term(_mm512_maskz_loadu_epi32(m, src + i), mk);
    _mm512_mask_storeu_epi32(dst + i, m, _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, dst + i), v));
  }
}

// 16 pairs per step: two vpermt2d interleave a and b into 32 consecutive outputs.
static void interleave2_s32(const int32_t* a, const int32_t* b, int64_t ld_src, int64_t rows, int64_t n, int32_t add,
                            int32_t* dst, int64_t ld_dst) {
  const __m512i vadd = _mm512_set1_epi32(add);
  const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  for (int64_t r = 0; r < rows; ++r, a += ld_src, b += ld_src, dst += ld_dst) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m512i va = _mm512_add_epi32(vadd, _mm512_loadu_si512(a + i));
      const __m512i vb = _mm512_add_epi32(vadd, _mm512_loadu_si512(b + i));
      _mm512_storeu_si512(dst + 2 * i, _mm512_permutex2var_epi32(va, lo, vb));
      _mm512_storeu_si512(dst + 2 * i + 16, _mm512_permutex2var_epi32(va, hi, vb));
    }
    if (i < n) {  // tail: lane masks
      const uint32_t cnt = uint32_t(n - i), clo = cnt < 8 ? cnt : 8, chi = cnt - clo;
      const __mmask16 m = __mmask16((1u << cnt) - 1);
      const __m512i va = _mm512_add_epi32(vadd, _mm512_maskz_loadu_epi32(m, a + i));
      const __m512i vb = _mm512_add_epi32(vadd, _mm512_maskz_loadu_epi32(m, b + i));
      _mm512_mask_storeu_epi32(dst + 2 * i, __mmask16((1u << (2 * clo)) - 1),
                               _mm512_permutex2var_epi32(va, lo, vb));
      if (chi)
        _mm512_mask_storeu_epi32(dst + 2 * i + 16, __mmask16((1u << (2 * chi)) - 1),
                                 _mm512_permutex2var_epi32(va, hi, vb));
    }
  }
}

// Stride 2 (else the generic copy): per 32 byte codes (16 int16 codes), one zero extension to 16-bit
// (32-bit) lanes puts each code at an even element of the destination's 64 bytes, and one masked
// store (every even element) writes those alone. Tails through load and store masks.
template <class T>  // uint8_t or uint16_t codes
static void store_every_other(const T* s, int64_t n, T* d) {
  constexpr int64_t V = 32 / int64_t(sizeof(T));  // codes per 256-bit load
  const auto widen = [](__m256i v) {
    if constexpr (sizeof(T) == 1) return _mm512_cvtepu8_epi16(v);
    else return _mm512_cvtepu16_epi32(v);
  };
  const auto store = [&](int64_t i, uint64_t lanes, __m512i v) {  // the even elements of d + 2i's first lanes
    if constexpr (sizeof(T) == 1) _mm512_mask_storeu_epi8(d + 2 * i, __mmask64(0x5555555555555555ull & lanes), v);
    else _mm512_mask_storeu_epi16(d + 2 * i, __mmask32(0x55555555u & lanes), v);
  };
  int64_t i = 0;
  for (; i + V <= n; i += V) store(i, ~0ull, widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i))));
  if (i < n) {
    const uint64_t cnt = uint64_t(n - i);  // < V
    __m256i v;
    if constexpr (sizeof(T) == 1) v = _mm256_maskz_loadu_epi8(__mmask32((1ull << cnt) - 1), s + i);
    else v = _mm256_maskz_loadu_epi16(__mmask16((1u << cnt) - 1), s + i);
    store(i, (1ull << (2 * cnt)) - 1, widen(v));
  }
}

static void store_strided_codes(const void* src, int64_t n, int64_t size, void* dst, int64_t stride) {
  if (stride != 2 || (size != 1 && size != 2)) return store_strided_codes_generic(src, n, size, dst, stride);
  if (size == 1) return store_every_other(static_cast<const uint8_t*>(src), n, static_cast<uint8_t*>(dst));
  store_every_other(static_cast<const uint16_t*>(src), n, static_cast<uint16_t*>(dst));
}

// Stride 1: 16 lanes per step. Stride 2: per 16 sources, two vpermd spread them over the even lanes
// of 32 outputs and two masked stores (0x5555) write those lanes only. Tails through lane masks.
static void store_strided_s32(const int32_t* src, int64_t n, int32_t add, int32_t* dst, int64_t stride) {
  const __m512i vadd = _mm512_set1_epi32(add);
  if (stride == 1) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_si512(dst + i, _mm512_add_epi32(vadd, _mm512_loadu_si512(src + i)));
    if (i < n) {
      const __mmask16 m = __mmask16((1u << (n - i)) - 1);
      _mm512_mask_storeu_epi32(dst + i, m, _mm512_add_epi32(vadd, _mm512_maskz_loadu_epi32(m, src + i)));
    }
    return;
  }
  if (stride != 2) return store_strided_s32_generic(src, n, add, dst, stride);
  const __m512i lo = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
  const __m512i hi = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
  const __mmask16 even = 0x5555;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i v = _mm512_add_epi32(vadd, _mm512_loadu_si512(src + i));
    _mm512_mask_storeu_epi32(dst + 2 * i, even, _mm512_permutexvar_epi32(lo, v));
    _mm512_mask_storeu_epi32(dst + 2 * i + 16, even, _mm512_permutexvar_epi32(hi, v));
  }
  if (i < n) {  // cnt < 16 sources: outputs 2j, j < cnt, within 2 * cnt - 1 lanes
    const uint32_t cnt = uint32_t(n - i), clo = cnt < 8 ? cnt : 8, chi = cnt - clo;
    const __m512i v = _mm512_add_epi32(vadd, _mm512_maskz_loadu_epi32(__mmask16((1u << cnt) - 1), src + i));
    _mm512_mask_storeu_epi32(dst + 2 * i, __mmask16(even & ((1u << (2 * clo - 1)) - 1)),
                             _mm512_permutexvar_epi32(lo, v));
    if (chi)
      _mm512_mask_storeu_epi32(dst + 2 * i + 16, __mmask16(even & ((1u << (2 * chi - 1)) - 1)),
                               _mm512_permutexvar_epi32(hi, v));
  }
}

// Per channel one masked 64-byte load and one vpcmpgtb into a 64-bit mask, then the bit transpose.
static void pack_signs_block(const int8_t* src, int64_t ch_stride, int64_t n_ch, int64_t n_pix, uint64_t* dst,
                             int64_t dst_stride) {
  const __mmask64 pm = n_pix >= 64 ? ~__mmask64(0) : (__mmask64(1) << n_pix) - 1;
  const __m512i zero = _mm512_setzero_si512();
  uint64_t m[64];
  for (int64_t c = 0; c < 64; ++c)
    m[c] = c < n_ch ? _mm512_cmpgt_epi8_mask(_mm512_maskz_loadu_epi8(pm, src + c * ch_stride), zero) : 0;
  transpose_bits64(m);
  for (int64_t j = 0; j < n_pix; ++j) dst[j * dst_stride] = m[j];
}

// Direct conv2d row (hot.hpp direct_row_u8s8) with VBMI: per 64 output pixels and input row, two
// 64-byte loads and, per k-quad, four vpermt2b build the 16 four-byte windows of each 16-pixel group
// (pixel j of group g takes bytes 16g + j + 4q .. + 3); one vpdpbusd per group and channel.
template <int COUT>
__attribute__((target("avx512f,avx512bw,avx512vnni,avx512vbmi"))) static void direct_row_vbmi(
    const uint8_t* const* rows, int64_t nrows, const int32_t* wq, int64_t kq, const int32_t* base, int64_t ow,
    int32_t* const* out) {
  alignas(64) uint8_t t[4][64];
  for (int g = 0; g < 4; ++g)
    for (int j = 0; j < 16; ++j)
      for (int i = 0; i < 4; ++i) t[g][4 * j + i] = uint8_t(16 * g + j + i);
  const __m512i idx0 = _mm512_load_si512(t[0]), idx1 = _mm512_load_si512(t[1]);
  const __m512i idx2 = _mm512_load_si512(t[2]), idx3 = _mm512_load_si512(t[3]);
  for (int64_t ox0 = 0; ox0 < ow; ox0 += 64) {
    __m512i acc[COUT][4];
    for (int co = 0; co < COUT; ++co)
      for (int g = 0; g < 4; ++g) acc[co][g] = _mm512_set1_epi32(base[co]);
    for (int64_t r = 0; r < nrows; ++r) {
      const uint8_t* row = rows[r] + ox0;
      const int32_t* w = wq + r * kq * COUT;
      for (int64_t q = 0; q < kq; ++q, w += COUT) {
        const __m512i v0 = _mm512_loadu_si512(row + 4 * q), v1 = _mm512_loadu_si512(row + 4 * q + 64);
        const __m512i p0 = _mm512_permutex2var_epi8(v0, idx0, v1), p1 = _mm512_permutex2var_epi8(v0, idx1, v1);
        const __m512i p2 = _mm512_permutex2var_epi8(v0, idx2, v1), p3 = _mm512_permutex2var_epi8(v0, idx3, v1);
        for (int co = 0; co < COUT; ++co) {
          const __m512i wv = _mm512_set1_epi32(w[co]);
          acc[co][0] = _mm512_dpbusd_epi32(acc[co][0], p0, wv);
          acc[co][1] = _mm512_dpbusd_epi32(acc[co][1], p1, wv);
          acc[co][2] = _mm512_dpbusd_epi32(acc[co][2], p2, wv);
          acc[co][3] = _mm512_dpbusd_epi32(acc[co][3], p3, wv);
        }
      }
    }
    for (int g = 0; g < 4; ++g) {
      const int64_t x = ox0 + 16 * g, left = ow - x;
      if (left <= 0) break;
      const __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      for (int co = 0; co < COUT; ++co) _mm512_mask_storeu_epi32(out[co] + x, m, acc[co][g]);
    }
  }
}

static void direct_row_u8s8_vbmi(const uint8_t* const* rows, int64_t nrows, const int32_t* wq, int64_t kq,
                                 int64_t cout, const int32_t* base, int64_t ow, int32_t* const* out) {
  switch (cout) {
    case 1: return direct_row_vbmi<1>(rows, nrows, wq, kq, base, ow, out);
    case 2: return direct_row_vbmi<2>(rows, nrows, wq, kq, base, ow, out);
    case 3: return direct_row_vbmi<3>(rows, nrows, wq, kq, base, ow, out);
    default: return direct_row_vbmi<4>(rows, nrows, wq, kq, base, ow, out);
  }
}


// Integer requantization row (hot.hpp RequantRow), bit for bit requant_row_generic, 16 lanes per step.
// The generic loop's int64 product compiles to vpmullq (3 uops); here vpmuldq (signed 32x32 -> 64,
// 1 uop) on the even lanes and on the odd lanes (shifted down), and both roundings in one 64-bit
// arithmetic shift per lane (s <= 31):
//   h = floor((ab + 2^30) / 2^31) is the generic trunc((ab + nudge) / 2^31): for ab >= 0 directly; for
//       ab < 0, trunc((ab + 1 - 2^30) / 2^31) = floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31).
//   r = (h >> s) + ((h & mask) > thr), thr = half + (h < 0), is floor((h + c) / 2^s) with
//       c = mask - thr = 2^(s-1) - (h < 0) for s >= 1 (0 <= c, and (h & mask) + c < 2^(s+1)), c = 0 for
//       s = 0; so r = floor((ab + 2^30 + c * 2^31) / 2^(31+s)), where h < 0 iff ab < -2^30.
//       |ab| <= 2^62 - 2^31 (m0 != INT32_MIN) and c <= 2^30 keep the sum inside int64, |h| < 2^31 and
//       |r| < 2^31: r is the low half of the lane.
//   out = min(max(r, lo - zp), hi - zp) + zp in int32 (the odd lanes' r moved up by vpshufd), stored
//       truncated (vpmovdb / vpmovdw): the generic TOut(r + zp), equal modulo 2^32, so 2^8 and 2^16.
// Shifts above 31, m0 = INT32_MIN or clamp bounds lo - zp, hi - zp outside int32 (never from
// requant_row_params) go to the generic loop. Mutants 1 and 2 (mutants.hpp) change the same two
// quantities as in the generic one: c without the (h < 0) term, and 2^30 - 1 for 2^30 where ab >= 0
// (h < 0 iff ab < -2^30 still holds).
template <class TOut>
static inline void requant_store16(TOut* p, __m512i v, __mmask16 k) {
  if constexpr (sizeof(TOut) == 1) _mm_mask_storeu_epi8(p, k, _mm512_cvtepi32_epi8(v));
  else _mm256_mask_storeu_epi16(p, k, _mm512_cvtepi32_epi16(v));
}

template <class TOut>
static void requant_row(const int32_t* __restrict acc, int64_t n, const RequantRow& p, TOut* __restrict out) {
  const int s = p.shift;
  const int64_t lo = int64_t(p.lo) - p.zp, hi = int64_t(p.hi) - p.zp;
  if (s > 31 || p.m0 == INT32_MIN || lo != int64_t(int32_t(lo)) || hi != int64_t(int32_t(hi)))
    return requant_row_generic(acc, n, p, out);
  const bool m2 = ACCELSIM_MUTANT(2);
  const int64_t c = s > 0 ? int64_t(1) << (s - 1) : 0, neg = s > 0 && !ACCELSIM_MUTANT(1) ? int64_t(1) << 31 : 0;
  const __m512i vm0 = _mm512_set1_epi64(p.m0), vbias = _mm512_set1_epi64((int64_t(1) << 30) + (c << 31));
  const __m512i vneg = _mm512_set1_epi64(neg), vnegmin = _mm512_set1_epi64(-(int64_t(1) << 30));
  const __m512i vcnt = _mm512_set1_epi64(31 + s), one64 = _mm512_set1_epi64(1), zero = _mm512_setzero_si512();
  const __m512i vlo = _mm512_set1_epi32(int32_t(lo)), vhi = _mm512_set1_epi32(int32_t(hi));
  const __m512i vzp = _mm512_set1_epi32(p.zp);
  auto round = [&](__m512i ab) {
    __m512i t = _mm512_add_epi64(ab, vbias);
    t = _mm512_mask_sub_epi64(t, _mm512_cmplt_epi64_mask(ab, vnegmin), t, vneg);
    if (m2) t = _mm512_mask_sub_epi64(t, _mm512_cmpge_epi64_mask(ab, zero), t, one64);
    return _mm512_srav_epi64(t, vcnt);
  };
  auto step = [&](__m512i a) {
    const __m512i re = round(_mm512_mul_epi32(a, vm0)), ro = round(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), vm0));
    __m512i r = _mm512_mask_shuffle_epi32(re, 0xAAAA, ro, _MM_PERM_CDAB);  // odd dwords: ro's low halves
    r = _mm512_min_epi32(_mm512_max_epi32(r, vlo), vhi);
    return _mm512_add_epi32(r, vzp);
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) requant_store16(out + i, step(_mm512_loadu_si512(acc + i)), 0xFFFF);
  if (i < n) {
    const __mmask16 k = __mmask16((1u << (n - i)) - 1);
    requant_store16(out + i, step(_mm512_maskz_loadu_epi32(k, acc + i)), k);
  }
}

// ---- instance norm and quantization rows (contracts: hot.hpp; the quantize proof: hot_generic.inc) ----

// s = {sum x, sum x^2, min x, max x} of int16 codes. vpmaddwd pairs: x + x' (|.| <= 2^16) summed in
// int32 lanes for at most 2^14 vectors before widening; x^2 + x'^2 <= 2^31 read as uint32 and widened
// to int64 lanes at once (the one pair (-2^15)^2 + (-2^15)^2 = 2^31 wraps in int32, not in uint32).
static void plane_sums_i16(const int16_t* x, int64_t n, int64_t* s) {
  const __m512i ones = _mm512_set1_epi16(1), lo32 = _mm512_set1_epi64(0xFFFFFFFFll);
  __m512i s1 = _mm512_setzero_si512(), s2 = s1, a1 = s1;
  __m512i vmin = _mm512_set1_epi16(32767), vmax = _mm512_set1_epi16(-32768);
  int64_t i = 0, since = 0;
  for (; i < n; i += 32) {
    const __mmask32 m = n - i >= 32 ? __mmask32(0xFFFFFFFFu) : __mmask32((1u << (n - i)) - 1);
    const __m512i v = _mm512_maskz_loadu_epi16(m, x + i);
    vmin = _mm512_mask_min_epi16(vmin, m, vmin, v);
    vmax = _mm512_mask_max_epi16(vmax, m, vmax, v);
    a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(v, ones));
    const __m512i q = _mm512_madd_epi16(v, v);
    s2 = _mm512_add_epi64(s2, _mm512_add_epi64(_mm512_and_si512(q, lo32), _mm512_srli_epi64(q, 32)));
    if (++since == (1 << 14)) {
      s1 = _mm512_add_epi64(s1, _mm512_add_epi64(_mm512_srai_epi64(_mm512_slli_epi64(a1, 32), 32),
                                                  _mm512_srai_epi64(a1, 32)));
      a1 = _mm512_setzero_si512();
      since = 0;
    }
  }
  s1 = _mm512_add_epi64(s1, _mm512_add_epi64(_mm512_srai_epi64(_mm512_slli_epi64(a1, 32), 32),
                                              _mm512_srai_epi64(a1, 32)));
  s[0] = _mm512_reduce_add_epi64(s1);
  s[1] = _mm512_reduce_add_epi64(s2);
  // 16-bit min / max: widen to int32 lanes (sign-extended halves), then reduce
  s[2] = _mm512_reduce_min_epi32(_mm512_min_epi32(_mm512_cvtepi16_epi32(_mm512_castsi512_si256(vmin)),
                                                  _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(vmin, 1))));
  s[3] = _mm512_reduce_max_epi32(_mm512_max_epi32(_mm512_cvtepi16_epi32(_mm512_castsi512_si256(vmax)),
                                                  _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(vmax, 1))));
}

// norm_codes_i16_*: 16 values per step in float32 (a * d + b, one fma, rint), the values outside the
// acceptance bound (rare: about 2 cut-margin of them) redone the double way.
template <class T>
static void norm_codes_i16(const int16_t* x, int64_t n, const NormCodesRow& p, T* out) {
  if (!(p.cut > 0)) return norm_codes_i16_generic<T>(x, n, p, out);
  const __m512i vzp = _mm512_set1_epi32(p.zp), vozp = _mm512_set1_epi32(p.ozp);
  const __m512i vlo = _mm512_set1_epi32(p.lo), vhi = _mm512_set1_epi32(p.hi);
  const __m512 va = _mm512_set1_ps(p.a), vb = _mm512_set1_ps(p.b), vcut = _mm512_set1_ps(p.cut);
  const __m512i absm = _mm512_set1_epi32(0x7FFFFFFF);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    const __m512i d = _mm512_sub_epi32(_mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(m, x + i)), vzp);
    const __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), va, vb);
    const __m512 r = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 dist = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(_mm512_sub_ps(t, r)), absm));
    const __mmask16 ok = _mm512_cmp_ps_mask(dist, vcut, _CMP_LT_OQ);
    __m512i q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(r), vozp), vlo), vhi);
    if (__mmask16(ok | ~m) != 0xFFFF) {
      alignas(64) int32_t qs[16];
      _mm512_store_si512(qs, q);
      for (int j = 0; j < 16; ++j)
        if (((m & ~ok) >> j) & 1) qs[j] = norm_code_exact(x[i + j], p);
      q = _mm512_load_si512(qs);
    }
    if constexpr (sizeof(T) == 1) {
      if (m == 0xFFFF) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm512_cvtepi32_epi8(q));
      else _mm512_mask_cvtepi32_storeu_epi8(out + i, m, q);
    } else {
      if (m == 0xFFFF) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi32_epi16(q));
      else _mm512_mask_cvtepi32_storeu_epi16(out + i, m, q);
    }
  }
}

// y = (double(x - zp) - mean) * k + beta (+ r), 8 lanes at a time (masked tail), one IEEE operation each.
template <bool kR>
static bool norm_row_i16_t(const int16_t* x, int64_t n, int32_t zp, double mean, double k, double beta,
                           const double* r, double* y) {
  const __m256i vzp = _mm256_set1_epi32(zp);
  const __m512d vmean = _mm512_set1_pd(mean), vk = _mm512_set1_pd(k), vb = _mm512_set1_pd(beta);
  const __m512d vmax = _mm512_set1_pd(1.7976931348623157e308);
  const __m512i absm = _mm512_set1_epi64(0x7FFFFFFFFFFFFFFFll);
  __mmask8 fin = 0xFF;
  for (int64_t i = 0; i < n; i += 8) {
    const __mmask8 m = n - i >= 8 ? __mmask8(0xFF) : __mmask8((1u << (n - i)) - 1);
    const __m256i d = _mm256_sub_epi32(_mm256_cvtepi16_epi32(_mm_maskz_loadu_epi16(m, x + i)), vzp);
    __m512d v = _mm512_add_pd(_mm512_mul_pd(_mm512_sub_pd(_mm512_cvtepi32_pd(d), vmean), vk), vb);
    if constexpr (kR) v = _mm512_add_pd(v, _mm512_maskz_loadu_pd(m, r + i));
    fin &= _mm512_cmp_pd_mask(_mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(v), absm)), vmax, _CMP_LE_OQ) | ~m;
    _mm512_mask_storeu_pd(y + i, m, v);
  }
  return fin == 0xFF;
}

static bool norm_row_i16(const int16_t* x, int64_t n, int32_t zp, double mean, double k, double beta, const double* r,
                         double* y) {
  return r ? norm_row_i16_t<true>(x, n, zp, mean, k, beta, r, y) : norm_row_i16_t<false>(x, n, zp, mean, k, beta, r, y);
}

// fixed.quantize of 8 lanes (masked tail), multiplying by 1 / scale and dividing only the lanes the
// hot_generic.inc bound does not clear (ties, near-ties, huge or infinite quotients).
template <class TOut>
static void quantize_row_fast(const double* y, int64_t n, double scale, double zp, double qmin, double qmax, TOut* out) {
  if (!(scale >= kQuantScaleMin && scale <= kQuantScaleMax))
    return quantize_row_generic<TOut>(y, n, scale, zp, qmin, qmax, out);
  const __m512d inv = _mm512_set1_pd(1.0 / scale), vs = _mm512_set1_pd(scale);
  const __m512d tlo = _mm512_set1_pd(-kQuantClampT), thi = _mm512_set1_pd(kQuantClampT);
  const __m512d accept = _mm512_set1_pd(kQuantAccept), vzp = _mm512_set1_pd(zp);
  const __m512d lo = _mm512_set1_pd(qmin), hi = _mm512_set1_pd(qmax);
  const __m512i absm = _mm512_set1_epi64(0x7FFFFFFFFFFFFFFFll);
  auto codes8 = [&](__m512d v, __mmask8 m) {  // 8 lanes' codes as int32 (masked-off lanes: anything)
    const __m512d t = _mm512_min_pd(_mm512_max_pd(_mm512_mul_pd(v, inv), tlo), thi);
    __m512d r = _mm512_roundscale_pd(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512d dist = _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(_mm512_sub_pd(t, r)), absm));
    const __mmask8 ok = _mm512_cmp_pd_mask(dist, accept, _CMP_LT_OQ);
    if (__mmask8(ok | ~m) != 0xFF)
      r = _mm512_mask_blend_pd(ok, _mm512_roundscale_pd(_mm512_div_pd(v, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), r);
    return _mm512_cvttpd_epi32(_mm512_min_pd(_mm512_max_pd(_mm512_add_pd(r, vzp), lo), hi));
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {  // 16 codes in a zmm of int32, narrowed in a register, one plain store
    const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(codes8(_mm512_loadu_pd(y + i), 0xFF)),
                                         codes8(_mm512_loadu_pd(y + i + 8), 0xFF), 1);
    if constexpr (sizeof(TOut) == 1) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm512_cvtepi32_epi8(q));
    else _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi32_epi16(q));
  }
  for (; i < n; i += 8) {
    const __mmask8 m = n - i >= 8 ? __mmask8(0xFF) : __mmask8((1u << (n - i)) - 1);
    const __m256i qi = codes8(_mm512_maskz_loadu_pd(m, y + i), m);
    if constexpr (sizeof(TOut) == 1) _mm256_mask_cvtepi32_storeu_epi8(out + i, m, qi);
    else _mm256_mask_cvtepi32_storeu_epi16(out + i, m, qi);
  }
}

// c[i * ldc + j] = t[j * 16 + i] for i, j < 16 (t 64-byte aligned): a tile of pixel rows stored as
// channel rows (the implicit conv kernels here and in hot_amx.cpp).
// Unpacks within 128-bit lanes make u[g][c], whose lane L holds column c + 4 L of rows 4g..4g+3;
// two lane shuffles gather each column's four lanes.
void transpose_store_16x16(const int32_t* t, int32_t* c, int64_t ldc) {
  __m512i r[16], u[4][4];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_load_si512(t + 16 * i);
  for (int g = 0; g < 4; ++g) {
    const __m512i t0 = _mm512_unpacklo_epi32(r[4 * g], r[4 * g + 1]), t1 = _mm512_unpackhi_epi32(r[4 * g], r[4 * g + 1]);
    const __m512i t2 = _mm512_unpacklo_epi32(r[4 * g + 2], r[4 * g + 3]);
    const __m512i t3 = _mm512_unpackhi_epi32(r[4 * g + 2], r[4 * g + 3]);
    u[g][0] = _mm512_unpacklo_epi64(t0, t2);
    u[g][1] = _mm512_unpackhi_epi64(t0, t2);
    u[g][2] = _mm512_unpacklo_epi64(t1, t3);
    u[g][3] = _mm512_unpackhi_epi64(t1, t3);
  }
  for (int cc = 0; cc < 4; ++cc) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[0][cc], u[1][cc], 0x44), v1 = _mm512_shuffle_i32x4(u[0][cc], u[1][cc], 0xEE);
    const __m512i v2 = _mm512_shuffle_i32x4(u[2][cc], u[3][cc], 0x44), v3 = _mm512_shuffle_i32x4(u[2][cc], u[3][cc], 0xEE);
    _mm512_storeu_si512(c + (cc + 0) * ldc, _mm512_shuffle_i32x4(v0, v2, 0x88));
    _mm512_storeu_si512(c + (cc + 4) * ldc, _mm512_shuffle_i32x4(v0, v2, 0xDD));
    _mm512_storeu_si512(c + (cc + 8) * ldc, _mm512_shuffle_i32x4(v1, v3, 0x88));
    _mm512_storeu_si512(c + (cc + 12) * ldc, _mm512_shuffle_i32x4(v1, v3, 0xDD));
  }
}


// Bytes of packed weights prefetched ahead of the implicit kernel's loads (2 steps of 2 KiB). At batch
// 1 a layer of few pixels streams megabytes of weights from DRAM with a few vpdpbusd per cache line,
// faster than the hardware prefetchers run ahead: pix2pix's 512x8x8 and 512x4x4 conv2d and 1024x2x2
// transposed conv, each after a 64 MB pass over other memory, 0.92 -> 0.83, 0.60 -> 0.47 and 1.07 ->
// 0.95 ms, the whole model 28.4 -> 27.7 ms (Zen 4, 2 threads, medians of 30-40 interleaved calls);
// 1 and 8 KiB were no better, and DCGAN, SRResNet and CycleGAN stayed within the noise.
constexpr int64_t kImplicitPrefetch = 4096;

// One pass of ukr_u8s8_implicit: NP pixels from p0 into t (rows p0 .. p0 + NP - 1 of [pixel][channel]
// per channel half); per step and k-group the two weight vectors and one broadcast quad per pixel.
template <int NP>
static inline void implicit_pass(const uint8_t* x, const int64_t* xoff, const int8_t* w, int64_t steps, int64_t p0,
                                 __m512i b0, __m512i b1, int32_t (*t)[16 * 32]) {
  __m512i acc[NP][2];
  for (int p = 0; p < NP; ++p) acc[p][0] = b0, acc[p][1] = b1;
  for (int64_t s = 0; s < steps; ++s) {
    const uint8_t* xs = x + xoff[s] + p0 * 64;
    const int8_t* ws = w + s * 2048;
    for (int kq = 0; kq < 16; ++kq) {
      const __m512i w0 = _mm512_load_si512(ws + kq * 64), w1 = _mm512_load_si512(ws + 1024 + kq * 64);
      // the weights two steps on (kImplicitPrefetch): past the panel's end a prefetch is only a hint
      _mm_prefetch(reinterpret_cast<const char*>(ws + kImplicitPrefetch + kq * 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(ws + kImplicitPrefetch + 1024 + kq * 64), _MM_HINT_T0);
      for (int p = 0; p < NP; ++p) {
        int32_t q;
        std::memcpy(&q, xs + p * 64 + kq * 4, 4);
        const __m512i xq = _mm512_set1_epi32(q);
        acc[p][0] = _mm512_dpbusd_epi32(acc[p][0], xq, w0);
        acc[p][1] = _mm512_dpbusd_epi32(acc[p][1], xq, w1);
      }
    }
  }
  for (int p = 0; p < NP; ++p) {
    _mm512_store_si512(t[0] + (p0 + p) * 16, acc[p][0]);
    _mm512_store_si512(t[1] + (p0 + p) * 16, acc[p][1]);
  }
}

// hot.hpp ukr_u8s8_implicit on vpdpbusd: 32 pixels x 32 channels in passes of 8 pixels (of 4, 2 or 1
// for the last pixels below ncols: a 1x1 output computes one pixel, not 32); per pass, step and
// k-group, the two weight vectors (channels 0-15 and 16-31 of the packed B tile) and one broadcast
// channel quad per pixel, up to 16 accumulators (starting from the base vectors: no pass of its own
// over the sums, which had taken about a tenth of CycleGAN's 128x128x128 transposed conv); then
// transposed into channel rows, per 16 pixels with any below ncols (the pixels of such a half past
// ncols hold zeros).
static void ukr_u8s8_implicit(const uint8_t* x, const int64_t* xoff, const int8_t* w, int64_t steps, int32_t* c,
                              int64_t ldc, int64_t ncols, const int32_t* base) {
  alignas(64) int32_t t[2][16 * 32];  // per channel half: [pixel][channel]
  const __m512i b0 = base ? _mm512_loadu_si512(base) : _mm512_setzero_si512();
  const __m512i b1 = base ? _mm512_loadu_si512(base + 16) : _mm512_setzero_si512();
  int64_t p0 = 0;
  for (; p0 + 8 <= ncols; p0 += 8) implicit_pass<8>(x, xoff, w, steps, p0, b0, b1, t);
  if (ncols - p0 >= 4) {
    implicit_pass<4>(x, xoff, w, steps, p0, b0, b1, t);
    p0 += 4;
  }
  if (ncols - p0 >= 2) {
    implicit_pass<2>(x, xoff, w, steps, p0, b0, b1, t);
    p0 += 2;
  }
  if (ncols - p0 >= 1) {
    implicit_pass<1>(x, xoff, w, steps, p0, b0, b1, t);
    p0 += 1;
  }
  const int64_t filled = (ncols + 15) / 16 * 16;
  for (int64_t p = p0; p < filled; ++p) {
    std::memset(t[0] + p * 16, 0, 64);
    std::memset(t[1] + p * 16, 0, 64);
  }
  for (int h = 0; h < 2 && 16 * h < ncols; ++h) {
    transpose_store_16x16(t[0] + 16 * 16 * h, c + 16 * h, ldc);
    transpose_store_16x16(t[1] + 16 * 16 * h, c + 16 * ldc + 16 * h, ldc);
  }
}


// hot.hpp dense_u8s8 on vpdpbusd: rows in groups of up to 6 (24 accumulators: 6 rows x 4 zmm of 16
// columns); per k-quad the panel's 4 weight vectors, then per row one broadcast quad and 4 vpdpbusd.
// One array per column vector: as acc[NI][4], GCC 12 kept a stack copy of every accumulator per k-quad.
template <int NI>
static inline void dense_rows(const uint8_t* x, int64_t ldx, const int8_t* w, int64_t kq, int32_t* y, int64_t ldy) {
  __m512i a0[NI], a1[NI], a2[NI], a3[NI];
  for (int i = 0; i < NI; ++i) a0[i] = a1[i] = a2[i] = a3[i] = _mm512_setzero_si512();
  for (int64_t q = 0; q < kq; ++q) {
    const int8_t* wq = w + q * 256;
    const __m512i w0 = _mm512_loadu_si512(wq), w1 = _mm512_loadu_si512(wq + 64);
    const __m512i w2 = _mm512_loadu_si512(wq + 128), w3 = _mm512_loadu_si512(wq + 192);
#pragma GCC unroll 8
    for (int i = 0; i < NI; ++i) {
      int32_t v;
      std::memcpy(&v, x + i * ldx + 4 * q, 4);
      const __m512i xq = _mm512_set1_epi32(v);
      a0[i] = _mm512_dpbusd_epi32(a0[i], xq, w0);
      a1[i] = _mm512_dpbusd_epi32(a1[i], xq, w1);
      a2[i] = _mm512_dpbusd_epi32(a2[i], xq, w2);
      a3[i] = _mm512_dpbusd_epi32(a3[i], xq, w3);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < NI; ++i) {
    _mm512_storeu_si512(y + i * ldy, a0[i]);
    _mm512_storeu_si512(y + i * ldy + 16, a1[i]);
    _mm512_storeu_si512(y + i * ldy + 32, a2[i]);
    _mm512_storeu_si512(y + i * ldy + 48, a3[i]);
  }
}

static void dense_u8s8(const uint8_t* x, int64_t ldx, int64_t ni, const int8_t* w, int64_t kq, int32_t* y,
                       int64_t ldy) {
  int64_t i = 0;
  for (; i + 6 <= ni; i += 6) dense_rows<6>(x + i * ldx, ldx, w, kq, y + i * ldy, ldy);
  switch (ni - i) {
    case 5: return dense_rows<5>(x + i * ldx, ldx, w, kq, y + i * ldy, ldy);
    case 4: return dense_rows<4>(x + i * ldx, ldx, w, kq, y + i * ldy, ldy);
    case 3: return dense_rows<3>(x + i * ldx, ldx, w, kq, y + i * ldy, ldy);
    case 2: return dense_rows<2>(x + i * ldx, ldx, w, kq, y + i * ldy, ldy);
    case 1: return dense_rows<1>(x + i * ldx, ldx, w, kq, y + i * ldy, ldy);
    default: return;
  }
}

// ---- the fused w1a1 convolution (hot.hpp) ----------------------------------------------------------
// XNOR tile: 8 output channels x 24 pixels (3 zmm of 8 int64 lanes per channel). Per tap and word:
// 3 pixel loads, then per channel one broadcast weight word, vpxorq, vpopcntq and vpaddq per zmm.
constexpr int kXC = 8, kXV = 3;  // channels, zmm of pixels
static void ukr_xnor_conv(const uint64_t* x, int64_t plane, const int64_t* xoff, int64_t taps, int64_t words,
                          const uint64_t* w, int64_t* acc, int64_t ldc) {
  __m512i a[kXC][kXV];
#pragma GCC unroll 8
  for (int c = 0; c < kXC; ++c)
    for (int v = 0; v < kXV; ++v) a[c][v] = _mm512_setzero_si512();
  for (int64_t t = 0; t < taps; ++t) {
    const uint64_t* xt = x + xoff[t];
    for (int64_t i = 0; i < words; ++i, w += kXC) {
      const uint64_t* xi = xt + i * plane;
      __m512i xv[kXV];
#pragma GCC unroll 4
      for (int v = 0; v < kXV; ++v) xv[v] = _mm512_loadu_si512(xi + 8 * v);
#pragma GCC unroll 8
      for (int c = 0; c < kXC; ++c) {
        const __m512i wb = _mm512_set1_epi64(int64_t(w[c]));
#pragma GCC unroll 4
        for (int v = 0; v < kXV; ++v)
          a[c][v] = _mm512_add_epi64(a[c][v], _mm512_popcnt_epi64(_mm512_xor_si512(xv[v], wb)));
      }
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < kXC; ++c)
    for (int v = 0; v < kXV; ++v) _mm512_storeu_si512(acc + c * ldc + 8 * v, a[c][v]);
}

// Channel by channel (a sequential read of up to 512 values), per 8 values one vcmppd (GE, ordered:
// NaN is false) into 8 mask bits, then the bit transpose per 64-pixel block.
static void pack_signs_f64_block(const double* src, int64_t ch_stride, int64_t n_ch, int64_t n_pix, uint64_t* dst) {
  const __m512d zero = _mm512_setzero_pd();
  uint64_t m[8][64];
  const int64_t nb = (n_pix + 63) / 64;
  for (int64_t c = 0; c < 64; ++c) {
    const double* s = src + c * ch_stride;
    for (int64_t b = 0; b < nb; ++b) {
      uint64_t v = 0;
      if (c < n_ch) {
        const int64_t np = n_pix - 64 * b < 64 ? n_pix - 64 * b : 64;
        int64_t j = 0;
        for (; j + 8 <= np; j += 8)
          v |= uint64_t(_mm512_cmp_pd_mask(_mm512_loadu_pd(s + 64 * b + j), zero, _CMP_GE_OQ)) << j;
        if (j < np) {
          const __mmask8 k = __mmask8((1u << (np - j)) - 1);
          v |= uint64_t(_mm512_mask_cmp_pd_mask(k, _mm512_maskz_loadu_pd(k, s + 64 * b + j), zero, _CMP_GE_OQ)) << j;
        }
      }
      m[b][c] = v;
    }
  }
  for (int64_t b = 0; b < nb; ++b) {
    transpose_bits64(m[b]);
    const int64_t np = n_pix - 64 * b < 64 ? n_pix - 64 * b : 64;
    for (int64_t j = 0; j < np; ++j) dst[64 * b + j] = m[b][j];
  }
}

// One and two phases in zmm (vpsllq, vpsubq, vcvtqq2pd, vmulpd, with relu vmaxpd against +0.0, which
// for y neither -0.0 nor NaN is y > 0 ? y : +0.0; two phases interleaved by vpermt2pd), whole
// vectors unmasked, the tails with masks; others as the generic loop.
template <bool kRelu>
static inline __m512d xnor_vals(__m512i s, __m512i b, __m512i add, __m512d sc) {
  const __m512i v = _mm512_sub_epi64(_mm512_add_epi64(b, add), _mm512_slli_epi64(s, 1));
  const __m512d y = _mm512_mul_pd(_mm512_cvtepi64_pd(v), sc);
  return kRelu ? _mm512_max_pd(y, _mm512_setzero_pd()) : y;
}

template <bool kRelu>
static void xnor_row_f64_t(const int64_t* const* src, const int64_t* const* base, int64_t nph, int64_t n,
                           int64_t add_, double scale, double* dst) {
  const __m512d sc = _mm512_set1_pd(scale);
  const __m512i add = _mm512_set1_epi64(add_);
  if (nph == 1) {
    const int64_t* s = src[0];
    const int64_t* b = base[0];
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      _mm512_storeu_pd(dst + i, xnor_vals<kRelu>(_mm512_loadu_si512(s + i), _mm512_loadu_si512(b + i), add, sc));
    if (i < n) {
      const __mmask8 k = __mmask8((1u << (n - i)) - 1);
      _mm512_mask_storeu_pd(dst + i, k, xnor_vals<kRelu>(_mm512_maskz_loadu_epi64(k, s + i),
                                                         _mm512_maskz_loadu_epi64(k, b + i), add, sc));
    }
    return;
  }
  const __m512i lo = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), hi = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
  const int64_t *s0 = src[0], *s1 = src[1], *b0 = base[0], *b1 = base[1];
  int64_t i = 0;  // outputs 2i .. 2i + 15 from phase values i .. i + 7
  for (; 2 * i + 16 <= n; i += 8) {
    const __m512d d0 = xnor_vals<kRelu>(_mm512_loadu_si512(s0 + i), _mm512_loadu_si512(b0 + i), add, sc);
    const __m512d d1 = xnor_vals<kRelu>(_mm512_loadu_si512(s1 + i), _mm512_loadu_si512(b1 + i), add, sc);
    _mm512_storeu_pd(dst + 2 * i, _mm512_permutex2var_pd(d0, lo, d1));
    _mm512_storeu_pd(dst + 2 * i + 8, _mm512_permutex2var_pd(d0, hi, d1));
  }
  if (2 * i < n) {  // m < 16 outputs left: phase 0 has (m + 1) / 2 of them, phase 1 m / 2
    const int64_t m = n - 2 * i;
    const __mmask8 k0 = __mmask8((1u << ((m + 1) / 2)) - 1), k1 = __mmask8((1u << (m / 2)) - 1);
    const __m512d d0 = xnor_vals<kRelu>(_mm512_maskz_loadu_epi64(k0, s0 + i), _mm512_maskz_loadu_epi64(k0, b0 + i), add, sc);
    const __m512d d1 = xnor_vals<kRelu>(_mm512_maskz_loadu_epi64(k1, s1 + i), _mm512_maskz_loadu_epi64(k1, b1 + i), add, sc);
    if (m >= 8)
      _mm512_storeu_pd(dst + 2 * i, _mm512_permutex2var_pd(d0, lo, d1));
    else
      _mm512_mask_storeu_pd(dst + 2 * i, __mmask8((1u << m) - 1), _mm512_permutex2var_pd(d0, lo, d1));
    if (m > 8)
      _mm512_mask_storeu_pd(dst + 2 * i + 8, __mmask8((1u << (m - 8)) - 1), _mm512_permutex2var_pd(d0, hi, d1));
  }
}

static void xnor_row_f64(const int64_t* const* src, const int64_t* const* base, int64_t nph, int64_t n,
                         int64_t add, double scale, bool relu, double* dst) {
  if (nph > 2) return xnor_row_f64_generic(src, base, nph, n, add, scale, relu, dst);
  if (relu) return xnor_row_f64_t<true>(src, base, nph, n, add, scale, dst);
  xnor_row_f64_t<false>(src, base, nph, n, add, scale, dst);
}

}  // namespace hot_avx512_ns
}  // namespace accelsim

#pragma GCC diagnostic pop
#pragma GCC pop_options

namespace accelsim {
const HotKernels* hot_avx512() {
  using namespace hot_avx512_ns;
  static const HotKernels k{
      /*s16=*/{kMR, kNR, 2}, /*u8s8=*/{kMR, kNR, 4}, /*xnor=*/{kMRX, kNRX, 1}, /*u8s8_int16_sums=*/false,
      ukr_s16, ukr_u8s8, ukr_xnor,
      gemm_s32_s64_generic, xor_popcount_rows, add_row_s32, interleave2_s32, pack_signs_block,
      max_abs_s64_generic, round_s64_s16_generic, compact_s64_generic,
      requant_row<int8_t>, requant_row<uint8_t>, requant_row<int16_t>, requant_row<uint16_t>,
      __builtin_cpu_supports("avx512vbmi") ? direct_row_u8s8_vbmi : nullptr, plane_sums_i16,
      normalize_row_s32_generic, norm_row_i16, norm_codes_i16<uint8_t>, norm_codes_i16<uint16_t>,
      quantize_row_fast<int8_t>, quantize_row_fast<uint8_t>, quantize_row_fast<int16_t>,
      quantize_row_fast<uint16_t>, store_strided_s32,
      /*tile_begin=*/nullptr, hash_bytes_generic, ukr_u8s8_implicit,
      /*xnor_conv=*/{kXC, 8 * kXV, 1}, ukr_xnor_conv, pack_signs_f64_block, xnor_row_f64, dense_u8s8,
      store_strided_codes};
  return &k;
}
}  // namespace accelsim
#else
namespace accelsim {
const HotKernels* hot_avx512() { return nullptr; }
}  // namespace accelsim
#endif
