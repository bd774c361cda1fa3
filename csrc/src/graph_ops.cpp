// Graph ops of the quantized runtime that move codes or table entries without arithmetic (golden
// models in accelsim/formats/vector.py: pad_codes, pixel_shuffle_codes, lut_codes; equal element for
// element by construction: every output element is a copy of one input element, of the constant, or
// of one table entry).
#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

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

// dst[0 .. n) = src[0 .. n) for n bytes, non-overlapping: 16-byte moves (the last one overlapping the
// previous) for n >= 16, inline: the rows of a pad are often 64-256 bytes, where a libc call per row
// cost about as much as the copy.
inline void copy_row_bytes(char* __restrict dst, const char* __restrict src, size_t n) {
  if (n < 16) {
    std::memcpy(dst, src, n);
    return;
  }
  size_t i = 0;
  for (; i + 16 <= n; i += 16) __builtin_memcpy(dst + i, src + i, 16);
  if (i < n) __builtin_memcpy(dst + n - 16, src + n - 16, 16);
}

// One plane: the h interior rows (left part, the input row, right part; the border columns' sources
// computed once per call), then each top / bottom row as a copy of the interior output row it
// mirrors (reflect, replicate) or the constant.
template <class T>
void pad_planes(const T* x, int64_t planes, int64_t h, int64_t w, int64_t top, int64_t bottom, int64_t left,
                int64_t right, int mode, T value, T* out) {
  const int64_t oh = h + top + bottom, ow = w + left + right;
  std::vector<int64_t> col(size_t(left + right));  // source columns of the left, then the right border
  for (int64_t j = 0; j < left; ++j) col[size_t(j)] = source(j - left, w, mode);
  for (int64_t j = 0; j < right; ++j) col[size_t(left + j)] = source(w + j, w, mode);
  const int64_t* lc = col.data();
  const int64_t* rc = col.data() + left;
  parallel_for(planes, [&](int64_t p) {
    const T* __restrict src = x + p * h * w;
    T* __restrict dst = out + p * oh * ow;
    for (int64_t iy = 0; iy < h; ++iy) {
      T* __restrict row = dst + (top + iy) * ow;
      const T* __restrict in = src + iy * w;
      if (mode == 0) {
        for (int64_t j = 0; j < left; ++j) row[j] = value;
        for (int64_t j = 0; j < right; ++j) row[left + w + j] = value;
      } else {
        for (int64_t j = 0; j < left; ++j) row[j] = in[lc[j]];
        for (int64_t j = 0; j < right; ++j) row[left + w + j] = in[rc[j]];
      }
      copy_row_bytes(reinterpret_cast<char*>(row + left), reinterpret_cast<const char*>(in), size_t(w) * sizeof(T));
    }
    for (int64_t oy = 0; oy < oh; ++oy) {
      if (oy >= top && oy < top + h) continue;
      T* row = dst + oy * ow;
      if (mode == 0) std::fill(row, row + ow, value);
      else std::memcpy(row, dst + (top + source(oy - top, h, mode)) * ow, size_t(ow) * sizeof(T));
    }
  });
}

// out[j] = tab[x[j]] for j < n (local restrict pointers: a byte store may alias anything, so captured
// pointers would be reloaded per element), unrolled by 4.
template <class TIn, class TOut>
void lut_span(const TIn* __restrict x, int64_t n, const TOut* __restrict tab, TOut* __restrict out) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const TOut a = tab[int64_t(x[j])], b = tab[int64_t(x[j + 1])], c = tab[int64_t(x[j + 2])],
               d = tab[int64_t(x[j + 3])];
    out[j] = a; out[j + 1] = b; out[j + 2] = c; out[j + 3] = d;
  }
  for (; j < n; ++j) out[j] = tab[int64_t(x[j])];
}

// out[i] = table[ch(i) * T + x[i] - min], T = 2^(8 sizeof(TIn)) entries per table; `outer` blocks of
// C channels of `inner` elements; table_channels 1 (one table) or C (one per channel, axis 1).
template <class TIn, class TOut>
void lut_run(const TIn* x, int64_t outer, int64_t C, int64_t inner, const TOut* table, bool per_channel, TOut* out) {
  constexpr int64_t T = int64_t(1) << (8 * sizeof(TIn));
  constexpr int64_t lo = std::is_signed<TIn>::value ? -(T / 2) : 0;
  const int64_t n = outer * C * inner;
  constexpr int64_t kBlock = 1 << 15;
  parallel_for((n + kBlock - 1) / kBlock, [&](int64_t blk) {
    const int64_t b1 = std::min(n, (blk + 1) * kBlock);
    for (int64_t i = blk * kBlock; i < b1;) {
      const int64_t row = i / inner, end = std::min(b1, (row + 1) * inner);
      lut_span(x + i, end - i, table + (per_channel ? (row % C) * T : 0) - lo, out + i);
      i = end;
    }
  });
}

