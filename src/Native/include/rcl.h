/* rcl.h — the C ABI of RobustCli's native shim over libtorch.
 *
 * Rules every export follows:
 *  - one prefix (rcl_), opaque handles, one dispose per kind (rcl_tensor_free, rcl_generator_free);
 *  - arrays in as pointer + length; fixed-count results through out-pointers; variable-length
 *    results through a caller-supplied allocator (rcl_allocator);
 *  - nothing throws across the boundary: a failure returns NULL (handles) or a non-zero status
 *    (int32_t), and rcl_last_error() then holds libtorch's short message for the calling thread.
 *    Every call clears the error first, so a NULL with no error set is a legitimate "none"
 *    (e.g. the gradient of a leaf that has none yet).
 *
 * Dtype codes are c10::ScalarType values (0 uint8, 1 int8, 2 int16, 3 int32, 4 int64, 5 float16,
 * 6 float32, 7 float64, 11 bool, 15 bfloat16); -1 means "keep"/"default".
 * Device: type 0 = cpu, 1 = cuda, with an index (-1 = current). */
#ifndef RCL_H
#define RCL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define RCL_API __declspec(dllexport)
#else
#define RCL_API __attribute__((visibility("default")))
#endif

typedef struct rcl_tensor_s* rcl_tensor;
typedef struct rcl_generator_s* rcl_generator;
typedef void* (*rcl_allocator)(size_t bytes);

/* Scalars cross as (double, int64, kind): kind 0 = floating, 1 = integral, 2 = bool. */

/* ---- errors and lifetime (common.cpp) ---- */
RCL_API const char* rcl_last_error(void);
RCL_API void rcl_tensor_free(rcl_tensor t);
RCL_API int64_t rcl_live_tensors(void);

/* ---- properties (tensor_ops.cpp) ---- */
RCL_API int32_t rcl_ndim(rcl_tensor t);
RCL_API int32_t rcl_shape(rcl_tensor t, int64_t* out, int32_t cap);
RCL_API int32_t rcl_strides(rcl_tensor t, int64_t* out, int32_t cap);
RCL_API int64_t rcl_numel(rcl_tensor t);
RCL_API int32_t rcl_dtype(rcl_tensor t);
RCL_API int32_t rcl_device(rcl_tensor t, int32_t* type, int32_t* index);
RCL_API int32_t rcl_is_contiguous(rcl_tensor t, int32_t memory_format);
RCL_API int32_t rcl_item(rcl_tensor t, double* d, int64_t* i);
RCL_API int32_t rcl_to_string(rcl_tensor t, rcl_allocator alloc, char** out);

/* ---- creation (tensor_ops.cpp) ---- */
enum { RCL_FACTORY_EMPTY = 0, RCL_FACTORY_ZEROS, RCL_FACTORY_ONES, RCL_FACTORY_RAND, RCL_FACTORY_RANDN };
RCL_API rcl_tensor rcl_factory(int32_t op, const int64_t* sizes, int32_t n, int32_t dtype, int32_t dev_type,
                               int32_t dev_index, int32_t requires_grad, rcl_generator gen);
RCL_API rcl_tensor rcl_full(const int64_t* sizes, int32_t n, double v, int64_t iv, int32_t kind, int32_t dtype,
                            int32_t dev_type, int32_t dev_index, int32_t requires_grad);
RCL_API rcl_tensor rcl_randint(int64_t low, int64_t high, const int64_t* sizes, int32_t n, int32_t dtype,
                               int32_t dev_type, int32_t dev_index, rcl_generator gen);
RCL_API rcl_tensor rcl_randperm(int64_t n, int32_t dtype, int32_t dev_type, int32_t dev_index, rcl_generator gen);
RCL_API rcl_tensor rcl_arange(double start, double end, double step, int32_t dtype, int32_t dev_type, int32_t dev_index);
RCL_API rcl_tensor rcl_linspace(double start, double end, int64_t steps, int32_t dtype, int32_t dev_type, int32_t dev_index);
RCL_API rcl_tensor rcl_eye(int64_t n, int64_t m, int32_t dtype, int32_t dev_type, int32_t dev_index);
RCL_API rcl_tensor rcl_like(int32_t op, rcl_tensor t, int32_t dtype, rcl_generator gen);
RCL_API rcl_tensor rcl_full_like(rcl_tensor t, double v, int64_t iv, int32_t kind);

