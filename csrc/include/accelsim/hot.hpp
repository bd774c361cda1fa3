// Hot loops, one implementation per ISA (scalar, avx2, avx512), chosen at run time.
// Each ISA's translation unit defines its table in its own namespace (no ODR sharing).
#pragma once
#include <cstdint>

#include "accelsim/core.hpp"

namespace accelsim {

// Packed GEMM micro-kernels (one MR x NR tile of C, int32, row stride ldc, C = A*B overwritten):
//  s16:  A panel = per k-pair, MR int16 pairs (a[m][2k], a[m][2k+1]); B panel = per k-pair, NR
//        interleaved pairs (b[2k][n], b[2k+1][n]). Products are summed in int32 (vpmaddwd).
//  u8s8: A panel = per k-pair, MR int8 pairs (signed); B panel = per k-pair, NR interleaved uint8
//        pairs. Pair sums and up to `flush` consecutive k-pairs are summed in int16 before widening
//        to int32 (vpmaddubsw + vpaddw): the caller guarantees flush * max|pair sum| <= 32767.
//  f64:  A panel = per k, MR doubles; B panel = per k, NR doubles; sums in fp64 (FMA). Exact for the
//        flexpoint kernel: int16 x int16 products (< 2^30) and their sums stay below 2^53.
constexpr int kMR = 6, kNR16 = 16, kNR8 = 32, kNRF64 = 8;

struct HotKernels {
  void (*ukr_s16)(const int16_t* a, const int16_t* b, int64_t kpairs, int32_t* c, int64_t ldc);
  void (*ukr_u8s8)(const int8_t* a, const uint8_t* b, int64_t kpairs, int64_t flush, int32_t* c, int64_t ldc);
  void (*ukr_f64)(const double* a, const double* b, int64_t k, double* c, int64_t ldc);
  // C[M x N] = A[M x K] * B[K x N], row-major, exact: int32 operands, int64 sums (the caller
  // guarantees no int64 overflow). The fallback for formats wider than the packed kernels take.
  void (*gemm_s32_s64)(const int32_t* A, const int32_t* B, int64_t* C, int64_t M, int64_t K, int64_t N);
  // popc[co] = sum_{t < taps} sum_{i < words} popcount(x_rows[t][i] ^ w[co*w_co_stride + w_off[t] + i])
  // for co < n_co: the XNOR-popcount core of a binary convolution (one output pixel, all channels).
  // C[m][n] = sum_{i < words} popcount(W[m*words + i] ^ X[n*words + i]) for m < M, n < N (int32,
  // row stride ldc): the binary GEMM of a transposed XNOR convolution, 4x4 register-blocked.
  void (*xor_popcount_gemm)(const uint64_t* W, const uint64_t* X, int64_t M, int64_t N, int64_t words, int32_t* C,
                            int64_t ldc);
  void (*xor_popcount_rows)(const uint64_t* const* x_rows, const int64_t* w_off, int64_t taps, const uint64_t* w,
                            int64_t w_co_stride, int64_t n_co, int64_t words, int64_t* popc);
};

const HotKernels& hot();  // for active_isa()
const HotKernels& hot_scalar();
const HotKernels* hot_avx2();    // nullptr if not compiled in
const HotKernels* hot_avx512();  // nullptr if not compiled in

}  // namespace accelsim
