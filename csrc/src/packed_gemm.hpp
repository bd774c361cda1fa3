// Packed-GEMM driver (internal). Weights are packed into mr-row panels; input columns are packed per
// (group, column block) into nr-column panels; the micro-kernels of the active ISA compute mr x nr
// tiles of exact int32 sums (hot.hpp: the tile geometry is the ISA's); a sink per task
// (conv_sinks.hpp) turns each block of sums into outputs.
//
// Tasks are (group, block of output-channel rows, column block); column blocks are whole images, or
// any column range when the sink writes output pixels directly (GemmShape::split). No two tasks ever
// write the same output element: results are deterministic for any thread count.
#pragma once
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <numeric>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"

namespace accelsim {

// Allocator of cache-line-aligned (64-byte) storage, for the buffers micro-kernels load as tiles.
// malloc aligns large blocks to 16 bytes only, and AMX tile loads of rows that straddle cache lines
// are slow: aligning the packed weights and buffers made the AMX convolutions 1.1-1.4x faster
// (docs/performance.md, "Cache-line-aligned operands").
template <class T>
struct CacheAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheAligned() = default;
  template <class U>
  CacheAligned(const CacheAligned<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const CacheAligned<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const CacheAligned<U>&) const noexcept { return false; }
};
template <class T>
using AlignedVector = std::vector<T, CacheAligned<T>>;

// The GEMM kinds: operand types (A = weights, B = input columns); every kind sums into int32.
template <class TA_, class TB_>
struct GemmKind {
  using TA = TA_;
  using TB = TB_;
};
struct GemmS16 : GemmKind<int16_t, int16_t> {};    // int16 pairs (vpmaddwd / vpdpwssd)
struct GemmU8S8 : GemmKind<int8_t, uint8_t> {};    // uint8 x int8 (vpmaddubsw / vpdpbusd)
struct GemmXnor : GemmKind<uint64_t, uint64_t> {};  // popcount(a ^ b) over 64-bit sign words

inline TileShape tile_of(GemmS16, const HotKernels& hk) { return hk.s16; }
inline TileShape tile_of(GemmU8S8, const HotKernels& hk) { return hk.u8s8; }
inline TileShape tile_of(GemmXnor, const HotKernels& hk) { return hk.xnor; }
inline void run_ukr(GemmS16, const HotKernels& hk, const int16_t* a, const int16_t* b, int64_t kg, int64_t,
                    int32_t* c, int64_t ldc) { hk.ukr_s16(a, b, kg, c, ldc); }
inline void run_ukr(GemmU8S8, const HotKernels& hk, const int8_t* a, const uint8_t* b, int64_t kg, int64_t flush,
                    int32_t* c, int64_t ldc) { hk.ukr_u8s8(a, b, kg, flush, c, ldc); }
inline void run_ukr(GemmXnor, const HotKernels& hk, const uint64_t* a, const uint64_t* b, int64_t kg, int64_t,
                    int32_t* c, int64_t ldc) { hk.ukr_xnor(a, b, kg, c, ldc); }

// Weight panels for one group: rows padded to a multiple of mr, K to a multiple of kg (zeros).
template <class T>
struct PackedA {
  AlignedVector<T> data;  // [panel][k-group][mr][kg]
  TileShape ts{};
  int64_t M = 0, kgroups = 0, panels = 0;
  const T* panel(int64_t p) const { return data.data() + p * kgroups * ts.kga() * ts.mr; }
};

// Digit d of a weight code w: D = 1, the code itself; D = 2 (flexpoint), w = hi * 2^8 + lo with
// lo = w & 255 in [0, 255] and hi = w >> 8 (floor) in [-128, 127].
template <int D>
inline int64_t weight_digit(int64_t w, int64_t d) {
  if constexpr (D == 1) return w;
  else return d == 0 ? (w & 255) : (w >> 8);
}