/* ---- raw bytes in and out (serialization.cpp) ---- */
RCL_API rcl_tensor rcl_from_bytes(const void* data, int64_t nbytes, const int64_t* sizes, int32_t n, int32_t dtype,
                                  int32_t dev_type, int32_t dev_index, int32_t requires_grad);
RCL_API int32_t rcl_to_bytes(rcl_tensor t, void* dst, int64_t nbytes);
RCL_API int64_t rcl_nbytes(rcl_tensor t);

/* ---- conversion and copies (tensor_ops.cpp) ---- */
RCL_API rcl_tensor rcl_to(rcl_tensor t, int32_t dtype, int32_t dev_type, int32_t dev_index, int32_t non_blocking,
                          int32_t copy);
RCL_API rcl_tensor rcl_clone(rcl_tensor t);
RCL_API rcl_tensor rcl_contiguous(rcl_tensor t, int32_t memory_format); /* 0 contiguous, 1 channels_last */
RCL_API int32_t rcl_copy_(rcl_tensor dst, rcl_tensor src);
RCL_API int32_t rcl_set_data(rcl_tensor t, rcl_tensor src);
RCL_API int32_t rcl_fill_(rcl_tensor t, double v, int64_t iv, int32_t kind);
RCL_API int32_t rcl_zero_(rcl_tensor t);
RCL_API int32_t rcl_random_(int32_t op, rcl_tensor t, double a, double b, rcl_generator gen); /* 0 uniform, 1 normal, 2 bernoulli(a) */

/* ---- element-wise (tensor_ops.cpp) ---- */
enum {
  RCL_U_NEG = 0, RCL_U_ABS, RCL_U_SIGN, RCL_U_EXP, RCL_U_LOG, RCL_U_LOG1P, RCL_U_SQRT, RCL_U_RSQRT, RCL_U_FLOOR,
  RCL_U_ROUND, RCL_U_SIGMOID, RCL_U_TANH, RCL_U_RELU, RCL_U_SILU, RCL_U_LOGICAL_NOT, RCL_U_CEIL, RCL_U_SIN,
  RCL_U_COS, RCL_U_SQUARE, RCL_U_RECIPROCAL, RCL_U_TRUNC, RCL_U_ISNAN, RCL_U_ISINF, RCL_U_ISFINITE, RCL_U_LOG2,
  RCL_U_EXPM1, RCL_U_BITWISE_NOT
};
RCL_API rcl_tensor rcl_unary(int32_t op, rcl_tensor a);
RCL_API int32_t rcl_unary_(int32_t op, rcl_tensor a);

enum {
  RCL_B_ADD = 0, RCL_B_SUB, RCL_B_MUL, RCL_B_DIV, RCL_B_POW, RCL_B_MINIMUM, RCL_B_MAXIMUM, RCL_B_EQ, RCL_B_NE,
  RCL_B_LT, RCL_B_LE, RCL_B_GT, RCL_B_GE, RCL_B_LOGICAL_AND, RCL_B_LOGICAL_OR, RCL_B_LOGICAL_XOR, RCL_B_REMAINDER,
  RCL_B_FMOD, RCL_B_ATAN2, RCL_B_FLOOR_DIVIDE, RCL_B_BITWISE_AND, RCL_B_BITWISE_OR
};
/* alpha scales b for add/sub (a + alpha*b). */
RCL_API rcl_tensor rcl_binary(int32_t op, rcl_tensor a, rcl_tensor b, double alpha);
RCL_API int32_t rcl_binary_(int32_t op, rcl_tensor a, rcl_tensor b, double alpha);
/* reverse = 1 computes (scalar op a), e.g. 1 - a, 2 / a, 2 ** a. */
RCL_API rcl_tensor rcl_binary_scalar(int32_t op, rcl_tensor a, double v, int64_t iv, int32_t kind, double alpha,
                                     int32_t reverse);
