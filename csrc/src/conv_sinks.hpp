// Task sinks of the packed-GEMM convolutions (packed_gemm.hpp): what turns each task's blocks of
// GEMM sums into outputs. DirectSink for conv2d (im2col columns are output pixels); PhaseSink for
// conv_transpose2d (columns are input pixels: the col2im through phase planes). Outputs go to the
// output tensor, or per task to a hook (TaskOut) when they need a pass over the whole tensor first.
#pragma once
#include <algorithm>
#include <type_traits>
#include <vector>

#include "accelsim/hot.hpp"
#include "accelsim/kernels.hpp"

namespace accelsim {

// The hook of sinks that write straight into the output.
struct NoHook {
  template <class T>
  void operator()(const T*, int64_t, int64_t, int64_t, int64_t) const {}
};

// Where a task puts its outputs (channels co0..co0+nco, images img0..img0+nimg of out (N, Cout, OH,
// OW)): straight into `out`, or, when out is null, into a task-local buffer [img][co][OH*OW] that is
// handed to hook(buffer, co0, nco, img0, nimg) when the task is done.
template <class TOut, class Hook>
class TaskOut {
 public:
  TaskOut(const Geom& g, TOut* out, Hook hook, int64_t co0, int64_t nco, int64_t img0, int64_t nimg)
      : out_(out), hook_(hook), cout_(g.cout), P_(g.oh * g.ow), co0_(co0), nco_(nco), img0_(img0), nimg_(nimg) {
    if (!out_) buf_.resize(size_t(nimg * nco * P_));
  }
  TOut* plane(int64_t img, int64_t co) {  // global image and channel
    return out_ ? out_ + (img * cout_ + co) * P_ : buf_.data() + ((img - img0_) * nco_ + co - co0_) * P_;
  }
  void done() {
    if (!out_) hook_(static_cast<const TOut*>(buf_.data()), co0_, nco_, img0_, nimg_);
  }

 private:
  TOut* out_;
  Hook hook_;
  int64_t cout_, P_, co0_, nco_, img0_, nimg_;
  std::vector<TOut> buf_;
};

// The task sink for a convolution (im2col GEMM: rows = D rows per output channel co_base + m of
// group gi, columns = output pixels, whole images or any range): outputs start at bias, each C block adds its
// rows through add(const TC* C row + j, ldc, n, m, TOut* dst) (dst[i] += contribution of column j + i).
template <class TOut, class Hook, class Add>
class DirectSink {
 public:
  DirectSink(const Geom& g, int64_t D, const int64_t* bias, TOut* out, Hook hook, int64_t gi, int64_t co_base,
             int64_t m0, int64_t mc, int64_t c0, int64_t c1, Add add)
      : g_(g), D_(D), co0_(gi * g.cout_g() + co_base), m0_(m0), mc_(mc), add_(add),
        out_(g, out, hook, co0_ + m0 / D, mc / D, c0 / (g.oh * g.ow), (c1 - c0) / (g.oh * g.ow)) {
    const int64_t P = g.oh * g.ow;
    for (int64_t r = 0; r < mc; r += D) {  // columns c0..c1 (whole images unless the GEMM splits them)
      const int64_t co = co0_ + (m0 + r) / D;
      for (int64_t c = c0; c < c1;) {
        const int64_t im = c / P, p = c % P, run = std::min(c1 - c, P - p);
        TOut* o = out_.plane(im, co) + p;
        std::fill(o, o + run, bias ? TOut(bias[co]) : TOut(0));
        c += run;
      }
    }
  }
  template <class TC>
  void consume(int64_t n0, int64_t nb, const TC* C, int64_t ldc) {
    const int64_t P = g_.oh * g_.ow;
    for (int64_t r = 0; r < mc_; r += D_) {
      const int64_t m = (m0_ + r) / D_, co = co0_ + m;
      for (int64_t j = 0; j < nb;) {  // runs within one image
        const int64_t c = n0 + j, im = c / P, p = c % P, run = std::min(nb - j, P - p);
        add_(C + r * ldc + j, ldc, run, m, out_.plane(im, co) + p);
        j += run;
      }
    }
  }
  void finish() { out_.done(); }

 private:
  const Geom& g_;
  int64_t D_, co0_, m0_, mc_;  // co0_: the global channel of GEMM row 0
  Add add_;
  TaskOut<TOut, Hook> out_;
};

// The task sink of a conv2d whose sums go, C block by C block, to a row function instead of an
// accumulator tensor (conv_requant: requantized while the block is in cache): emit(co, img, p, sums,
// n) takes the final sums (bias and correction added: add(m) for GEMM row m of the task) of output
// pixels p .. p + n - 1 of channel co of image img. Each C block must hold whole sums (one K chunk:
// D = 1, no kchunk).
template <class Add, class Emit>
class RowSink {
 public:
  RowSink(const Geom& g, int64_t co_first, int64_t mc, Add add, Emit& emit)
      : P_(g.oh * g.ow), co0_(co_first), mc_(mc), add_(add), emit_(emit) {}
  void consume(int64_t n0, int64_t nb, const int32_t* C, int64_t ldc) {
    thread_local std::vector<int32_t> t;
    if (int64_t(t.size()) < nb) t.resize(size_t(nb));
    const HotKernels& hk = hot();
    for (int64_t r = 0; r < mc_; ++r) {
      const int32_t a = add_(r);
      for (int64_t j = 0; j < nb;) {  // runs within one image
        const int64_t c = n0 + j, im = c / P_, p = c % P_, run = std::min(nb - j, P_ - p);
        hk.store_strided_s32(C + r * ldc + j, run, a, t.data(), 1);
        emit_(co0_ + r, im, p, static_cast<const int32_t*>(t.data()), run);
        j += run;
      }
    }
  }
  void finish() {}