// Packs A(m', k) = weight_digit<D>(src[(m' / D) * sm + k * sk], m' % D) for m' < D * M, k < K: D GEMM
// rows per weight row. Panels are packed in parallel, reading the source along its contiguous axis.
template <class T, int D = 1, class S>
PackedA<T> pack_a(const TileShape& ts, int64_t M, int64_t K, const S* src, int64_t sm, int64_t sk) {
  PackedA<T> a;
  a.ts = ts;
  a.M = D * M;
  a.kgroups = (K + ts.kga() - 1) / ts.kga();
  a.panels = (a.M + ts.mr - 1) / ts.mr;
  a.data.assign(size_t(a.panels * a.kgroups * ts.kga() * ts.mr), T(0));
  const int64_t mr = ts.mr, kg = ts.kga(), kgroups = a.kgroups, M2 = a.M;
  T* const data = a.data.data();
  if (sm == 1) {
    // Weight rows adjacent in each k row (transposed-conv weights): blocks of 64 rows; per k-group
    // the kg source row segments are interleaved in a local buffer, then copied to the block's
    // panels, so every source cache line is read once and the byte stores stay vectorizable.
    constexpr int64_t MB = 64;
    const int64_t blocks = (M2 + MB - 1) / MB;
    auto run = [&](auto kgc) {
      constexpr int64_t KG = decltype(kgc)::value;
      parallel_for(blocks, [&](int64_t blk) {
        const int64_t m0 = blk * MB, nm = std::min(MB, M2 - m0);
        T buf[MB * KG];
        for (int64_t kq = 0; kq < kgroups; ++kq) {
          for (int64_t i = 0; i < KG; ++i) {
            const int64_t k = kq * KG + i;
            const S* __restrict srow = src + k * sk;
            for (int64_t r = 0; r < nm; ++r)
              buf[r * KG + i] = k < K ? T(weight_digit<D>(srow[(m0 + r) / D], (m0 + r) % D)) : T(0);
          }
          for (int64_t r0 = 0; r0 < nm;) {  // rows m0 + r0.. of panel (m0 + r0) / mr
            const int64_t m = m0 + r0, n = std::min(nm - r0, mr - m % mr);
            std::memcpy(data + ((m / mr) * kgroups + kq) * mr * KG + (m % mr) * KG, buf + r0 * KG,
                        size_t(n * KG) * sizeof(T));
            r0 += n;
          }
        }
      });
    };
    if (kg == 1) run(std::integral_constant<int64_t, 1>{});
    else if (kg == 2) run(std::integral_constant<int64_t, 2>{});
    else if (kg == 4) run(std::integral_constant<int64_t, 4>{});
    else run(std::integral_constant<int64_t, 64>{});
  } else {
    parallel_for(a.panels, [&](int64_t p) {
      T* __restrict dst = data + p * kgroups * kg * mr;
      const int64_t m0 = p * mr, rows = std::min<int64_t>(mr, M2 - m0);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t m = m0 + r;
        const S* __restrict srow = src + (m / D) * sm;
        T* __restrict d = dst + r * kg;
        for (int64_t kq = 0; kq < kgroups; ++kq)
          for (int64_t i = 0; i < kg && kq * kg + i < K; ++i)
            d[kq * mr * kg + i] = T(weight_digit<D>(srow[(kq * kg + i) * sk], m % D));
      }
    });
  }
  return a;
}

struct GemmShape {
  int64_t groups, M, K;
  int64_t images, cols_per_image;  // N = images * cols_per_image per group
  int64_t rows_unit;               // M blocks hold whole multiples of this many rows
  bool split = false;              // column blocks may cut images (the sink takes any column range)
  // Given enough column blocks, one task runs every group of a column block, in group order (sinks of
  // different groups that write to the same output lines then do so while those are in cache).
  bool groups_in_task = false;
  // When given: set to whether that happened (before any task runs): the sinks of one column block
  // are then made and finished one after another on one thread, groups in order, every M block of
  // a group before the next group.
  bool* in_order = nullptr;
};

