// Neural-network functions: convolutions, normalisation, pooling, activations and losses.
#include "common.h"

using rcl::OT;
using rcl::T;
using rcl::W;

static at::IntArrayRef two(const int64_t* p) { return at::IntArrayRef(p, 2); }


RCL_API rcl_tensor rcl_conv2d(rcl_tensor x, rcl_tensor w, rcl_tensor b, const int64_t* stride, const int64_t* padding,
                              const int64_t* dilation, int64_t groups) {
  RCL_TENSOR(at::conv2d(T(x), T(w), OT(b), two(stride), two(padding), two(dilation), groups))
}
RCL_API rcl_tensor rcl_conv_transpose2d(rcl_tensor x, rcl_tensor w, rcl_tensor b, const int64_t* stride,
                                        const int64_t* padding, const int64_t* output_padding, int64_t groups,
                                        const int64_t* dilation) {
  RCL_TENSOR(at::conv_transpose2d(T(x), T(w), OT(b), two(stride), two(padding), two(output_padding), groups,
                                  two(dilation)))
}
RCL_API rcl_tensor rcl_linear(rcl_tensor x, rcl_tensor w, rcl_tensor b) { RCL_TENSOR(at::linear(T(x), T(w), OT(b))) }

RCL_API rcl_tensor rcl_batch_norm(rcl_tensor x, rcl_tensor w, rcl_tensor b, rcl_tensor running_mean,
                                  rcl_tensor running_var, int32_t training, double momentum, double eps) {
  RCL_TENSOR(at::batch_norm(T(x), OT(w), OT(b), OT(running_mean), OT(running_var), training != 0, momentum, eps,
                            at::globalContext().userEnabledCuDNN()))
}
RCL_API rcl_tensor rcl_group_norm(rcl_tensor x, int64_t groups, rcl_tensor w, rcl_tensor b, double eps) {
  RCL_TENSOR(at::group_norm(T(x), groups, OT(w), OT(b), eps, at::globalContext().userEnabledCuDNN()))
}
RCL_API rcl_tensor rcl_layer_norm(rcl_tensor x, const int64_t* shape, int32_t n, rcl_tensor w, rcl_tensor b, double eps) {
  RCL_TENSOR(at::layer_norm(T(x), rcl::IA(shape, n), OT(w), OT(b), eps, at::globalContext().userEnabledCuDNN()))
}
RCL_API rcl_tensor rcl_dropout(rcl_tensor x, double p, int32_t train) { RCL_TENSOR(at::dropout(T(x), p, train != 0)) }

RCL_API rcl_tensor rcl_max_pool2d(rcl_tensor x, const int64_t* kernel, const int64_t* stride, const int64_t* padding,
                                  const int64_t* dilation, int32_t ceil_mode) {
  RCL_TENSOR(at::max_pool2d(T(x), two(kernel), two(stride), two(padding), two(dilation), ceil_mode != 0))
}
RCL_API rcl_tensor rcl_avg_pool2d(rcl_tensor x, const int64_t* kernel, const int64_t* stride, const int64_t* padding,
                                  int32_t ceil_mode, int32_t count_include_pad) {
  RCL_TENSOR(at::avg_pool2d(T(x), two(kernel), two(stride), two(padding), ceil_mode != 0, count_include_pad != 0))
}
RCL_API rcl_tensor rcl_adaptive_avg_pool2d(rcl_tensor x, const int64_t* out_size) {
  RCL_TENSOR(at::adaptive_avg_pool2d(T(x), two(out_size)))
}
RCL_API rcl_tensor rcl_interpolate(rcl_tensor x, const int64_t* out_size, double scale_h, double scale_w, int32_t mode,
                                   int32_t align_corners) {
  RCL_TRY
  c10::optional<double> sh, sw;
  if (scale_h > 0) sh = scale_h;
  if (scale_w > 0) sw = scale_w;
  if (mode == 0) return W(at::upsample_nearest2d(T(x), two(out_size), sh, sw));
  if (mode == 1) return W(at::upsample_bilinear2d(T(x), two(out_size), align_corners != 0, sh, sw));
  throw std::invalid_argument("unknown interpolation mode");
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_activation(int32_t op, rcl_tensor x, double a, double b) {
  RCL_TRY
  switch (op) {
    case RCL_A_LEAKY_RELU: return W(at::leaky_relu(T(x), a));
    case RCL_A_ELU: return W(at::elu(T(x), a));
    case RCL_A_GELU: return W(at::gelu(T(x), "none"));
    case RCL_A_GELU_TANH: return W(at::gelu(T(x), "tanh"));
    case RCL_A_SOFTPLUS: return W(at::softplus(T(x), a, b));
    case RCL_A_HARDTANH: return W(at::hardtanh(T(x), a, b));
    default: throw std::invalid_argument("unknown activation");
  }
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_softmax(int32_t log, rcl_tensor x, int64_t dim) {
  RCL_TENSOR(log ? at::log_softmax(T(x), dim) : at::softmax(T(x), dim))
}
RCL_API rcl_tensor rcl_cross_entropy(rcl_tensor x, rcl_tensor target, rcl_tensor weight, int32_t reduction,
                                     int64_t ignore_index, double label_smoothing) {
  RCL_TENSOR(at::cross_entropy_loss(T(x), T(target), OT(weight), reduction, ignore_index, label_smoothing))
}
RCL_API rcl_tensor rcl_nll_loss(rcl_tensor x, rcl_tensor target, rcl_tensor weight, int32_t reduction,
                                int64_t ignore_index) {
  RCL_TENSOR(at::nll_loss_nd(T(x), T(target), OT(weight), reduction, ignore_index))
}
RCL_API rcl_tensor rcl_kl_div(rcl_tensor x, rcl_tensor target, int32_t reduction, int32_t log_target) {
  RCL_TENSOR(at::kl_div(T(x), T(target), reduction, log_target != 0))
}
RCL_API rcl_tensor rcl_mse_loss(rcl_tensor x, rcl_tensor target, int32_t reduction) {
  RCL_TENSOR(at::mse_loss(T(x), T(target), reduction))
}
RCL_API rcl_tensor rcl_l1_loss(rcl_tensor x, rcl_tensor target, int32_t reduction) {
  RCL_TENSOR(at::l1_loss(T(x), T(target), reduction))
}
RCL_API rcl_tensor rcl_bce(rcl_tensor x, rcl_tensor target, rcl_tensor weight, int32_t reduction) {
  RCL_TENSOR(at::binary_cross_entropy(T(x), T(target), OT(weight), reduction))
}
RCL_API rcl_tensor rcl_bce_with_logits(rcl_tensor x, rcl_tensor target, rcl_tensor weight, rcl_tensor pos_weight,
                                       int32_t reduction) {
  RCL_TENSOR(at::binary_cross_entropy_with_logits(T(x), T(target), OT(weight), OT(pos_weight), reduction))
}
