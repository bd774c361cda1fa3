// Peak probes: how many multiply-accumulates per second this machine's instructions sustain, for the
// benchmarks' "fraction of peak" columns (benchmarks/bench_kernels.py). Each probe runs, on every
// thread of the pool at once, a loop of independent instructions on registers (no memory traffic):
// 12 accumulator chains, each instruction's result feeding the next iteration's same chain, so
// throughput, not latency, bounds the loop. MACs per instruction:
//   vpdpbusd zmm 64 (u8 x s8), vpdpwssd zmm 32 (s16 x s16), vfmadd zmm fp32 16,
//   vpopcntq zmm 512 (binary MACs: 8 words x 64 bits; the xnor kernel also spends a vpxorq and a
//   vpaddq per vpopcntq, so its ceiling is lower), vpmaddubsw ymm 32 (u8 x s8 pairs into int16),
//   vpmaddwd ymm 16, vfmadd ymm fp32 8, tdpbsud (AMX) 16 x 16 x 64 = 16384.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"
#include "accelsim/parallel.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace accelsim {
namespace {

constexpr int kChains = 12;

// The loop bodies; `sink` keeps the results alive.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int64_t loop_vpdpbusd(int64_t iters) {
  __m512i a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm512_set1_epi32(i);
  __m512i b = _mm512_set1_epi32(0x01010101), c = _mm512_set1_epi32(0x02020202);
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) a[i] = _mm512_dpbusd_epi32(a[i], b, c);
    __asm__ volatile("" : "+v"(b));
  }
  int64_t s = 0;
  for (int i = 0; i < kChains; ++i) s += _mm512_reduce_add_epi32(a[i]);
  return s;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) int64_t loop_vpdpwssd(int64_t iters) {
  __m512i a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm512_set1_epi32(i);
  __m512i b = _mm512_set1_epi32(0x00010001), c = _mm512_set1_epi32(0x00020002);
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) a[i] = _mm512_dpwssd_epi32(a[i], b, c);
    __asm__ volatile("" : "+v"(b));
  }
  int64_t s = 0;
  for (int i = 0; i < kChains; ++i) s += _mm512_reduce_add_epi32(a[i]);
  return s;
}

__attribute__((target("avx512f"))) int64_t loop_fma_zmm(int64_t iters) {
  __m512 a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm512_set1_ps(float(i));
  __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
    __asm__ volatile("" : "+v"(b));
  }
  float s = 0;
  for (int i = 0; i < kChains; ++i) s += _mm512_reduce_add_ps(a[i]);
  return int64_t(s);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) int64_t loop_vpopcntq(int64_t iters) {
  __m512i a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm512_set1_epi64(0x5555 + i);
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) a[i] = _mm512_popcnt_epi64(a[i]);
  }
  int64_t s = 0;
  for (int i = 0; i < kChains; ++i) s += _mm512_reduce_add_epi64(a[i]);
  return s;
}

__attribute__((target("avx2"))) int64_t loop_vpmaddubsw(int64_t iters) {
  __m256i a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm256_set1_epi16(short(i));
  __m256i c = _mm256_set1_epi8(1);
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) a[i] = _mm256_maddubs_epi16(a[i], c);
    __asm__ volatile("" : "+v"(c));
  }
  int64_t s = 0;
  for (int i = 0; i < kChains; ++i) s += _mm256_extract_epi16(a[i], 0);
  return s;
}

__attribute__((target("avx2"))) int64_t loop_vpmaddwd(int64_t iters) {
  __m256i a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm256_set1_epi16(short(i));
  __m256i c = _mm256_set1_epi16(1);
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) a[i] = _mm256_madd_epi16(a[i], c);
    __asm__ volatile("" : "+v"(c));
  }
  int64_t s = 0;
  for (int i = 0; i < kChains; ++i) s += _mm256_extract_epi32(a[i], 0);
  return s;
}