// Interleaves KG rows of nb columns (rows[i * ld + j]) into nr-column panels of a B block:
// dst[(j / nr) * pstride + (j % nr) * KG + i]; the columns of the last panel past nb are zeroed.
// Full 16-column steps use SSE2 unpacks (every x86-64 CPU has them) when one column's KG values
// make 4 or 2 bytes; the rest is scalar.
template <int KG, class TB>
void interleave_rows(const TB* __restrict rows, int64_t ld, int64_t nb, int64_t nr, int64_t pstride,
                     TB* __restrict dst) {
  for (int64_t j0 = 0, p = 0; j0 < nb; j0 += nr, ++p) {
    TB* __restrict d = dst + p * pstride;
    const int64_t n = std::min(nr, nb - j0);
    int64_t j = 0;
#if defined(__SSE2__)
    constexpr int64_t bytes = KG * int64_t(sizeof(TB));
    if constexpr (bytes == 4 || (bytes == 2 && sizeof(TB) == 1)) {
      constexpr int64_t step = 16 / int64_t(sizeof(TB));  // columns per 16-byte load
      for (; j + step <= n; j += step) {
        const TB* r = rows + j0 + j;
        auto ld128 = [&](int i) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(r + i * ld)); };
        __m128i* o = reinterpret_cast<__m128i*>(d + j * KG);
        if constexpr (KG == 4 && sizeof(TB) == 1) {  // 16 columns: bytes a b c d per column
          const __m128i a = ld128(0), b = ld128(1), c = ld128(2), e = ld128(3);
          const __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
          const __m128i ce0 = _mm_unpacklo_epi8(c, e), ce1 = _mm_unpackhi_epi8(c, e);
          _mm_storeu_si128(o + 0, _mm_unpacklo_epi16(ab0, ce0));
          _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(ab0, ce0));
          _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(ab1, ce1));
          _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(ab1, ce1));
        } else if constexpr (KG == 2 && sizeof(TB) == 2) {  // 8 columns of int16 pairs
          const __m128i a = ld128(0), b = ld128(1);
          _mm_storeu_si128(o + 0, _mm_unpacklo_epi16(a, b));
          _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(a, b));
        } else {  // KG == 2, bytes: 16 columns of byte pairs
          const __m128i a = ld128(0), b = ld128(1);
          _mm_storeu_si128(o + 0, _mm_unpacklo_epi8(a, b));
          _mm_storeu_si128(o + 1, _mm_unpackhi_epi8(a, b));
        }
      }
    }
#endif
    for (; j < n; ++j)
      for (int i = 0; i < KG; ++i) d[j * KG + i] = rows[i * ld + j0 + j];
    if (n < nr) std::fill(d + n * KG, d + nr * KG, TB(0));
  }
}

// Runs C = A_g * B_g for every group, in waves of image blocks (so packed B never holds more than a
// wave's columns): per wave, phase 1 packs B per (group, image block, C block) and phase 2 computes
// tiles per task (group, M block, image block). Each task makes a sink,
//   auto sink = make_sink(gi, m0, mc, c0, c1)        (rows m0..m0+mc, columns c0..c1 of group gi)
//   sink.consume(n0, nb, const TC* C, ldc)           (per C block: rows m0.., columns n0..n0+nb)
//   sink.finish()                                    (after the task's last block)
// and a sink writes only outputs of its own task. row(gi, k, n0, nb, TB* dst) writes columns
// [n0, n0+nb) of row k of B_g. `flush` is the u8s8 kernel's int16 accumulation length (ignored by
// the others). The sums C are int32; kchunk > 0 (a multiple of kg) cuts K into chunks of kchunk
// values, for sums that would not fit int32 over the whole of K: the sink then consumes each chunk's
// sums of a C block in turn (sinks add, so the chunks add up in the sink's own, wider, type).
// A row source may also write whole B panels: row.packs(kg) says whether it can for k-groups of kg,
// and row.pack_panels(gi, c0, nbb, kgroups, nr, pstride, blk) then writes columns c0..c0+nbb of
// group gi as packed_gemm's panels: column c (from c0) of k-group kq at
// blk[(c / nr) * pstride + kq * kg * nr + (c % nr) * kg + i], the last panel's columns past nbb zeroed.
template <class R, class = void>
struct PacksPanels : std::false_type {};
template <class R>
struct PacksPanels<R, std::void_t<decltype(&std::decay_t<R>::pack_panels)>> : std::true_type {};

