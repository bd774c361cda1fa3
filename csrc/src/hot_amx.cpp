// AMX-INT8 u8s8 micro-kernel (Intel Sapphire Rapids and later): the AVX-512 table with its u8s8
// tile replaced by a 32x32 int32 tile of TDPBSUD (signed weight bytes x unsigned input bytes, int32
// sums, no saturation: exact under the same int32 guarantee as vpdpbusd). Selected at run time only
// where the CPU has AMX-TILE and AMX-INT8 and Linux grants the tile-data state (arch_prctl).
// Contracts: accelsim/hot.hpp.
#include <cstdint>
#include <cstring>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && \
    (__GNUC__ >= 11)
#include <sys/syscall.h>
#include <unistd.h>

#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("amx-tile,amx-int8,avx512f")

namespace accelsim {
namespace hot_avx512_ns {
void transpose_store_16x16(const int32_t* t, int32_t* c, int64_t ldc);
}
namespace hot_amx_ns {
using hot_avx512_ns::transpose_store_16x16;

// Tiles (palette 1): C 0-3 (2 x 2 blocks of 16x16 int32), A 4-5 (16 rows x 64 weight bytes),
// B 6-7 (16 k-groups x 16 columns x 4 input bytes). Every tile is 16 rows of 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

static const TileConfig& tile_config() {
  static const TileConfig cfg = [] {
    TileConfig c;
    std::memset(&c, 0, sizeof(c));
    c.palette_id = 1;
    for (int t = 0; t < 8; ++t) {
      c.rows[t] = 16;
      c.colsb[t] = 64;
    }
    return c;
  }();
  return cfg;
}

constexpr int kMR = 32, kNR = 32, kKGA = 64;  // A panel [K/64][32][64]; B panel [K/4][32][4]

// The table's tile_begin: the configuration ukr_u8s8 assumes, loaded before each run of tiles (other
// code on this thread, a oneDNN AMX kernel say, may have changed it since the last run).
static void tile_begin() { _tile_loadconfig(&tile_config()); }

// C (32 x 32, row stride ldc) = A panel * B panel over `kgroups` k-groups of 4 (a multiple of 16).
// Precondition: tile_begin() ran on this thread since any other code could change the tile config.
static void ukr_u8s8(const int8_t* a, const uint8_t* b, int64_t kgroups, int64_t, int32_t* c, int64_t ldc) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t k = 0; k < kgroups; k += 16) {
    _tile_loadd(4, a, kKGA);                 // rows 0-15: 64 k bytes each
    _tile_loadd(5, a + 16 * kKGA, kKGA);     // rows 16-31
    _tile_loadd(6, b, 4 * kNR);              // columns 0-15 of 16 k-groups
    _tile_loadd(7, b + 64, 4 * kNR);         // columns 16-31
    _tile_dpbsud(0, 4, 6);
    _tile_dpbsud(1, 4, 7);
    _tile_dpbsud(2, 5, 6);
    _tile_dpbsud(3, 5, 7);
    a += kMR * kKGA;
    b += 16 * 4 * kNR;
  }
  const int64_t stride = ldc * int64_t(sizeof(int32_t));
  _tile_stored(0, c, stride);
  _tile_stored(1, c + 16, stride);
  _tile_stored(2, c + 16 * ldc, stride);
  _tile_stored(3, c + 16 * ldc + 16, stride);
}

