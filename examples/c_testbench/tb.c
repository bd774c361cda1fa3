/* accelsim C testbench: replays exported golden vectors through the reference kernels of the C ABI
 * (accelsim.h, libaccelsim.so) and compares every layer's accumulators and outputs bit for bit.
 *
 *   tb VECTORS_DIR        (a directory written by `accelsim vectors export`)
 *
 * It reads VECTORS_DIR/vectors.txt (format: accelsim/vectors/sidecar.py) and the raw little-endian
 * .bin files it names, unpacks packed binary/ternary weights to the torch layout the C ABI takes,
 * calls accelsim_qconv / accelsim_bconv / accelsim_flexconv, then the layer's output stage
 * (accelsim_requantize, the sign of the accumulator, or the flexpoint ReLU), and checks that each
 * layer's input equals the previous layer's expected output (the chain). Exit status: 0 all equal,
 * 1 mismatches, 2 bad input or an error from the library.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <accelsim.h>

#define MAX_TENSORS 10
#define MAX_TOKENS 16

typedef struct {
  char name[16];
  int dtype; /* accelsim_dtype, or -1 for u64 (packed words) */
  int elem_size;
  int ndim;
  int64_t shape[4];
  int64_t count;
  void* data;
} tensor;

typedef struct {
  int index;
  char name[64];
  char kernel[16];
  accelsim_conv conv;
  int x_bits, x_signed, x_zp, w_kind, w_bits, acc_bits; /* qconv line */
  int act, rq_zp, out_bits, out_signed;                 /* requant line */
  int x_exp, w_exp, dynamic, out_exp, relu;             /* flex line */
  int packing;
  int64_t wshape[4];
  int ntensors;
  tensor t[MAX_TENSORS];
} layer;

static const char* g_dir;
static int64_t g_compared, g_mismatches;

