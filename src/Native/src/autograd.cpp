// Autograd (backward, autograd::grad with double backward, grad mode) and the multi-tensor
// (_foreach_) updates the optimisers are written with.
#include "common.h"

#include <torch/csrc/autograd/autograd.h>

using rcl::T;
using rcl::TL;
using rcl::W;

static c10::optional<bool> retain_of(int32_t r) {
  if (r < 0) return c10::nullopt;
  return r != 0;
}


RCL_API int32_t rcl_set_requires_grad(rcl_tensor t, int32_t flag) { RCL_STATUS(T(t).set_requires_grad(flag != 0)) }
RCL_API int32_t rcl_requires_grad(rcl_tensor t) { RCL_TRY return T(t).requires_grad() ? 1 : 0; RCL_CATCH(-1) }
RCL_API int32_t rcl_is_leaf(rcl_tensor t) { RCL_TRY return T(t).is_leaf() ? 1 : 0; RCL_CATCH(-1) }
RCL_API int32_t rcl_retain_grad(rcl_tensor t) { RCL_STATUS(T(t).retain_grad()) }
RCL_API rcl_tensor rcl_grad(rcl_tensor t) { RCL_TENSOR(T(t).grad()) }
RCL_API int32_t rcl_set_grad(rcl_tensor t, rcl_tensor g) {
  RCL_TRY
  if (g == nullptr)
    T(t).mutable_grad().reset();
  else
    T(t).mutable_grad() = T(g);
  return 0;
  RCL_CATCH(1)
}
RCL_API rcl_tensor rcl_detach(rcl_tensor t) { RCL_TENSOR(T(t).detach()) }
RCL_API int32_t rcl_detach_(rcl_tensor t) { RCL_STATUS(T(t).detach_()) }

RCL_API int32_t rcl_backward(rcl_tensor t, rcl_tensor grad, int32_t retain_graph, int32_t create_graph) {
  RCL_STATUS(T(t).backward(rcl::UT(grad), retain_of(retain_graph), create_graph != 0))
}

RCL_API int32_t rcl_autograd_grad(const rcl_tensor* outs, int32_t n_out, const rcl_tensor* ins, int32_t n_in,
                                  const rcl_tensor* grad_outs, int32_t n_grad_outs, int32_t retain_graph,
                                  int32_t create_graph, int32_t allow_unused, rcl_tensor* results) {
  RCL_TRY
  torch::autograd::variable_list go;
  for (int32_t i = 0; i < n_grad_outs; ++i) go.push_back(rcl::UT(grad_outs[i]));
  auto r = torch::autograd::grad(TL(outs, n_out), TL(ins, n_in), go, retain_of(retain_graph), create_graph != 0,
                                 allow_unused != 0);
  for (int32_t i = 0; i < n_in; ++i) results[i] = W(r[i]);
  return 0;
  RCL_CATCH(1)
}

RCL_API int32_t rcl_grad_enabled(void) { return at::GradMode::is_enabled() ? 1 : 0; }
RCL_API int32_t rcl_set_grad_enabled(int32_t flag) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(flag != 0);
  return prev ? 1 : 0;
}

RCL_API int32_t rcl_grads(const rcl_tensor* ts, int32_t n, rcl_tensor* results) {
  RCL_TRY
  for (int32_t i = 0; i < n; ++i) results[i] = W(T(ts[i]).grad());
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_zero_grads(const rcl_tensor* ts, int32_t n, int32_t set_to_none) {
  RCL_TRY
  for (int32_t i = 0; i < n; ++i) {
    auto& g = T(ts[i]).mutable_grad();
    if (!g.defined()) continue;
    if (set_to_none) {
      g.reset();
    } else {
      if (g.grad_fn()) g = g.detach();
      else g.requires_grad_(false);
      g.zero_();
    }
  }
  return 0;
  RCL_CATCH(1)
}

RCL_API int32_t rcl_foreach_binary_(int32_t op, const rcl_tensor* self, const rcl_tensor* other, int32_t n,
                                    double alpha) {
  RCL_TRY
  auto a = TL(self, n);
  auto b = TL(other, n);
  switch (op) {
    case 0: at::_foreach_add_(a, b, alpha); break;
    case 1: at::_foreach_mul_(a, b); break;
    case 2: at::_foreach_div_(a, b); break;
    default: throw std::invalid_argument("unknown foreach binary op");
  }
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_foreach_scalar_(int32_t op, const rcl_tensor* self, int32_t n, double s) {
  RCL_TRY
  auto a = TL(self, n);
  switch (op) {
    case 0: at::_foreach_add_(a, s); break;
    case 1: at::_foreach_mul_(a, s); break;
    case 2: at::_foreach_div_(a, s); break;
    case 3: at::_foreach_sub_(a, s); break;
    default: throw std::invalid_argument("unknown foreach scalar op");
  }
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_foreach_pointwise_(int32_t op, const rcl_tensor* self, const rcl_tensor* t1, const rcl_tensor* t2,
                                       int32_t n, double value) {
  RCL_TRY
  auto a = TL(self, n);
  auto b = TL(t1, n);
  auto c = TL(t2, n);
  if (op == 0)
    at::_foreach_addcmul_(a, b, c, value);
  else if (op == 1)
    at::_foreach_addcdiv_(a, b, c, value);
  else
    throw std::invalid_argument("unknown foreach pointwise op");
  return 0;
  RCL_CATCH(1)
}
static void fill_results(std::vector<at::Tensor>&& r, rcl_tensor* results) {
  for (size_t i = 0; i < r.size(); ++i) results[i] = W(r[i]);
}
RCL_API int32_t rcl_foreach_unary(int32_t op, const rcl_tensor* self, int32_t n, rcl_tensor* results) {
  RCL_TRY
  auto a = TL(self, n);
  switch (op) {
    case 0: fill_results(at::_foreach_sqrt(a), results); break;
    case 1: {
      std::vector<at::Tensor> r;
      for (auto& t : a) r.push_back(t.detach().clone());
      fill_results(std::move(r), results);
      break;
    }
    case 2: fill_results(at::_foreach_neg(a), results); break;
    default: throw std::invalid_argument("unknown foreach unary op");
  }
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_foreach_add(const rcl_tensor* self, const rcl_tensor* other, int32_t n, double alpha,
                                rcl_tensor* results) {
  RCL_TRY
  fill_results(at::_foreach_add(TL(self, n), TL(other, n), alpha), results);
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_foreach_add_scalar(const rcl_tensor* self, int32_t n, double s, rcl_tensor* results) {
  RCL_TRY
  fill_results(at::_foreach_add(TL(self, n), s), results);
  return 0;
  RCL_CATCH(1)
}