RCL_API int32_t rcl_binary_scalar_(int32_t op, rcl_tensor a, double v, int64_t iv, int32_t kind, double alpha);
/* flags: bit 0 = has min, bit 1 = has max. */
RCL_API rcl_tensor rcl_clamp(rcl_tensor a, double lo, double hi, int32_t flags);
RCL_API int32_t rcl_clamp_(rcl_tensor a, double lo, double hi, int32_t flags);
RCL_API rcl_tensor rcl_clamp_tensor(rcl_tensor a, rcl_tensor lo, rcl_tensor hi);
RCL_API int32_t rcl_clamp_tensor_(rcl_tensor a, rcl_tensor lo, rcl_tensor hi);
RCL_API rcl_tensor rcl_where(rcl_tensor cond, rcl_tensor a, rcl_tensor b);
/* 0 addcmul, 1 addcdiv, 2 lerp: a + value * (b op c) / lerp(a, b, weight=value) */
RCL_API rcl_tensor rcl_ternary(int32_t op, rcl_tensor a, rcl_tensor b, rcl_tensor c, double value);

/* ---- reductions (tensor_ops.cpp); ndims < 0 reduces over everything ---- */
enum { RCL_R_SUM = 0, RCL_R_MEAN, RCL_R_AMAX, RCL_R_AMIN, RCL_R_ALL, RCL_R_ANY, RCL_R_COUNT_NONZERO, RCL_R_LOGSUMEXP,
       RCL_R_PROD };
RCL_API rcl_tensor rcl_reduce(int32_t op, rcl_tensor a, const int64_t* dims, int32_t ndims, int32_t keepdim,
                              int32_t dtype);
RCL_API rcl_tensor rcl_norm(rcl_tensor a, double p, const int64_t* dims, int32_t ndims, int32_t keepdim);
RCL_API rcl_tensor rcl_var(int32_t is_std, rcl_tensor a, const int64_t* dims, int32_t ndims, int32_t unbiased,
                           int32_t keepdim);
RCL_API int32_t rcl_minmax_dim(int32_t is_min, rcl_tensor a, int64_t dim, int32_t keepdim, rcl_tensor* values,
                               rcl_tensor* indices);
RCL_API rcl_tensor rcl_argminmax(int32_t is_min, rcl_tensor a, int64_t dim, int32_t has_dim, int32_t keepdim);
RCL_API int32_t rcl_topk(rcl_tensor a, int64_t k, int64_t dim, int32_t largest, int32_t sorted, rcl_tensor* values,
                         rcl_tensor* indices);
RCL_API rcl_tensor rcl_cumsum(rcl_tensor a, int64_t dim);
RCL_API int32_t rcl_sort(rcl_tensor a, int64_t dim, int32_t descending, int32_t stable, rcl_tensor* values,
                         rcl_tensor* indices);

/* ---- linear algebra (tensor_ops.cpp) ---- */
RCL_API rcl_tensor rcl_matmul(int32_t op, rcl_tensor a, rcl_tensor b); /* 0 matmul, 1 mm, 2 bmm */

