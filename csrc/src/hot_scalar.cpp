// Portable scalar hot loops (baseline ISA of the build).
#include "accelsim/hot.hpp"

namespace accelsim {
namespace hot_scalar_ns {
#include "hot_generic.inc"
}  // namespace hot_scalar_ns

const HotKernels& hot_scalar() {
  static const HotKernels k{hot_scalar_ns::ukr_s16_generic, hot_scalar_ns::ukr_u8s8_generic,
                            hot_scalar_ns::ukr_f64_generic,
                            hot_scalar_ns::gemm_s32_s64_generic,
                            hot_scalar_ns::xor_popcount_gemm_generic,
                            hot_scalar_ns::xor_popcount_rows_generic};
  return k;
}

// AVX-512 (VNNI / VPOPCNTDQ) kernels are not built yet: no machine here can run them, and an
// untested SIMD path has no place in a bit-exact library. isa_supported(avx512) is therefore false.
const HotKernels* hot_avx512() { return nullptr; }

}  // namespace accelsim