__attribute__((target("avx2,fma"))) int64_t loop_fma_ymm(int64_t iters) {
  __m256 a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm256_set1_ps(float(i));
  __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
    __asm__ volatile("" : "+v"(b));
  }
  float s = 0;
  for (int i = 0; i < kChains; ++i) {
    alignas(32) float t[8];
    _mm256_store_ps(t, a[i]);
    s += t[0];
  }
  return int64_t(s);
}

struct Probe {
  const char* name;
  int64_t instrs_per_iter, macs_per_instr;
  int64_t (*loop)(int64_t);
};

volatile int64_t g_sink = 0;  // keeps the loops' results observable

bool supported(const std::string& name) {
  if (name == "vpdpbusd-zmm" || name == "vpdpwssd-zmm")
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
  if (name == "fma-zmm") return __builtin_cpu_supports("avx512f");
  if (name == "vpopcntq-zmm") return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
  if (name == "vpmaddubsw-ymm" || name == "vpmaddwd-ymm") return __builtin_cpu_supports("avx2");
  if (name == "fma-ymm") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (name == "tdpbsud-amx") return hot_amx() != nullptr;
  return false;
}

}  // namespace

const char* const* peak_probe_names() {
  static const char* const names[] = {"vpdpbusd-zmm", "vpdpwssd-zmm", "fma-zmm", "vpopcntq-zmm", "vpmaddubsw-ymm",
                                      "vpmaddwd-ymm", "fma-ymm", "tdpbsud-amx", nullptr};
  return names;
}

int64_t amx_probe_loop(int64_t iters);  // hot_amx.cpp

double peak_probe(const std::string& name, int64_t iters) {
  static const Probe probes[] = {
      {"vpdpbusd-zmm", kChains, 64, loop_vpdpbusd},     {"vpdpwssd-zmm", kChains, 32, loop_vpdpwssd},
      {"fma-zmm", kChains, 16, loop_fma_zmm},           {"vpopcntq-zmm", kChains, 512, loop_vpopcntq},
      {"vpmaddubsw-ymm", kChains, 32, loop_vpmaddubsw}, {"vpmaddwd-ymm", kChains, 16, loop_vpmaddwd},
      {"fma-ymm", kChains, 8, loop_fma_ymm},            {"tdpbsud-amx", 4, 16 * 16 * 64, amx_probe_loop}};
  if (iters < 1 || iters > (int64_t(1) << 40)) fail("iters must be in [1, 2^40]");
  for (const Probe& p : probes) {
    if (name != p.name) continue;
    if (!supported(name)) fail("peak probe " + name + " is not supported on this CPU/build");
    // One item per thread; each waits (at most 1 s) until every thread has started, so the loops run
    // at the same time; the rate is all threads' work over the slowest thread's time.
    std::atomic<int64_t> sink{0}, started{0};
    std::atomic<int64_t> slowest_ns{1};
    const int threads = num_threads();
    parallel_for(threads, [&](int64_t) {
      started += 1;
      const auto wait0 = std::chrono::steady_clock::now();
      while (started.load() < threads && std::chrono::steady_clock::now() - wait0 < std::chrono::seconds(1)) {
      }
      const auto t0 = std::chrono::steady_clock::now();
      sink += p.loop(iters);
      const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
      int64_t prev = slowest_ns.load();
      while (ns > prev && !slowest_ns.compare_exchange_weak(prev, ns)) {
      }
    });
    g_sink = sink.load();
    const double dt = double(slowest_ns.load()) * 1e-9;
    return double(started.load()) * double(iters) * double(p.instrs_per_iter) * double(p.macs_per_instr) / dt;
  }
  fail("unknown peak probe '" + name + "'");
}

}  // namespace accelsim
#else
namespace accelsim {
const char* const* peak_probe_names() {
  static const char* const names[] = {nullptr};
  return names;
}
double peak_probe(const std::string& name, int64_t) { fail("unknown peak probe '" + name + "'"); }
}  // namespace accelsim
#endif
