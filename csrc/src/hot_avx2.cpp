// AVX2 hot loops: compiled for avx2/fma/popcnt with a target pragma, selected at run time only on
// CPUs that support them (core.cpp). Standard headers are included before the pragma.
#include <cstdint>

#include "accelsim/hot.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx2,fma,popcnt,bmi,bmi2")

namespace accelsim {
namespace hot_avx2_ns {
#include "hot_generic.inc"
}  // namespace hot_avx2_ns
}  // namespace accelsim

#pragma GCC pop_options

namespace accelsim {
const HotKernels* hot_avx2() {
  static const HotKernels k{hot_avx2_ns::gemm_s16_s32_generic, hot_avx2_ns::gemm_s32_s64_generic,
                            hot_avx2_ns::xor_popcount_rows_generic};
  return &k;
}
}  // namespace accelsim
#else
namespace accelsim {
const HotKernels* hot_avx2() { return nullptr; }
}  // namespace accelsim
#endif