 private:
  int64_t P_, co0_, mc_;
  Add add_;
  Emit& emit_;
};

// Zero-free col2im of a transposed convolution through phase planes. Output pixel (oy, ox) has
// u = oy + pad_h = qy * sh + ry and v = ox + pad_w = qx * sw + rx; tap (ky, kx) adds input pixel
// (iy, ix) to phase (ry, rx) = ((ky*dh) mod sh, (kx*dw) mod sw) at (qy, qx) = (iy + ty, ix + tx),
// (ty, tx) = ((ky*dh) div sh, (kx*dw) div sw). The GEMM columns of an image are its input rows
// padded to W = w + Tx columns (Tx = max tx), so a tap adds a whole run of columns to its phase
// plane at one flat offset ty * W + tx: long contiguous vector adds instead of a scatter. Padding
// columns must contribute exactly zero. A phase plane has `plane_rows` rows of W (every qy of the
// output) plus Tx; each output is then written once: bias + its phase plane entry (0 where no tap
// lands; output_padding can put columns qx >= W there too).
// With whole_planes the GEMM columns of an image are its whole (zero-padded) plane, so the planes
// of consecutive images are contiguous and one add covers every image of a C block (more padding
// columns: worth it when the GEMM is cheap, as for XNOR-popcount).
struct PhaseGeom {
  int64_t sh, sw, ph, pw, Ty, Tx, W, plane_rows, plane, phases, cols;
  std::vector<int64_t> tap_phase, tap_shift;  // per tap ky * kw + kx
  PhaseGeom(const Geom& g, bool whole_planes)
      : sh(g.p.stride_h), sw(g.p.stride_w), ph(g.p.pad_h), pw(g.p.pad_w),
        Ty((g.kh - 1) * g.p.dil_h / g.p.stride_h), Tx((g.kw - 1) * g.p.dil_w / g.p.stride_w), W(g.w + Tx),
        plane_rows(std::max(g.h + Ty, (g.oh - 1 + g.p.pad_h) / g.p.stride_h + 1)), plane(plane_rows * W + Tx),
        phases(sh * sw), cols(whole_planes ? plane : g.h * W) {
    for (int64_t ky = 0; ky < g.kh; ++ky)
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t a = ky * g.p.dil_h, b = kx * g.p.dil_w;
        tap_phase.push_back((a % sh) * sw + b % sw);
        tap_shift.push_back((a / sh) * W + b / sw);
      }
  }
  int64_t cols_per_image() const { return cols; }
  // Whether GEMM column f of an image holds input pixel (f / W, f % W) (else it is padding).
  bool is_pixel(const Geom& g, int64_t f) const { return f < g.h * W && f % W < g.w; }
};