/* ---- shape and indexing (tensor_ops.cpp) ---- */
enum { RCL_S_RESHAPE = 0, RCL_S_VIEW, RCL_S_EXPAND, RCL_S_PERMUTE, RCL_S_REPEAT, RCL_S_FLIP, RCL_S_SQUEEZE_DIMS };
RCL_API rcl_tensor rcl_shape_op(int32_t op, rcl_tensor a, const int64_t* dims, int32_t n);
RCL_API rcl_tensor rcl_flatten(rcl_tensor a, int64_t start, int64_t end);
RCL_API rcl_tensor rcl_squeeze(rcl_tensor a, int64_t dim, int32_t all);
RCL_API rcl_tensor rcl_unsqueeze(rcl_tensor a, int64_t dim);
RCL_API rcl_tensor rcl_transpose(rcl_tensor a, int64_t d0, int64_t d1);
RCL_API rcl_tensor rcl_slice(rcl_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step);
RCL_API rcl_tensor rcl_narrow(rcl_tensor a, int64_t dim, int64_t start, int64_t length);
RCL_API rcl_tensor rcl_select(rcl_tensor a, int64_t dim, int64_t index);
RCL_API rcl_tensor rcl_index_select(rcl_tensor a, int64_t dim, rcl_tensor index);
RCL_API rcl_tensor rcl_index(rcl_tensor a, rcl_tensor index);
RCL_API int32_t rcl_index_put_(rcl_tensor a, rcl_tensor index, rcl_tensor values, int32_t accumulate);
RCL_API rcl_tensor rcl_gather(rcl_tensor a, int64_t dim, rcl_tensor index);
/* op: 0 scatter(src), 1 scatter_add(src) */
RCL_API rcl_tensor rcl_scatter(int32_t op, rcl_tensor a, int64_t dim, rcl_tensor index, rcl_tensor src);
RCL_API rcl_tensor rcl_scatter_value(rcl_tensor a, int64_t dim, rcl_tensor index, double v, int64_t iv, int32_t kind);
RCL_API rcl_tensor rcl_masked_fill(rcl_tensor a, rcl_tensor mask, double v, int64_t iv, int32_t kind);
RCL_API int32_t rcl_masked_fill_(rcl_tensor a, rcl_tensor mask, double v, int64_t iv, int32_t kind);
RCL_API rcl_tensor rcl_masked_select(rcl_tensor a, rcl_tensor mask);
RCL_API rcl_tensor rcl_cat(const rcl_tensor* ts, int32_t n, int64_t dim, int32_t stack);
/* split_size > 0: equal pieces of that size; otherwise sizes[0..nsizes). chunks > 0: torch.chunk. */
RCL_API int32_t rcl_split(rcl_tensor a, int64_t split_size, const int64_t* sizes, int32_t nsizes, int64_t chunks,
                          int64_t dim, rcl_allocator alloc, rcl_tensor** out, int32_t* count);
RCL_API rcl_tensor rcl_roll(rcl_tensor a, const int64_t* shifts, int32_t nshifts, const int64_t* dims, int32_t ndims);
RCL_API rcl_tensor rcl_rot90(rcl_tensor a, int64_t k, int64_t d0, int64_t d1);
/* mode: 0 constant, 1 reflect, 2 replicate, 3 circular */
RCL_API rcl_tensor rcl_pad(rcl_tensor a, const int64_t* pads, int32_t n, int32_t mode, double value);
RCL_API rcl_tensor rcl_one_hot(rcl_tensor a, int64_t num_classes);
RCL_API rcl_tensor rcl_nonzero(rcl_tensor a);
RCL_API rcl_tensor rcl_as_strided(rcl_tensor a, const int64_t* sizes, const int64_t* strides, int32_t n, int64_t offset);

/* ---- neural-network functions (nn_ops.cpp) ---- */
RCL_API rcl_tensor rcl_conv2d(rcl_tensor x, rcl_tensor w, rcl_tensor b, const int64_t* stride, const int64_t* padding,
                              const int64_t* dilation, int64_t groups);
RCL_API rcl_tensor rcl_conv_transpose2d(rcl_tensor x, rcl_tensor w, rcl_tensor b, const int64_t* stride,
                                        const int64_t* padding, const int64_t* output_padding, int64_t groups,
                                        const int64_t* dilation);
RCL_API rcl_tensor rcl_linear(rcl_tensor x, rcl_tensor w, rcl_tensor b);
RCL_API rcl_tensor rcl_batch_norm(rcl_tensor x, rcl_tensor w, rcl_tensor b, rcl_tensor running_mean,
                                  rcl_tensor running_var, int32_t training, double momentum, double eps);
RCL_API rcl_tensor rcl_group_norm(rcl_tensor x, int64_t groups, rcl_tensor w, rcl_tensor b, double eps);
RCL_API rcl_tensor rcl_layer_norm(rcl_tensor x, const int64_t* shape, int32_t n, rcl_tensor w, rcl_tensor b, double eps);
RCL_API rcl_tensor rcl_dropout(rcl_tensor x, double p, int32_t train);
RCL_API rcl_tensor rcl_max_pool2d(rcl_tensor x, const int64_t* kernel, const int64_t* stride, const int64_t* padding,
                                  const int64_t* dilation, int32_t ceil_mode);
