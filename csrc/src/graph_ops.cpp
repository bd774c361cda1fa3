// Graph ops of the quantized runtime that move codes without arithmetic (golden model: numpy's
// np.pad in accelsim/runtime/quantized.py _run_codes; equal element for element by construction:
// every output element is a copy of one input element or the constant).
#include <algorithm>
#include <cstring>
#include <string>

#include "accelsim/kernels.hpp"
#include "accelsim/parallel.hpp"
#include "validate.hpp"

namespace accelsim {

namespace {

// Source index of padded coordinate i (in [-lo, n + hi)) of an axis of n values.
inline int64_t source(int64_t i, int64_t n, int mode) {
  if (i >= 0 && i < n) return i;
  if (mode == 1) return i < 0 ? -i : 2 * (n - 1) - i;  // reflect without repeating the edge
  return i < 0 ? 0 : n - 1;                            // replicate
}

template <class T>
void pad_planes(const T* x, int64_t planes, int64_t h, int64_t w, int64_t top, int64_t bottom, int64_t left,
                int64_t right, int mode, T value, T* out) {
  const int64_t oh = h + top + bottom, ow = w + left + right;
  parallel_for(planes, [&](int64_t p) {
    const T* src = x + p * h * w;
    T* dst = out + p * oh * ow;
    for (int64_t oy = 0; oy < oh; ++oy) {
      T* row = dst + oy * ow;
      const int64_t iy = oy - top;
      if (mode == 0 && (iy < 0 || iy >= h)) {
        std::fill(row, row + ow, value);
        continue;
      }
      const T* in = src + source(iy, h, mode) * w;
      for (int64_t ox = 0; ox < left; ++ox) row[ox] = mode == 0 ? value : in[source(ox - left, w, mode)];
      std::memcpy(row + left, in, size_t(w) * sizeof(T));
      for (int64_t ox = left + w; ox < ow; ++ox) row[ox] = mode == 0 ? value : in[source(ox - left, w, mode)];
    }
  });
}

}  // namespace

void pad_codes(const void* x, DType dtype, int64_t planes, int64_t h, int64_t w, int64_t top, int64_t bottom,
               int64_t left, int64_t right, int mode, int32_t value, void* out) {
  if (mode < 0 || mode > 2) fail("pad: mode must be 0 (constant), 1 (reflect) or 2 (replicate)");
  if (planes < 0 || h < 1 || w < 1 || top < 0 || bottom < 0 || left < 0 || right < 0)
    fail("pad: sizes must be >= 1 and pads >= 0");
  if (mode == 1 && (top >= h || bottom >= h || left >= w || right >= w))
    fail("pad: reflect padding must be smaller than the input (" + std::to_string(h) + " x " + std::to_string(w) + ")");
  switch (dtype) {
    case DType::i8:
      if (value < -128 || value > 127) fail("pad: value out of the int8 range");
      return pad_planes(static_cast<const int8_t*>(x), planes, h, w, top, bottom, left, right, mode, int8_t(value),
                        static_cast<int8_t*>(out));
    case DType::u8:
      if (value < 0 || value > 255) fail("pad: value out of the uint8 range");
      return pad_planes(static_cast<const uint8_t*>(x), planes, h, w, top, bottom, left, right, mode, uint8_t(value),
                        static_cast<uint8_t*>(out));
    case DType::i16:
      if (value < -32768 || value > 32767) fail("pad: value out of the int16 range");
      return pad_planes(static_cast<const int16_t*>(x), planes, h, w, top, bottom, left, right, mode, int16_t(value),
                        static_cast<int16_t*>(out));
    case DType::u16:
      if (value < 0 || value > 65535) fail("pad: value out of the uint16 range");
      return pad_planes(static_cast<const uint16_t*>(x), planes, h, w, top, bottom, left, right, mode,
                        uint16_t(value), static_cast<uint16_t*>(out));
    default: fail("pad: codes must be int8, uint8, int16 or uint16");
  }
}

}  // namespace accelsim