// The task sink for a transposed convolution (packed_gemm): rows m0..m0+mc are D rows per GEMM row
// m = (co_base + co_local, ky, kx) of group gi (whole output channels), columns c0..c1 whole
// images. consume() adds every C row into its phase plane through add(const TC* C row + j, ldc, n,
// m, f, TP* dst) (dst[i] += contribution of column j + i, f = that column's position in its image);
// finish() writes the task's outputs bias[co] + planes (TaskOut: into out, or a buffer to the hook).
template <class TP, class TOut, class Hook, class Add>
class PhaseSink {
 public:
  PhaseSink(const Geom& g, const PhaseGeom& pg, int64_t D, const int64_t* bias, TOut* out, Hook hook, int64_t gi,
            int64_t co_base, int64_t m0, int64_t mc, int64_t c0, int64_t c1, Add add)
      : g_(g), pg_(pg), D_(D), bias_(bias), m0_(m0), mc_(mc), co0_(m0 / D / (g.kh * g.kw)),
        cog_(gi * g.cout_g() + co_base + co0_), nco_(mc / D / (g.kh * g.kw)), img0_(c0 / pg.cols_per_image()),
        nimg_((c1 - c0) / pg.cols_per_image()), add_(add), out_(g, out, hook, cog_, nco_, img0_, nimg_) {
    // + the largest tap shift: with whole planes, a shifted run of padding columns (zero
    // contributions) may reach past the last plane.
    planes_.assign(size_t(nco_ * nimg_ * pg.phases * pg.plane + pg.Ty * pg.W + pg.Tx), TP(0));
  }
  template <class TC>
  void consume(int64_t n0, int64_t nb, const TC* C, int64_t ldc) {
    const int64_t T = g_.kh * g_.kw, P = pg_.cols_per_image();
    for (int64_t j = 0; j < nb;) {  // runs of columns within one image (any run with whole planes)
      const int64_t c = n0 + j, img = c / P, f = c % P, n = P == pg_.plane ? nb - j : std::min(nb - j, P - f);
      for (int64_t r = 0; r < mc_; r += D_) {
        const int64_t m = (m0_ + r) / D_, tap = m % T, co_l = m / T - co0_;
        TP* dst = plane(co_l, pg_.tap_phase[size_t(tap)], img - img0_) + f + pg_.tap_shift[size_t(tap)];
        add_(C + r * ldc + j, ldc, n, m, f, dst);
      }
      j += n;
    }
  }
  void finish() {
    const HotKernels& hk = hot();
    const int64_t sw = pg_.sw;
    // Stride 2 with every column inside the planes: each output row interleaves two phase rows.
    const bool pairs = std::is_same<TP, int32_t>::value && std::is_same<TOut, int32_t>::value && sw == 2 &&
                       (g_.ow - 1 + pg_.pw) / sw < pg_.W;
    for (int64_t co_l = 0; co_l < nco_; ++co_l) {
      const int64_t co = cog_ + co_l;
      const TOut b = bias_ ? TOut(bias_[co]) : TOut(0);
      for (int64_t im = 0; im < nimg_; ++im) {
        const TP* pl = plane(co_l, 0, im);  // phase (ry, rx) is pl + (ry * sw + rx) * phase_stride
        const int64_t phase_stride = nimg_ * pg_.plane;
        TOut* o = out_.plane(img0_ + im, co);
        if constexpr (std::is_same<TP, int32_t>::value && std::is_same<TOut, int32_t>::value) {
          if (pairs) {  // output rows oy = oy0, oy0 + sh, ... share a phase row ry and step qy by 1
            for (int64_t oy0 = 0; oy0 < std::min(g_.oh, pg_.sh); ++oy0) {
              const int64_t u = oy0 + pg_.ph, ry = u % pg_.sh, qy = u / pg_.sh;
              const int32_t* prow = pl + ry * sw * phase_stride + qy * pg_.W;  // phase (ry, 0), row qy
              // out[2i] from phase (pw mod 2) at qx = pw/2 + i, out[2i+1] from the other phase
              const int32_t* e = prow + (pg_.pw % 2) * phase_stride + pg_.pw / 2;
              const int32_t* d = prow + ((1 + pg_.pw) % 2) * phase_stride + (1 + pg_.pw) / 2;
              const int64_t rows = (g_.oh - oy0 + pg_.sh - 1) / pg_.sh;
              hk.interleave2_s32(e, d, pg_.W, rows, g_.ow / 2, b, o + oy0 * g_.ow, pg_.sh * g_.ow);
              for (int64_t r = 0; r < rows && g_.ow % 2; ++r)  // odd width: the last column
                o[(oy0 + r * pg_.sh) * g_.ow + g_.ow - 1] = b + e[r * pg_.W + g_.ow / 2];
            }
            continue;
          }
        }
        for (int64_t oy = 0; oy < g_.oh; ++oy) {
          const int64_t u = oy + pg_.ph, ry = u % pg_.sh, qy = u / pg_.sh;
          const TP* prow = pl + ry * sw * phase_stride + qy * pg_.W;  // phase (ry, 0), row qy
          TOut* orow = o + oy * g_.ow;
          for (int64_t rx = 0; rx < sw; ++rx) {  // ox = ox0 + i * sw has phase rx and qx = qx0 + i
            const int64_t ox0 = ((rx - pg_.pw) % sw + sw) % sw, qx0 = (ox0 + pg_.pw) / sw;
            const TP* p = prow + rx * phase_stride;
            int64_t ox = ox0, qx = qx0;
            for (; ox < g_.ow && qx < pg_.W; ox += sw, ++qx) orow[ox] = b + TOut(p[qx]);
            for (; ox < g_.ow; ox += sw) orow[ox] = b;  // beyond every tap (output_padding)
          }
        }
      }
    }
    out_.done();
  }

 private:
  // Planes are [co][phase][image][plane]: consecutive images' planes are contiguous.
  TP* plane(int64_t co_l, int64_t phase, int64_t im) {
    return &planes_[size_t(((co_l * pg_.phases + phase) * nimg_ + im) * pg_.plane)];
  }
  const Geom& g_;
  const PhaseGeom& pg_;
  int64_t D_;
  const int64_t* bias_;
  int64_t m0_, mc_, co0_, cog_, nco_, img0_, nimg_;  // co0_: first channel in GEMM rows, cog_: its global index
  Add add_;
  TaskOut<TOut, Hook> out_;
  std::vector<TP> planes_;
};

}  // namespace accelsim