RCL_API rcl_tensor rcl_avg_pool2d(rcl_tensor x, const int64_t* kernel, const int64_t* stride, const int64_t* padding,
                                  int32_t ceil_mode, int32_t count_include_pad);
RCL_API rcl_tensor rcl_adaptive_avg_pool2d(rcl_tensor x, const int64_t* out_size);
/* mode: 0 nearest, 1 bilinear; scales <= 0 means "not given" */
RCL_API rcl_tensor rcl_interpolate(rcl_tensor x, const int64_t* out_size, double scale_h, double scale_w, int32_t mode,
                                   int32_t align_corners);
enum { RCL_A_LEAKY_RELU = 0, RCL_A_ELU, RCL_A_GELU, RCL_A_GELU_TANH, RCL_A_SOFTPLUS, RCL_A_HARDTANH };
RCL_API rcl_tensor rcl_activation(int32_t op, rcl_tensor x, double a, double b);
RCL_API rcl_tensor rcl_softmax(int32_t log, rcl_tensor x, int64_t dim);
/* reduction: 0 none, 1 mean, 2 sum (at::Reduction) */
RCL_API rcl_tensor rcl_cross_entropy(rcl_tensor x, rcl_tensor target, rcl_tensor weight, int32_t reduction,
                                     int64_t ignore_index, double label_smoothing);
RCL_API rcl_tensor rcl_nll_loss(rcl_tensor x, rcl_tensor target, rcl_tensor weight, int32_t reduction,
                                int64_t ignore_index);
RCL_API rcl_tensor rcl_kl_div(rcl_tensor x, rcl_tensor target, int32_t reduction, int32_t log_target);
RCL_API rcl_tensor rcl_mse_loss(rcl_tensor x, rcl_tensor target, int32_t reduction);
RCL_API rcl_tensor rcl_l1_loss(rcl_tensor x, rcl_tensor target, int32_t reduction);
RCL_API rcl_tensor rcl_bce(rcl_tensor x, rcl_tensor target, rcl_tensor weight, int32_t reduction);
RCL_API rcl_tensor rcl_bce_with_logits(rcl_tensor x, rcl_tensor target, rcl_tensor weight, rcl_tensor pos_weight,
                                       int32_t reduction);

/* ---- autograd (autograd.cpp) ---- */
RCL_API int32_t rcl_set_requires_grad(rcl_tensor t, int32_t flag);
RCL_API int32_t rcl_requires_grad(rcl_tensor t);
RCL_API int32_t rcl_is_leaf(rcl_tensor t);
RCL_API int32_t rcl_retain_grad(rcl_tensor t);
RCL_API rcl_tensor rcl_grad(rcl_tensor t);
RCL_API int32_t rcl_set_grad(rcl_tensor t, rcl_tensor g);
RCL_API rcl_tensor rcl_detach(rcl_tensor t);
RCL_API int32_t rcl_detach_(rcl_tensor t);
/* retain_graph: -1 = default (create_graph), 0, 1 */
RCL_API int32_t rcl_backward(rcl_tensor t, rcl_tensor grad, int32_t retain_graph, int32_t create_graph);
/* results: caller buffer of n_in handles; an unused input gives NULL when allow_unused. */
RCL_API int32_t rcl_autograd_grad(const rcl_tensor* outs, int32_t n_out, const rcl_tensor* ins, int32_t n_in,
                                  const rcl_tensor* grad_outs, int32_t n_grad_outs, int32_t retain_graph,
                                  int32_t create_graph, int32_t allow_unused, rcl_tensor* results);
RCL_API int32_t rcl_grad_enabled(void);
RCL_API int32_t rcl_set_grad_enabled(int32_t flag); /* returns the previous value */
/* grads of n tensors into results (NULL where none): one call for a whole parameter list */
RCL_API int32_t rcl_grads(const rcl_tensor* ts, int32_t n, rcl_tensor* results);
RCL_API int32_t rcl_zero_grads(const rcl_tensor* ts, int32_t n, int32_t set_to_none);

