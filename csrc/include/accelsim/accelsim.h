/* accelsim C ABI: the bit-exact reference kernels for C and SystemVerilog DPI-C testbenches.
 *
 * Plain C types, no exceptions across the boundary: every function returns an accelsim_status;
 * on failure accelsim_last_error() gives a one-line message (thread-local). Tensors are
 * C-contiguous NCHW; weights in torch layout. Semantics: docs/quantization.md (golden model in
 * accelsim/formats). Link with -laccelsim (the libaccelsim.so shipped inside the Python package).
 */
#ifndef ACCELSIM_H
#define ACCELSIM_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACCELSIM_ABI_VERSION 1

typedef enum {
  ACCELSIM_OK = 0,
  ACCELSIM_EINVAL = 1,    /* bad shape, dtype, range or null pointer */
  ACCELSIM_EOVERFLOW = 2, /* a result cannot be represented (e.g. flexpoint exponent > 15) */
  ACCELSIM_EINTERNAL = 3
} accelsim_status;

typedef enum {
  ACCELSIM_I8 = 0, ACCELSIM_U8 = 1, ACCELSIM_I16 = 2, ACCELSIM_U16 = 3,
  ACCELSIM_I32 = 4, ACCELSIM_I64 = 5, ACCELSIM_F32 = 6
} accelsim_dtype;

typedef struct {
  const void* data;
  int32_t dtype; /* accelsim_dtype */
  int32_t ndim;  /* 0..4 */
  int64_t shape[4];
} accelsim_tensor;

typedef struct {
  int32_t stride_h, stride_w, pad_h, pad_w;
  int32_t outpad_h, outpad_w, dil_h, dil_w;
  int32_t groups;
  int32_t transposed; /* 0: conv2d, 1: conv_transpose2d */
} accelsim_conv;

typedef enum { ACCELSIM_W_FIXED = 0, ACCELSIM_W_TERNARY = 1, ACCELSIM_W_BINARY = 2 } accelsim_weight_kind;
typedef enum { ACCELSIM_RQ_INTEGER = 0, ACCELSIM_RQ_TORCH = 1 } accelsim_requant_mode;
typedef enum { ACCELSIM_ACT_NONE = 0, ACCELSIM_ACT_RELU = 1, ACCELSIM_ACT_LUT = 2 } accelsim_activation;

int accelsim_abi_version(void);
const char* accelsim_last_error(void);
const char* accelsim_active_isa(void);

/* Integer convolution (fixed point, ternary, binary weights): exact accumulators
 * acc = bias + sum (x - x_zero_point) * w; bias is int32 or int64 [Cout] (or NULL). The plan call gives the output shape and the accumulator
 * width (32 or 64); out must hold out_shape's product elements of int32_t or int64_t. */
int accelsim_qconv_plan(const accelsim_tensor* x, int32_t x_bits, int32_t x_signed, int32_t x_zero_point,
                        const accelsim_tensor* w, int32_t w_kind, int32_t w_bits, const accelsim_tensor* bias,
                        const accelsim_conv* conv, int64_t out_shape[4], int32_t* acc_bits);
int accelsim_qconv(const accelsim_tensor* x, int32_t x_bits, int32_t x_signed, int32_t x_zero_point,
                   const accelsim_tensor* w, int32_t w_kind, int32_t w_bits, const accelsim_tensor* bias,
                   const accelsim_conv* conv, void* out, int64_t out_bytes);

/* Requantize accumulators (int32 or int64, channel axis 1) to out_bits codes in the container type
 * (int8/uint8 up to 8 bits, int16/uint16 up to 16). Integer mode uses m0/shift (int32[1 or C]);
 * torch mode bias_f32/mult_f32 (float[1 or C]) with y = clamp(cvt(f32(fma(bias, 1, f32(wrap32(acc))) * mult)) + zp):
 * fbgemm with per-channel weights (bias already divided by s_x*s_w), and qnnpack with a zero bias.
 * Unused tensors may be NULL. */
int accelsim_requantize(const accelsim_tensor* acc, int32_t mode, const accelsim_tensor* m0,
                        const accelsim_tensor* shift, const accelsim_tensor* bias_f32,
                        const accelsim_tensor* mult_f32, int32_t zero_point, int32_t out_bits, int32_t out_signed,
                        int32_t act, const accelsim_tensor* lut, void* out, int64_t out_bytes);

/* Binary weights x binary activations (int8 in {-1,+1}), XNOR-popcount; out int32. */
int accelsim_bconv(const accelsim_tensor* x, const accelsim_tensor* w, const accelsim_tensor* bias,
                   const accelsim_conv* conv, int64_t out_shape[4], int32_t* out, int64_t out_bytes);

/* Flexpoint flex16+5 convolution: int16 mantissas with shared exponents in [-16, 15]; bias int64 at
 * exponent x_exp + w_exp (or NULL). dynamic != 0 picks the output exponent; otherwise out_exp is used
 * and overflowing outputs saturate and are counted. *out_exp_used, *overflows, *acc_max_abs receive
 * the result's exponent, saturation count and max |accumulator|. */
int accelsim_flexconv(const accelsim_tensor* x, int32_t x_exp, const accelsim_tensor* w, int32_t w_exp,
                      const accelsim_tensor* bias, const accelsim_conv* conv, int32_t dynamic, int32_t out_exp,
                      int64_t out_shape[4], int16_t* out, int64_t out_bytes, int32_t* out_exp_used,
                      int64_t* overflows, int64_t* acc_max_abs);

#ifdef __cplusplus
}
#endif
#endif /* ACCELSIM_H */