template <class TIn>
void lut_by_out(const TIn* x, int64_t outer, int64_t C, int64_t inner, const void* table, bool per_channel,
                size_t out_size, void* out) {
  switch (out_size) {
    case 1: return lut_run(x, outer, C, inner, static_cast<const uint8_t*>(table), per_channel,
                           static_cast<uint8_t*>(out));
    case 2: return lut_run(x, outer, C, inner, static_cast<const uint16_t*>(table), per_channel,
                           static_cast<uint16_t*>(out));
    case 8: return lut_run(x, outer, C, inner, static_cast<const uint64_t*>(table), per_channel,
                           static_cast<uint64_t*>(out));
    default: fail("lut: table entries must be 1, 2 or 8 bytes");
  }
}

// out[k * stride] = in[k] for k < n (restrict locals, as lut_span).
template <class T>
void strided_copy(const T* __restrict in, int64_t n, int64_t stride, T* __restrict out) {
  for (int64_t k = 0; k < n; ++k) out[k * stride] = in[k];
}

// out[n, c, h*r + i, w*r + j] = x[n, c*r*r + i*r + j, h, w] (torch's pixel_shuffle).
template <class T>
void shuffle_run(const T* x, int64_t n, int64_t c, int64_t r, int64_t h, int64_t w, T* out) {
  const int64_t ow = w * r;
  parallel_for(n * c, [&](int64_t nc) {
    const T* src = x + nc * r * r * h * w;
    T* dst = out + nc * h * r * ow;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t i = 0; i < r; ++i) {
        T* row = dst + (y * r + i) * ow;
        for (int64_t j = 0; j < r; ++j) strided_copy(src + ((i * r + j) * h + y) * w, w, r, row + j);
      }
  });
}

}  // namespace

void lut_codes(const void* x, DType dtype, int64_t outer, int64_t channels, int64_t inner, const void* table,
               bool per_channel, size_t out_size, void* out) {
  if (outer < 0 || channels < 1 || inner < 0) fail("lut: sizes must be >= 0 (channels >= 1)");
  switch (dtype) {
    case DType::i8: return lut_by_out(static_cast<const int8_t*>(x), outer, channels, inner, table, per_channel,
                                      out_size, out);
    case DType::u8: return lut_by_out(static_cast<const uint8_t*>(x), outer, channels, inner, table, per_channel,
                                      out_size, out);
    case DType::i16: return lut_by_out(static_cast<const int16_t*>(x), outer, channels, inner, table, per_channel,
                                       out_size, out);
    case DType::u16: return lut_by_out(static_cast<const uint16_t*>(x), outer, channels, inner, table, per_channel,
                                       out_size, out);
    default: fail("lut: codes must be int8, uint8, int16 or uint16");
  }
}

void pixel_shuffle_codes(const void* x, size_t elem_size, int64_t n, int64_t c_out, int64_t r, int64_t h, int64_t w,
                         void* out) {
  if (n < 0 || c_out < 0 || r < 1 || h < 0 || w < 0) fail("pixel shuffle: sizes must be >= 0 and the factor >= 1");
  switch (elem_size) {
    case 1: return shuffle_run(static_cast<const uint8_t*>(x), n, c_out, r, h, w, static_cast<uint8_t*>(out));
    case 2: return shuffle_run(static_cast<const uint16_t*>(x), n, c_out, r, h, w, static_cast<uint16_t*>(out));
    case 4: return shuffle_run(static_cast<const uint32_t*>(x), n, c_out, r, h, w, static_cast<uint32_t*>(out));
    case 8: return shuffle_run(static_cast<const uint64_t*>(x), n, c_out, r, h, w, static_cast<uint64_t*>(out));
    default: fail("pixel shuffle: elements must be 1, 2, 4 or 8 bytes");
  }
}

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