static void die(const char* what, const char* detail) {
  fprintf(stderr, "tb: error: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(2);
}

static int split(char* line, char** tok) {
  int n = 0;
  for (char* p = strtok(line, " \t\r\n"); p && n < MAX_TOKENS; p = strtok(NULL, " \t\r\n")) tok[n++] = p;
  return n;
}

static int dtype_of(const char* s, int* size) {
  static const struct { const char* name; int code, size; } map[] = {
      {"i8", ACCELSIM_I8, 1}, {"u8", ACCELSIM_U8, 1}, {"i16", ACCELSIM_I16, 2}, {"u16", ACCELSIM_U16, 2},
      {"i32", ACCELSIM_I32, 4}, {"i64", ACCELSIM_I64, 8}, {"u64", -1, 8}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; ++i)
    if (!strcmp(s, map[i].name)) { *size = map[i].size; return map[i].code; }
  die("unknown dtype in vectors.txt", s);
  return 0;
}

/* "tensor NAME DTYPE NDIM D0 .. PATH": reads the raw binary, which must have exactly the size. */
static void load_tensor(layer* L, char** tok, int n) {
  if (L->ntensors == MAX_TENSORS || n < 5) die("malformed tensor line in vectors.txt", NULL);
  tensor* t = &L->t[L->ntensors++];
  snprintf(t->name, sizeof t->name, "%s", tok[1]);
  t->dtype = dtype_of(tok[2], &t->elem_size);
  t->ndim = atoi(tok[3]);
  if (t->ndim < 1 || t->ndim > 4 || n != 5 + t->ndim) die("malformed tensor line in vectors.txt", tok[1]);
  t->count = 1;
  for (int i = 0; i < t->ndim; ++i) t->count *= (t->shape[i] = atoll(tok[4 + i]));
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", g_dir, tok[4 + t->ndim]);
  FILE* f = fopen(path, "rb");
  if (!f) die("cannot open", path);
  t->data = malloc((size_t)(t->count * t->elem_size) + 1);
  size_t got = fread(t->data, 1, (size_t)(t->count * t->elem_size) + 1, f);
  fclose(f);
  if ((int64_t)got != t->count * t->elem_size) die("wrong size (truncated or too long)", path);
}

static tensor* find(layer* L, const char* name, int required) {
  for (int i = 0; i < L->ntensors; ++i)
    if (!strcmp(L->t[i].name, name)) return &L->t[i];
  if (required) die("missing tensor in vectors.txt", name);
  return NULL;
}

static accelsim_tensor view(const tensor* t) {
  accelsim_tensor v = {t->data, t->dtype, t->ndim, {1, 1, 1, 1}};
  for (int i = 0; i < t->ndim; ++i) v.shape[i] = t->shape[i];
  return v;
}

/* Packed weights -> int8 codes in torch layout (docs/vectors.md, accelsim/vectors/layout.py):
 * words[co][ky][kx][c / per_word], field c % per_word: sign64 1 bit (1 = +1, 0 = -1),
 * ternary2 2 bits (00 = 0, 01 = +1, 11 = -1). */
static tensor unpack_weights(const layer* L, const tensor* packed) {
  const int64_t d0 = L->wshape[0], d1 = L->wshape[1], kh = L->wshape[2], kw = L->wshape[3];
  const int64_t cin = L->conv.transposed ? d0 : d1, cout = L->conv.transposed ? d1 : d0;
  const int width = L->packing == 1 ? 1 : 2, per_word = 64 / width;
  const int64_t words = (cin + per_word - 1) / per_word;
  if (packed->count != cout * kh * kw * words) die("packed weights have the wrong size", L->name);
  tensor w = {"w", ACCELSIM_I8, 1, 4, {d0, d1, kh, kw}, d0 * d1 * kh * kw, NULL};
  int8_t* out = malloc((size_t)w.count);
  const uint64_t* src = packed->data;
  for (int64_t co = 0; co < cout; ++co)
    for (int64_t ky = 0; ky < kh; ++ky)
      for (int64_t kx = 0; kx < kw; ++kx)
        for (int64_t c = 0; c < cin; ++c) {
          uint64_t word = src[((co * kh + ky) * kw + kx) * words + c / per_word];
          unsigned f = (unsigned)(word >> (width * (c % per_word))) & ((1u << width) - 1);
          int8_t v = width == 1 ? (f ? 1 : -1) : (f == 1 ? 1 : f == 3 ? -1 : 0);
          if (width == 2 && f == 2) die("invalid ternary2 code 10", L->name);
          int64_t i = L->conv.transposed ? ((c * cout + co) * kh + ky) * kw + kx : ((co * cin + c) * kh + ky) * kw + kx;
          out[i] = v;
        }
  w.data = out;
  return w;
}

/* Compare a computed buffer with the expected tensor; print the first mismatches. */
static void compare(const layer* L, const char* what, const void* got, const tensor* exp, int got_size) {
  if (got_size != exp->elem_size) {
    fprintf(stderr, "tb: layer %d %s: element size %d, expected %d\n", L->index, what, got_size, exp->elem_size);
    exit(2);
  }
  int64_t bad = 0;
  for (int64_t i = 0; i < exp->count; ++i) {
    const char* a = (const char*)got + i * got_size;
    const char* b = (const char*)exp->data + i * got_size;
    if (memcmp(a, b, (size_t)got_size)) {
      if (bad < 5) {
        int64_t ea = 0, eb = 0; /* little-endian sign-extended values */
        memcpy(&ea, a, (size_t)got_size); memcpy(&eb, b, (size_t)got_size);
        if (got_size < 8) { int s = 64 - 8 * got_size; ea = (int64_t)((uint64_t)ea << s) >> s; eb = (int64_t)((uint64_t)eb << s) >> s; }
        printf("    MISMATCH layer %d %s[%lld]: got %lld, expected %lld\n", L->index, what, (long long)i, (long long)ea, (long long)eb);
      }
      ++bad;
    }
  }
  g_compared += exp->count;
  g_mismatches += bad;
  printf("  layer %d %-8s %-4s %8lld words, %lld mismatches\n", L->index, L->name, what, (long long)exp->count, (long long)bad);
}

static void check(int rc, const layer* L) {
  if (rc != ACCELSIM_OK) {
    fprintf(stderr, "tb: layer %d (%s): accelsim error %d: %s\n", L->index, L->name, rc, accelsim_last_error());
    exit(2);
  }
}

static void run_layer(layer* L) {
  tensor *x = find(L, "x", 1), *wt = find(L, "w", 1), *bias = find(L, "bias", 0), *y = find(L, "y", 1);
  tensor w = L->packing ? unpack_weights(L, wt) : *wt;
  accelsim_tensor tx = view(x), tw = view(&w), tb = bias ? view(bias) : (accelsim_tensor){0};
  int64_t shape[4];
  if (!strcmp(L->kernel, "flexconv")) {
    int16_t* out = malloc((size_t)y->count * 2);
    int32_t e = 0;
    int64_t over = 0, amax = 0;
    check(accelsim_flexconv(&tx, L->x_exp, &tw, L->w_exp, bias ? &tb : NULL, &L->conv, L->dynamic, L->out_exp,
                            shape, out, y->count * 2, &e, &over, &amax), L);
    if (L->relu)
      for (int64_t i = 0; i < y->count; ++i) out[i] = out[i] < 0 ? 0 : out[i];
    compare(L, "y", out, y, 2);
    if (e != L->out_exp) { printf("    MISMATCH layer %d exponent: got %d, expected %d\n", L->index, e, L->out_exp); ++g_mismatches; }
    free(out);
  } else {
    tensor* acc = find(L, "acc", 1);
    void* a = malloc((size_t)(acc->count * acc->elem_size));
    int32_t acc_bits = 32;
    if (!strcmp(L->kernel, "bconv")) {
      check(accelsim_bconv(&tx, &tw, bias ? &tb : NULL, &L->conv, shape, a, acc->count * 4), L);
    } else {
      check(accelsim_qconv_plan(&tx, L->x_bits, L->x_signed, L->x_zp, &tw, L->w_kind, L->w_bits, bias ? &tb : NULL,
                                &L->conv, shape, &acc_bits), L);
      if (acc_bits / 8 != acc->elem_size) die("accumulator width differs from the vectors", L->name);
      check(accelsim_qconv(&tx, L->x_bits, L->x_signed, L->x_zp, &tw, L->w_kind, L->w_bits, bias ? &tb : NULL,
                           &L->conv, a, acc->count * acc->elem_size), L);
    }
    compare(L, "acc", a, acc, acc_bits / 8);
    void* out = malloc((size_t)(y->count * y->elem_size));
    if (L->act == 4) { /* acc: y is the accumulators (the vector unit scales them in float) */
      memcpy(out, a, (size_t)(y->count * y->elem_size));
    } else if (L->act == 3) { /* sign: +1 where acc >= 0, else -1 */
      for (int64_t i = 0; i < acc->count; ++i) {
        int64_t v = acc_bits == 32 ? ((int32_t*)a)[i] : ((int64_t*)a)[i];
        ((int8_t*)out)[i] = v >= 0 ? 1 : -1;
      }
    } else {
      tensor *m0 = find(L, "m0", 1), *sh = find(L, "shift", 1), *lut = find(L, "lut", L->act == 2);
      accelsim_tensor tacc = view(acc), tm = view(m0), ts = view(sh), tl = lut ? view(lut) : (accelsim_tensor){0};
      tacc.data = a;
      check(accelsim_requantize(&tacc, ACCELSIM_RQ_INTEGER, &tm, &ts, NULL, NULL, L->rq_zp, L->out_bits,
                                L->out_signed, L->act, lut ? &tl : NULL, out, y->count * y->elem_size), L);
    }
    compare(L, "y", out, y, y->elem_size);
    free(a);
    free(out);
  }
  if (L->packing) free(w.data);
}

int main(int argc, char** argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]); return 2; }
  g_dir = argv[1];
  char path[4096], line[4096], *tok[MAX_TOKENS];
  snprintf(path, sizeof path, "%s/vectors.txt", g_dir);
  FILE* f = fopen(path, "r");
  if (!f) die("cannot open", path);
  printf("accelsim C testbench: ABI %d, ISA %s, vectors %s\n", accelsim_abi_version(), accelsim_active_isa(), g_dir);
  layer L, prev;
  int have_prev = 0, layers = 0, in_layer = 0, chained = 1;   /* sidecar "chain 0": layers do not feed each other */
  memset(&L, 0, sizeof L);
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    int n = split(line, tok);
    if (n == 0) continue;
    if (!strcmp(tok[0], "chain") && n == 2) {
      chained = atoi(tok[1]);
      continue;
    }
    if (!strcmp(tok[0], "layer") && n == 3) {
      memset(&L, 0, sizeof L);
      L.index = atoi(tok[1]);
      snprintf(L.name, sizeof L.name, "%s", tok[2]);
      in_layer = 1;
    } else if (!in_layer) {
      continue; /* header lines: accelsim_vectors, format, layers */
    } else if (!strcmp(tok[0], "kernel") && n == 2) {
      snprintf(L.kernel, sizeof L.kernel, "%s", tok[1]);
    } else if (!strcmp(tok[0], "conv") && n == 11) {
      int32_t* c[10] = {&L.conv.stride_h, &L.conv.stride_w, &L.conv.pad_h, &L.conv.pad_w, &L.conv.outpad_h,
                        &L.conv.outpad_w, &L.conv.dil_h, &L.conv.dil_w, &L.conv.groups, &L.conv.transposed};
      for (int i = 0; i < 10; ++i) *c[i] = atoi(tok[1 + i]);
    } else if (!strcmp(tok[0], "qconv") && n == 7) {
      L.x_bits = atoi(tok[1]); L.x_signed = atoi(tok[2]); L.x_zp = atoi(tok[3]);
      L.w_kind = atoi(tok[4]); L.w_bits = atoi(tok[5]); L.acc_bits = atoi(tok[6]);
    } else if (!strcmp(tok[0], "requant") && n == 5) {
      L.act = atoi(tok[1]); L.rq_zp = atoi(tok[2]); L.out_bits = atoi(tok[3]); L.out_signed = atoi(tok[4]);
    } else if (!strcmp(tok[0], "flex") && n == 6) {
      L.x_exp = atoi(tok[1]); L.w_exp = atoi(tok[2]); L.dynamic = atoi(tok[3]); L.out_exp = atoi(tok[4]);
      L.relu = atoi(tok[5]);
    } else if (!strcmp(tok[0], "weights") && n == 6) {
      L.packing = atoi(tok[1]);
      for (int i = 0; i < 4; ++i) L.wshape[i] = atoll(tok[2 + i]);
    } else if (!strcmp(tok[0], "tensor")) {
      load_tensor(&L, tok, n);
    } else if (!strcmp(tok[0], "end")) {
      run_layer(&L);
      tensor *x = find(&L, "x", 1), *py = have_prev ? find(&prev, "y", 1) : NULL;
      if (chained && py && prev.index + 1 == L.index) { /* chain: this input is the previous expected output */
        int same = py->count == x->count && py->elem_size == x->elem_size &&
                   !memcmp(py->data, x->data, (size_t)(x->count * x->elem_size));
        printf("  layer %d input == layer %d output: %s\n", L.index, prev.index, same ? "yes" : "NO");
        if (!same) ++g_mismatches;
      }
      if (have_prev)
        for (int i = 0; i < prev.ntensors; ++i) free(prev.t[i].data);
      prev = L;
      have_prev = 1;
      in_layer = 0;
      ++layers;
    } else {
      die("unrecognised line in vectors.txt", tok[0]);
    }
  }
  fclose(f);
  if (have_prev)
    for (int i = 0; i < prev.ntensors; ++i) free(prev.t[i].data);
  if (layers == 0) die("no layers in", path);
  printf("%s: %d layers, %lld words compared, %lld mismatches\n", g_mismatches ? "FAIL" : "PASS", layers,
         (long long)g_compared, (long long)g_mismatches);
  return g_mismatches ? 1 : 0;
}
