// Packed-GEMM convolution driver (internal). Weights are packed once into MR-row panels; input
// columns are packed per task into NR-column panels; the micro-kernels of the active ISA compute
// MR x NR tiles of exact sums (int32, or fp64 holding integers below 2^53); a consumer scatters each
// block of sums into the output.
//
// Tasks are (group, block of output-channel rows, block of whole images), so no two tasks ever
// write the same output element: results are deterministic for any thread count.
#pragma once
#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"

namespace accelsim {

// The three GEMM kinds: operand types, sum type, k-group (values of k packed together per row
// or column: 2 for the pair-summing integer instructions, 1 for fp64 FMA) and tile width NR.
template <class TA_, class TB_, class TC_, int KG_, int NR_>
struct GemmKind {
  using TA = TA_;
  using TB = TB_;
  using TC = TC_;
  static constexpr int KG = KG_, NR = NR_;
};
using GemmS16 = GemmKind<int16_t, int16_t, int32_t, 2, kNR16>;  // vpmaddwd, int32 sums
using GemmU8S8 = GemmKind<int8_t, uint8_t, int32_t, 2, kNR8>;   // vpmaddubsw, int16 then int32 sums
using GemmF64 = GemmKind<double, double, double, 1, kNRF64>;    // fp64 FMA: exact integer sums < 2^53

inline void run_ukr(GemmS16, const HotKernels& hk, const int16_t* a, const int16_t* b, int64_t kg, int64_t,
                    int32_t* c, int64_t ldc) { hk.ukr_s16(a, b, kg, c, ldc); }
inline void run_ukr(GemmU8S8, const HotKernels& hk, const int8_t* a, const uint8_t* b, int64_t kg, int64_t flush,
                    int32_t* c, int64_t ldc) { hk.ukr_u8s8(a, b, kg, flush, c, ldc); }
inline void run_ukr(GemmF64, const HotKernels& hk, const double* a, const double* b, int64_t kg, int64_t,
                    double* c, int64_t ldc) { hk.ukr_f64(a, b, kg, c, ldc); }

// Weight panels for one group: rows padded to a multiple of MR, K to a multiple of KG.
template <class T, int KG>
struct PackedA {
  std::vector<T> data;  // [panel][k-group][MR][KG]
  int64_t M = 0, K = 0, kgroups = 0, panels = 0;
  const T* panel(int64_t p) const { return data.data() + p * kgroups * KG * kMR; }
};

// get(m, k) -> weight value.
template <class T, int KG, class Get>
PackedA<T, KG> pack_a(int64_t M, int64_t K, Get get) {
  PackedA<T, KG> a;
  a.M = M;
  a.K = K;
  a.kgroups = (K + KG - 1) / KG;
  a.panels = (M + kMR - 1) / kMR;
  a.data.assign(size_t(a.panels * a.kgroups * KG * kMR), T(0));
  for (int64_t m = 0; m < M; ++m) {
    T* base = a.data.data() + (m / kMR) * a.kgroups * KG * kMR + (m % kMR) * KG;
    for (int64_t k = 0; k < K; ++k) base[(k / KG) * KG * kMR + (k % KG)] = T(get(m, k));
  }
  return a;
}

struct GemmShape {
  int64_t groups, M, K;
  int64_t images, cols_per_image;  // N = images * cols_per_image per group
  int64_t rows_unit;               // M blocks hold whole multiples of this many rows
};

// Runs C = A_g * B_g for every group. Phase 1 packs B once per (group, block of whole images),
// phase 2 computes tiles per (group, M block, image block) and calls
//   consume(gi, m0, mc, n0, nb, const TC* C, ldc)   (C holds rows m0.., columns n0..).
// row(gi, k, n0, nb, TB* dst) writes columns [n0, n0+nb) of row k of B_g (already offset).
// `flush` is the u8s8 kernel's int16 accumulation length (ignored by the others).
template <class Kind, class Row, class Consume>
void packed_gemm(const GemmShape& s, const std::vector<PackedA<typename Kind::TA, Kind::KG>>& A, Row&& row,
                 Consume&& consume, int64_t flush) {
  using TA = typename Kind::TA;
  using TB = typename Kind::TB;
  using TC = typename Kind::TC;
  constexpr int NR = Kind::NR, KG = Kind::KG;
  constexpr int64_t NB = 128;  // columns per C block (a multiple of NR)
  const HotKernels& hk = hot();
  // M blocks: whole multiples of rows_unit (no two tasks share an output) and of MR (aligned panels).
  const int64_t unit = s.rows_unit;
  const int64_t lcm = unit / std::gcd<int64_t>(unit, kMR) * kMR;
  const int64_t MC = lcm * std::max<int64_t>(1, 120 / lcm);
  const int64_t mblocks = (s.M + MC - 1) / MC;
  const int64_t P = std::max<int64_t>(1, s.cols_per_image);
  const int64_t ipb = std::max<int64_t>(1, std::min<int64_t>(s.images, 512 / P));  // images per block
  const int64_t iblocks = (s.images + ipb - 1) / ipb;
  const int64_t kgroups = (s.K + KG - 1) / KG;
  // Phase 1: packed B for each (group, image block): [nsub][panel][kpair][NR][2].
  std::vector<std::vector<TB>> packed(size_t(s.groups * iblocks));
  parallel_for(s.groups * iblocks, [&](int64_t job) {
    const int64_t gi = job / iblocks, ib = job % iblocks;
    const int64_t c0 = ib * ipb * P, c1 = std::min(s.images, (ib + 1) * ipb) * P;
    const int64_t nsubs = (c1 - c0 + NB - 1) / NB;
    std::vector<TB>& dst = packed[size_t(job)];
    dst.assign(size_t(nsubs * (NB / NR) * kgroups * KG * NR), TB(0));
    std::vector<TB> tmp(static_cast<size_t>(NB));
    for (int64_t ns = 0; ns < nsubs; ++ns) {
      const int64_t n0 = c0 + ns * NB, nb = std::min(NB, c1 - n0);
      TB* sub = dst.data() + ns * (NB / NR) * kgroups * KG * NR;
      for (int64_t k = 0; k < s.K; ++k) {
        row(gi, k, n0, nb, tmp.data());
        TB* base = sub + (k / KG) * KG * NR + (k % KG);
        for (int64_t j = 0; j < nb; ++j) base[(j / NR) * kgroups * KG * NR + (j % NR) * KG] = tmp[size_t(j)];
      }
    }
  });
  // Phase 2: tiles.
  parallel_for(s.groups * mblocks * iblocks, [&](int64_t task) {
    const int64_t gi = task / (mblocks * iblocks);
    const int64_t mb = (task / iblocks) % mblocks, ib = task % iblocks;
    const int64_t m0 = mb * MC, mc = std::min(MC, s.M - m0);
    const int64_t c0 = ib * ipb * P, c1 = std::min(s.images, (ib + 1) * ipb) * P;
    const PackedA<TA, KG>& a = A[size_t(gi)];
    const std::vector<TB>& bp = packed[size_t(gi * iblocks + ib)];
    const int64_t mcp = (mc + kMR - 1) / kMR * kMR;
    std::vector<TC> C(size_t(mcp * NB));
    TC tile[kMR * NR];
    for (int64_t n0 = c0, ns = 0; n0 < c1; n0 += NB, ++ns) {
      const int64_t nb = std::min(NB, c1 - n0);
      const TB* sub = bp.data() + ns * (NB / NR) * kgroups * KG * NR;
      const int64_t npanels = (nb + NR - 1) / NR;
      // BLIS order: one B panel (kpairs x NR) stays in L1 while the A panels of the block stream.
      for (int64_t np = 0; np < npanels; ++np) {
        const TB* bpan = sub + np * kgroups * KG * NR;
        for (int64_t mp = 0; mp < mcp / kMR; ++mp) {
          const TA* apan = a.panel(m0 / kMR + mp);  // m0 is a multiple of MR
          const int64_t mvalid = std::min<int64_t>(kMR, mc - mp * kMR);
          TC* dst = &C[size_t(mp * kMR * NB + np * NR)];
          if (mvalid == kMR) {  // full tile: straight into C
            run_ukr(Kind{}, hk, apan, bpan, kgroups, flush, dst, NB);
          } else {
            run_ukr(Kind{}, hk, apan, bpan, kgroups, flush, tile, NR);
            for (int64_t r = 0; r < mvalid; ++r) std::memcpy(dst + r * NB, tile + r * NR, NR * sizeof(TC));
          }
        }
      }
      consume(gi, m0, mc, n0, nb, C.data(), NB);
    }
  });
}

}  // namespace accelsim