// A[gi] is group gi's PackedA<Kind::TA> (a std::vector of them, or any type indexed the same way).
template <class Kind, class AList, class Row, class MakeSink>
void packed_gemm(const GemmShape& s, const AList& A, Row&& row, MakeSink&& make_sink, int64_t flush,
                 int64_t kchunk = 0) {
  using TA = typename Kind::TA;
  using TB = typename Kind::TB;
  const HotKernels& hk = hot();
  const TileShape ts = tile_of(Kind{}, hk);
  const int64_t MR = ts.mr, NR = ts.nr, KG = ts.kg;
  const int64_t NB = NR * std::max<int64_t>(1, 128 / NR);  // columns per C block
  // M blocks: whole multiples of rows_unit (no two tasks share an output) and of MR (aligned panels).
  const int64_t unit = s.rows_unit;
  const int64_t lcm = unit / std::gcd<int64_t>(unit, MR) * MR;
  const int64_t P = std::max<int64_t>(1, s.cols_per_image);
  const int64_t ipb = std::max<int64_t>(1, std::min<int64_t>(s.images, 512 / P));  // images per block
  // Column blocks: whole images (ipb of them), or, when the sink allows, blocks of kSplitCols columns
  // (bounded packed B and enough tasks for every thread on one large image).
  constexpr int64_t kSplitCols = 512;
  const int64_t ncols = s.images * P;
  const int64_t bs = s.split ? std::min(ncols, (kSplitCols + NB - 1) / NB * NB) : ipb * P;  // columns per block
  const int64_t iblocks = (ncols + bs - 1) / bs;
  // Fewer (group, column block) pairs than 2 per thread (one image whose sink takes whole images):
  // M blocks of fewer rows, down to lcm, so that every thread gets M blocks too, and each block's B
  // packed by ranges of k-groups on every thread. pix2pix's last layer (128x128x128 -> 3x256x256: 48
  // GEMM rows, one image) had run as one task on one thread: 1.36 -> 0.91 ms (conv_requant, Zen 4, 2
  // threads, medians of 40 interleaved calls).
  const bool few_blocks = s.groups * iblocks < num_threads();
  int64_t MC = lcm * std::max<int64_t>(1, 120 / lcm);
  if (few_blocks) {
    const int64_t want = (2 * num_threads() + s.groups * iblocks - 1) / (s.groups * iblocks);  // M blocks
    MC = std::max(lcm, std::min(MC, ((s.M + want - 1) / want + lcm - 1) / lcm * lcm));
  }
  const int64_t mblocks = (s.M + MC - 1) / MC;
  const int64_t kalign = ts.kga() / KG;                                       // B k-groups per A k-group
  const int64_t kgroups = ((s.K + KG - 1) / KG + kalign - 1) / kalign * kalign;
  const int64_t pstride = kgroups * KG * NR;                                  // elements per B panel
  const int64_t nsubs = (bs + NB - 1) / NB;                                   // C blocks per column block
  // k-groups per chunk: whole A k-groups (kalign), as the kernels step through A in those.
  const int64_t kcg = kchunk > 0 ? std::min(kgroups, std::max<int64_t>(kalign, kchunk / KG / kalign * kalign)) : kgroups;
  const int64_t blk_elems = nsubs * (NB / NR) * pstride;                      // packed B of one column block
  // Packs column block ib of group gi: KG rows of the block at a time, interleaved into the panels of
  // each C block ([C block][panel][k-group][NR][KG]); every element the kernels read is written.
  // k-groups kq0 .. kq1 - 1 only (the rest of the block untouched), or all (kq1 < 0).
  auto pack_block = [&](int64_t gi, int64_t ib, TB* blk, int64_t kq0 = 0, int64_t kq1 = -1) {
    const int64_t c0 = ib * bs, nbb = std::min(ncols, (ib + 1) * bs) - c0;
    if (kq1 < 0) kq1 = kgroups;
    if constexpr (PacksPanels<Row>::value) {  // the row source writes the panels itself (all k-groups)
      if (row.packs(KG)) return row.pack_panels(gi, c0, nbb, kgroups, NR, pstride, blk);
    }
    std::vector<TB> tmp(size_t(KG * nbb));
    for (int64_t kq = kq0; kq < kq1; ++kq) {
      for (int64_t i = 0; i < KG; ++i) {
        if (kq * KG + i < s.K) row(gi, kq * KG + i, c0, nbb, tmp.data() + i * nbb);
        else std::fill(tmp.begin() + i * nbb, tmp.begin() + (i + 1) * nbb, TB(0));
      }
      for (int64_t ns = 0; ns * NB < nbb; ++ns) {
        const TB* src = tmp.data() + ns * NB;
        const int64_t nb = std::min(NB, nbb - ns * NB);
        TB* d = blk + ns * (NB / NR) * pstride + kq * KG * NR;
        switch (KG) {
          case 1: interleave_rows<1>(src, nbb, nb, NR, pstride, d); break;
          case 2: interleave_rows<2>(src, nbb, nb, NR, pstride, d); break;
          default: interleave_rows<4>(src, nbb, nb, NR, pstride, d); break;
        }
      }
    }
  };
  // Tiles of M block mb x column block ib of group gi, from that block's packed B, into one sink.
  auto compute = [&](int64_t gi, int64_t mb, int64_t ib, const TB* bp) {
    const int64_t m0 = mb * MC, mc = std::min(MC, s.M - m0);
    const int64_t c0 = ib * bs, c1 = std::min(ncols, (ib + 1) * bs);
    const PackedA<TA>& a = A[size_t(gi)];
    const int64_t mcp = (mc + MR - 1) / MR * MR;
    thread_local AlignedVector<int32_t> Cbuf;  // every element consume() reads is written first
    if (Cbuf.size() < size_t(mcp * NB)) Cbuf.resize(size_t(mcp * NB));
    int32_t* const C = Cbuf.data();
    int32_t tile[kMaxTileElems];
    auto sink = make_sink(gi, m0, mc, c0, c1);
    for (int64_t n0 = c0, ns = 0; n0 < c1; n0 += NB, ++ns) {
      const int64_t nb = std::min(NB, c1 - n0);
      const TB* sub = bp + ns * (NB / NR) * pstride;
      const int64_t npanels = (nb + NR - 1) / NR;
      for (int64_t k0 = 0; k0 < kgroups; k0 += kcg) {
        const int64_t kc = std::min(kcg, kgroups - k0);
        if constexpr (std::is_same_v<Kind, GemmU8S8>)  // only u8 x s8 runs on AMX tiles (hot.hpp)
          if (hk.tile_begin) hk.tile_begin();          // AMX: tile config for this run of tiles
        // BLIS order: one B panel (K x NR) stays in L1/L2 while the A panels of the block stream.
        for (int64_t np = 0; np < npanels; ++np) {
          const TB* bpan = sub + np * pstride + k0 * KG * NR;
          for (int64_t mp = 0; mp < mcp / MR; ++mp) {
            const TA* apan = a.panel(m0 / MR + mp) + k0 * KG * MR;  // m0 is a multiple of MR
            const int64_t mvalid = std::min<int64_t>(MR, mc - mp * MR);
            int32_t* dst = C + mp * MR * NB + np * NR;
            if (mvalid == MR) {  // full tile: straight into C
              run_ukr(Kind{}, hk, apan, bpan, kc, flush, dst, NB);
            } else {
              run_ukr(Kind{}, hk, apan, bpan, kc, flush, tile, NR);
              for (int64_t r = 0; r < mvalid; ++r) std::memcpy(dst + r * NB, tile + r * NR, NR * sizeof(int32_t));
            }
          }
        }
        sink.consume(n0, nb, C, NB);
      }
    }
    sink.finish();
  };
  // Enough column blocks for every thread (two each): one task per (group, column block) packs its
  // block into a per-thread buffer and computes every M block from it while it is in cache.
  const bool in_order = s.groups_in_task && s.groups > 1 && iblocks >= 2 * num_threads();
  if (s.in_order) *s.in_order = in_order;
  if (in_order) {
    parallel_for(iblocks, [&](int64_t ib) {
      thread_local AlignedVector<TB> buf;
      if (buf.size() < size_t(blk_elems)) buf.resize(size_t(blk_elems));
      for (int64_t gi = 0; gi < s.groups; ++gi) {
        pack_block(gi, ib, buf.data());
        for (int64_t mb = 0; mb < mblocks; ++mb) compute(gi, mb, ib, buf.data());
      }
    });
    return;
  }
  if (s.groups * iblocks >= 2 * num_threads()) {
    parallel_for(s.groups * iblocks, [&](int64_t job) {
      thread_local AlignedVector<TB> buf;  // reused across calls (no page faults per block)
      if (buf.size() < size_t(blk_elems)) buf.resize(size_t(blk_elems));
      const int64_t gi = job / iblocks, ib = job % iblocks;
      pack_block(gi, ib, buf.data());
      for (int64_t mb = 0; mb < mblocks; ++mb) compute(gi, mb, ib, buf.data());
    });
    return;
  }
  // Few column blocks: waves of them (as many as fit 32 MiB of packed B, at least enough tasks for 4
  // per thread), packed in one parallel pass, then (M block, column block) tasks over every thread.
  const int64_t block_bytes = s.groups * blk_elems * int64_t(sizeof(TB));
  const int64_t by_tasks = (4 * num_threads() + s.groups * mblocks - 1) / (s.groups * mblocks);
  const int64_t wave = std::min(iblocks, std::max<int64_t>({int64_t(1), by_tasks, (int64_t(32) << 20) / block_bytes}));
  struct Free {
    void operator()(TB* p) const noexcept { CacheAligned<TB>().deallocate(p, 0); }
  };
  std::unique_ptr<TB, Free> packed;  // [group][column block of the wave][...]
  int64_t packed_size = 0;
  for (int64_t ib0 = 0; ib0 < iblocks; ib0 += wave) {
    const int64_t nib = std::min(wave, iblocks - ib0);
    const int64_t need = s.groups * nib * blk_elems;
    if (need > packed_size) {
      packed.reset(CacheAligned<TB>().allocate(size_t(need)));
      packed_size = need;
    }
    // few_blocks: each block in ranges of k-groups (of >= 8), one per thread, unless the row source
    // packs whole blocks itself
    bool whole = !few_blocks;
    if constexpr (PacksPanels<Row>::value) whole = whole || row.packs(KG);
    const int64_t kparts = whole ? 1 : std::max<int64_t>(1, std::min<int64_t>(num_threads(), kgroups / 8));
    parallel_for(s.groups * nib * kparts, [&](int64_t jp) {
      const int64_t job = jp / kparts, part = jp % kparts;
      pack_block(job / nib, ib0 + job % nib, packed.get() + job * blk_elems, part * kgroups / kparts,
                 (part + 1) * kgroups / kparts);
    });
    parallel_for(s.groups * mblocks * nib, [&](int64_t task) {
      const int64_t gi = task / (mblocks * nib), mb = (task / nib) % mblocks, ibw = task % nib;
      compute(gi, mb, ib0 + ibw, packed.get() + (gi * nib + ibw) * blk_elems);
    });
  }
}

}  // namespace accelsim