// hot.hpp ukr_u8s8_implicit: activations are the A operand (TDPBUSD: unsigned A bytes x signed B
// bytes), 16 pixels x 64 channel bytes per tile, one cache line per row; weights are B, 2 KiB per
// step. Tiles: C 0-3 = pixels 0-15 / 16-31 x channels 0-15 / 16-31, transposed into c on the way out.
// Pixels 16-31 are computed only when ncols > 16 (their columns of c are left as they are otherwise).
// Precondition: as ukr_u8s8.
static void ukr_u8s8_implicit(const uint8_t* x, const int64_t* xoff, const int8_t* w, int64_t steps, int32_t* c,
                              int64_t ldc, int64_t ncols, const int32_t* base) {
  const bool two = ncols > 16;
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t s = 0; s < steps; ++s) {
    const uint8_t* xs = x + xoff[s];
    _tile_loadd(4, xs, 64);         // pixels 0-15
    _tile_loadd(6, w, 64);          // channels 0-15: 16 k-groups x 16 channels x 4
    _tile_dpbusd(0, 4, 6);
    _tile_loadd(7, w + 1024, 64);   // channels 16-31
    _tile_dpbusd(1, 4, 7);
    if (two) {
      _tile_loadd(5, xs + 1024, 64);  // pixels 16-31
      _tile_dpbusd(2, 5, 6);
      _tile_dpbusd(3, 5, 7);
    }
    w += 2048;
  }
  alignas(64) int32_t t[16 * 16];
  // t[pixel][channel]: + base per channel (one vector per pixel row) before the transpose
  const auto store = [&](int half, int32_t* dst) {
    if (base)
      for (int p = 0; p < 16; ++p)
        _mm512_store_si512(t + p * 16, _mm512_add_epi32(_mm512_load_si512(t + p * 16), _mm512_loadu_si512(base + 16 * half)));
    transpose_store_16x16(t, dst, ldc);
  };
  _tile_stored(0, t, 64);
  store(0, c);
  _tile_stored(1, t, 64);
  store(1, c + 16 * ldc);
  if (!two) return;
  _tile_stored(2, t, 64);
  store(0, c + 16);
  _tile_stored(3, t, 64);
  store(1, c + 16 * ldc + 16);
}

// The peak probe's loop (peak_probe.cpp): 4 independent TDPBSUD per iteration on tiles in registers.
// The operands are spread over the whole byte range: on tiles of zeros TDPBSUD ran about 15 % faster
// than on such bytes (Xeon with AMX-INT8, 2026-12-07), which would overstate the peak.
int64_t amx_probe_loop_impl(int64_t iters) {
  alignas(64) int8_t a[16 * 64];
  alignas(64) uint8_t b[16 * 64];
  for (int i = 0; i < 16 * 64; ++i) {
    a[i] = int8_t(uint8_t(i * 37 + 11));
    b[i] = uint8_t(i * 101 + 7);
  }
  _tile_loadconfig(&tile_config());
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, a, 64);
  _tile_loadd(5, a, 64);
  _tile_loadd(6, b, 64);
  _tile_loadd(7, b, 64);
  for (int64_t k = 0; k < iters; ++k) {
    _tile_dpbsud(0, 4, 6);
    _tile_dpbsud(1, 4, 7);
    _tile_dpbsud(2, 5, 6);
    _tile_dpbsud(3, 5, 7);
  }
  alignas(64) int32_t c[16 * 16];
  _tile_stored(0, c, 64);
  return c[0];
}

// Linux hands out the AMX tile-data state only on request (once per process).
static bool tile_data_permitted() {
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  static const bool ok = syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  return ok;
}

}  // namespace hot_amx_ns
}  // namespace accelsim

#pragma GCC pop_options

namespace accelsim {
static const HotKernels* make_amx() {
  using namespace hot_amx_ns;
  const HotKernels* base = hot_avx512();
  if (!base || !__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-int8") || !tile_data_permitted())
    return nullptr;
  static const HotKernels k = [base] {
    HotKernels t = *base;
    t.u8s8 = TileShape{kMR, kNR, 4, kKGA};
    t.u8s8_int16_sums = false;
    t.ukr_u8s8 = ukr_u8s8;
    t.tile_begin = tile_begin;
    t.ukr_u8s8_implicit = ukr_u8s8_implicit;
    return t;
  }();
  return &k;
}

const HotKernels* hot_amx() {
  static const HotKernels* const k = make_amx();
  return k;
}

int64_t amx_probe_loop(int64_t iters) {
  if (!hot_amx()) fail("peak probe tdpbsud-amx is not supported on this CPU/build");
  return hot_amx_ns::amx_probe_loop_impl(iters);
}
}  // namespace accelsim
#else
namespace accelsim {
const HotKernels* hot_amx() { return nullptr; }
int64_t amx_probe_loop(int64_t) { fail("peak probe tdpbsud-amx is not supported on this CPU/build"); }
}  // namespace accelsim
#endif
