/*
 * rtune's optional native matmul: single-precision GEMM from the system BLAS (OpenBLAS on Linux, Accelerate on
 * macOS), called on tensors that live in the wasm backend's heap. JavaScript passes a Float32Array view of the wasm
 * Memory (a SharedArrayBuffer when wasm threads are on) and element offsets into it; nothing is copied.
 * Built by scripts/build-native.mjs; engine/native-matmul.ts registers it over the wasm backend's matmul kernels.
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>

/* The CBLAS prototype, declared here so that no cblas.h location has to be found at build time. */
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                        float beta, float *c, int ldc);
#ifdef RTUNE_OPENBLAS
extern void openblas_set_num_threads(int n);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
#endif

#define CHECK(call)                                                                                                                         \
  do {                                                                                                                                      \
    if ((call) != napi_ok) {                                                                                                                \
      napi_throw_error(env, NULL, "rtune_blas: N-API call failed: " #call);                                                                \
      return NULL;                                                                                                                          \
    }                                                                                                                                       \
  } while (0)

static int64_t int_arg(napi_env env, napi_value v, int *ok) {
  int64_t x = 0;
  if (napi_get_value_int64(env, v, &x) != napi_ok) *ok = 0;
  return x;
}

/* The Float32Array argument's data and length (in floats); NULL when it is not a Float32Array. */
static float *heap_arg(napi_env env, napi_value v, size_t *length) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return NULL;
  napi_typedarray_type type;
  void *data = NULL;
  napi_value buf;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, length, &data, &buf, &offset) != napi_ok || type != napi_float32_array) return NULL;
  return (float *)data;
}

/*
 * sgemm(heap, batch, m, n, k, a, aStride, b, bStride, c, transA, transB): for i < batch,
 * C_i [m, n] = op(A_i) op(B_i), A_i at heap[a + i*aStride] ([m, k], or [k, m] when transA), B_i at heap[b + i*bStride]
 * ([k, n], or [n, k] when transB), C_i at heap[c + i*m*n]; row-major. A stride of 0 broadcasts one matrix.
 * Every offset is range-checked against the heap first: a wrong offset throws instead of writing anywhere.
 */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 12) {
    napi_throw_type_error(env, NULL, "rtune_blas.sgemm: expected 12 arguments");
    return NULL;
  }
  size_t len = 0;
  float *heap = heap_arg(env, argv[0], &len);
  if (!heap) {
    napi_throw_type_error(env, NULL, "rtune_blas.sgemm: the first argument must be a Float32Array");
    return NULL;
  }
  int ok = 1;
  int64_t v[11];
  for (int i = 0; i < 9; i++) v[i] = int_arg(env, argv[i + 1], &ok);
  bool ta = false, tb = false;
  if (napi_get_value_bool(env, argv[10], &ta) != napi_ok || napi_get_value_bool(env, argv[11], &tb) != napi_ok) ok = 0;
  int64_t batch = v[0], m = v[1], n = v[2], k = v[3], a = v[4], as = v[5], b = v[6], bs = v[7], c = v[8];
  if (!ok || batch < 0 || m < 0 || n < 0 || k < 0 || a < 0 || as < 0 || b < 0 || bs < 0 || c < 0 || m > INT32_MAX || n > INT32_MAX ||
      k > INT32_MAX) {
    napi_throw_range_error(env, NULL, "rtune_blas.sgemm: bad sizes or offsets");
    return NULL;
  }
  if (batch == 0 || m == 0 || n == 0) return NULL;
  int64_t L = (int64_t)len;
  if (a + (batch - 1) * as + m * k > L || b + (batch - 1) * bs + k * n > L || c + batch * m * n > L) {
    napi_throw_range_error(env, NULL, "rtune_blas.sgemm: a matrix lies outside the heap");
    return NULL;
  }
  if (k == 0) {
    memset(heap + c, 0, (size_t)(batch * m * n) * sizeof(float));
    return NULL;
  }
  int lda = ta ? (int)m : (int)k;
  int ldb = tb ? (int)k : (int)n;
  for (int64_t i = 0; i < batch; i++) {
    cblas_sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, (int)m, (int)n, (int)k, 1.0f, heap + a + i * as, lda, heap + b + i * bs, ldb, 0.0f,
                heap + c + i * m * n, (int)n);
  }
  return NULL;
}

/* setThreads(n): the BLAS's thread count (OpenBLAS; a no-op on Accelerate). Returns the count now in effect (0: unknown). */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t want = 1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &want) != napi_ok || want < 1) {
    napi_throw_range_error(env, NULL, "rtune_blas.setThreads: expected a positive integer");
    return NULL;
  }
  int now = 0;
#ifdef RTUNE_OPENBLAS
  openblas_set_num_threads(want);
  now = openblas_get_num_threads();
#endif
  napi_value out;
  CHECK(napi_create_int32(env, now, &out));
  return out;
}

/* info(): which BLAS this build calls. */
static napi_value blas_info(napi_env env, napi_callback_info info) {
  (void)info;
  const char *text =
#ifdef RTUNE_OPENBLAS
      openblas_get_config();
#elif defined(__APPLE__)
      "Accelerate";
#else
      "cblas";
#endif
  napi_value out;
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out));
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, blas_info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}
