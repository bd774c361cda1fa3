// Portable scalar hot loops (baseline ISA of the build): the reference every SIMD table must equal.
// Its tile geometry differs from the SIMD ones on purpose: the driver must not depend on it.
#include <cstring>

#include "accelsim/hot.hpp"
#include "mutants.hpp"  // test builds only (hot_generic.inc)

namespace accelsim {
namespace hot_scalar_ns {
#include "hot_generic.inc"
}  // namespace hot_scalar_ns

const HotKernels& hot_scalar() {
  using namespace hot_scalar_ns;
  static const HotKernels k{
      /*s16=*/{4, 16, 2}, /*u8s8=*/{4, 16, 4}, /*xnor=*/{4, 4, 1}, /*u8s8_int16_sums=*/false,
      ukr_s16_generic<4, 16, 2>, ukr_u8s8_generic<4, 16, 4>, ukr_xnor_generic<4, 4>,
      gemm_s32_s64_generic, xor_popcount_rows_generic, add_row_s32_generic, interleave2_s32_generic,
      pack_signs_block_generic,
      max_abs_s64_generic, round_s64_s16_generic, compact_s64_generic,
      requant_row_generic<int8_t>, requant_row_generic<uint8_t>, requant_row_generic<int16_t>,
      requant_row_generic<uint16_t>, /*direct_row_u8s8=*/nullptr, plane_sums_i16_generic,
      normalize_row_s32_generic, norm_row_i16_generic,
      norm_codes_i16_generic<uint8_t>, norm_codes_i16_generic<uint16_t>,
      quantize_row_generic<int8_t>, quantize_row_generic<uint8_t>, quantize_row_generic<int16_t>,
      quantize_row_generic<uint16_t>, store_strided_s32_generic,
      /*tile_begin=*/nullptr, hash_bytes_generic, /*ukr_u8s8_implicit=*/nullptr,
      /*xnor_conv=*/{4, 8, 1}, ukr_xnor_conv_generic<4, 8>, pack_signs_f64_block_generic, xnor_row_f64_generic,
      dense_u8s8_generic, store_strided_codes_generic};
  return k;
}

}  // namespace accelsim