/* ---- multi-tensor (_foreach_) updates for optimisers (autograd.cpp) ---- */
/* in place on self: 0 add(other, alpha), 1 mul(other), 2 div(other) ... (lists of equal length) */
RCL_API int32_t rcl_foreach_binary_(int32_t op, const rcl_tensor* self, const rcl_tensor* other, int32_t n, double alpha);
/* in place on self with a scalar: 0 add, 1 mul, 2 div, 3 sub */
RCL_API int32_t rcl_foreach_scalar_(int32_t op, const rcl_tensor* self, int32_t n, double s);
/* in place on self: 0 addcmul(t1, t2, value), 1 addcdiv(t1, t2, value) */
RCL_API int32_t rcl_foreach_pointwise_(int32_t op, const rcl_tensor* self, const rcl_tensor* t1, const rcl_tensor* t2,
                                       int32_t n, double value);
/* out of place: 0 sqrt, 1 clone, 2 neg; results in caller buffer of n */
RCL_API int32_t rcl_foreach_unary(int32_t op, const rcl_tensor* self, int32_t n, rcl_tensor* results);
/* out of place: self + alpha * other; results in caller buffer of n */
RCL_API int32_t rcl_foreach_add(const rcl_tensor* self, const rcl_tensor* other, int32_t n, double alpha,
                                rcl_tensor* results);
RCL_API int32_t rcl_foreach_add_scalar(const rcl_tensor* self, int32_t n, double s, rcl_tensor* results);

/* ---- runtime (backend.cpp) ---- */
RCL_API const char* rcl_torch_version(void);
RCL_API int32_t rcl_manual_seed(uint64_t seed);
RCL_API int32_t rcl_set_num_threads(int32_t n);
RCL_API int32_t rcl_get_num_threads(void);
RCL_API int32_t rcl_set_num_interop_threads(int32_t n);
/* glibc malloc: serve allocations below mmap_threshold from the heap and keep up to trim_threshold
   bytes of freed heap, so large activations are reused instead of page-faulted in afresh each step. */
RCL_API int32_t rcl_cpu_allocator_retain(int64_t mmap_threshold, int64_t trim_threshold);
RCL_API int32_t rcl_cuda_is_available(void);
RCL_API int32_t rcl_cuda_device_count(void);
RCL_API int32_t rcl_cudnn_is_available(void);
RCL_API int32_t rcl_set_cudnn_flags(int32_t benchmark, int32_t deterministic); /* -1 = leave */
RCL_API int32_t rcl_get_cudnn_flags(int32_t* benchmark, int32_t* deterministic);
/* autocast on CUDA: enter returns a nesting token (0 on error), exit restores */
RCL_API int32_t rcl_autocast_enter(int32_t dev_type, int32_t dtype);
RCL_API int32_t rcl_autocast_exit(int32_t dev_type);
RCL_API int32_t rcl_autocast_enabled(int32_t dev_type);
RCL_API rcl_generator rcl_generator_new(int32_t dev_type, int32_t dev_index, uint64_t seed);
RCL_API rcl_generator rcl_generator_default(int32_t dev_type, int32_t dev_index);
RCL_API void rcl_generator_free(rcl_generator g);
RCL_API int32_t rcl_generator_set_seed(rcl_generator g, uint64_t seed);
RCL_API int32_t rcl_generator_seed(rcl_generator g, uint64_t* seed);
RCL_API rcl_tensor rcl_generator_get_state(rcl_generator g);
RCL_API int32_t rcl_generator_set_state(rcl_generator g, rcl_tensor state);

/* ---- CUDA-only (cuda.cpp with RCL_WITH_CUDA, else cuda_stub.cpp) ---- */
RCL_API int32_t rcl_cuda_compiled(void);
RCL_API int32_t rcl_cuda_synchronize(int32_t dev_index);
RCL_API int32_t rcl_cuda_manual_seed_all(uint64_t seed);
RCL_API int32_t rcl_cuda_memory_stats(int32_t dev_index, int64_t* allocated, int64_t* peak_allocated, int64_t* reserved);
RCL_API int32_t rcl_cuda_reset_peak(int32_t dev_index);
RCL_API int32_t rcl_cuda_empty_cache(void);

#ifdef __cplusplus
}
#endif
#endif
