// Tensor creation, element-wise math, reductions, shape and indexing.
#include "common.h"

#include <cmath>
#include <limits>
#include <sstream>

using rcl::DEV;
using rcl::IA;
using rcl::OD;
using rcl::OPTS;
using rcl::S;
using rcl::T;
using rcl::W;


// ---- properties ----
RCL_API int32_t rcl_ndim(rcl_tensor t) { RCL_TRY return static_cast<int32_t>(T(t).dim()); RCL_CATCH(-1) }

// Copies up to cap values and returns the full count, so a caller with too small a buffer can tell.
static int32_t copy_dims(at::IntArrayRef dims, int64_t* out, int32_t cap) {
  for (size_t i = 0; i < dims.size() && static_cast<int32_t>(i) < cap; ++i) out[i] = dims[i];
  return static_cast<int32_t>(dims.size());
}
RCL_API int32_t rcl_shape(rcl_tensor t, int64_t* out, int32_t cap) { RCL_TRY return copy_dims(T(t).sizes(), out, cap); RCL_CATCH(-1) }
RCL_API int32_t rcl_strides(rcl_tensor t, int64_t* out, int32_t cap) { RCL_TRY return copy_dims(T(t).strides(), out, cap); RCL_CATCH(-1) }
RCL_API int64_t rcl_numel(rcl_tensor t) { RCL_TRY return T(t).numel(); RCL_CATCH(-1) }
RCL_API int32_t rcl_dtype(rcl_tensor t) { RCL_TRY return static_cast<int32_t>(T(t).scalar_type()); RCL_CATCH(-1) }
RCL_API int32_t rcl_device(rcl_tensor t, int32_t* type, int32_t* index) {
  RCL_TRY
  auto d = T(t).device();
  *type = d.is_cuda() ? 1 : (d.is_cpu() ? 0 : static_cast<int32_t>(d.type()) + 100);
  *index = d.has_index() ? d.index() : -1;
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_is_contiguous(rcl_tensor t, int32_t memory_format) {
  RCL_TRY
  return T(t).is_contiguous(memory_format == 1 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous) ? 1 : 0;
  RCL_CATCH(-1)
}
RCL_API int32_t rcl_item(rcl_tensor t, double* d, int64_t* i) {
  RCL_TRY
  auto s = T(t).item();
  if (s.isFloatingPoint()) {
    *d = s.toDouble();
    *i = static_cast<int64_t>(*d);
  } else if (s.isBoolean()) {
    *i = s.toBool() ? 1 : 0;
    *d = static_cast<double>(*i);
  } else {
    *i = s.toLong();
    *d = static_cast<double>(*i);
  }
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_to_string(rcl_tensor t, rcl_allocator alloc, char** out) {
  RCL_TRY
  std::ostringstream os;
  os << T(t);
  auto s = os.str();
  auto* buf = static_cast<char*>(alloc(s.size() + 1));
  std::memcpy(buf, s.c_str(), s.size() + 1);
  *out = buf;
  return 0;
  RCL_CATCH(1)
}

// ---- creation ----
RCL_API rcl_tensor rcl_factory(int32_t op, const int64_t* sizes, int32_t n, int32_t dtype, int32_t dev_type,
                               int32_t dev_index, int32_t requires_grad, rcl_generator gen) {
  RCL_TRY
  auto o = OPTS(dtype, dev_type, dev_index);
  auto sz = IA(sizes, n);
  at::Tensor r;
  switch (op) {
    case RCL_FACTORY_EMPTY: r = at::empty(sz, o); break;
    case RCL_FACTORY_ZEROS: r = at::zeros(sz, o); break;
    case RCL_FACTORY_ONES: r = at::ones(sz, o); break;
    case RCL_FACTORY_RAND: r = at::rand(sz, rcl::GEN(gen), o); break;
    case RCL_FACTORY_RANDN: r = at::randn(sz, rcl::GEN(gen), o); break;
    default: throw std::invalid_argument("unknown factory op");
  }
  if (requires_grad) r.set_requires_grad(true);
  return W(r);
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_full(const int64_t* sizes, int32_t n, double v, int64_t iv, int32_t kind, int32_t dtype,
                            int32_t dev_type, int32_t dev_index, int32_t requires_grad) {
  RCL_TRY
  auto r = at::full(IA(sizes, n), S(v, iv, kind), OPTS(dtype, dev_type, dev_index));
  if (requires_grad) r.set_requires_grad(true);
  return W(r);
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_randint(int64_t low, int64_t high, const int64_t* sizes, int32_t n, int32_t dtype,
                               int32_t dev_type, int32_t dev_index, rcl_generator gen) {
  RCL_TENSOR(at::randint(low, high, IA(sizes, n), rcl::GEN(gen), OPTS(dtype < 0 ? 4 : dtype, dev_type, dev_index)))
}
RCL_API rcl_tensor rcl_randperm(int64_t n, int32_t dtype, int32_t dev_type, int32_t dev_index, rcl_generator gen) {
  RCL_TENSOR(at::randperm(n, rcl::GEN(gen), OPTS(dtype < 0 ? 4 : dtype, dev_type, dev_index)))
}
RCL_API rcl_tensor rcl_arange(double start, double end, double step, int32_t dtype, int32_t dev_type, int32_t dev_index) {
  RCL_TENSOR(at::arange(start, end, step, OPTS(dtype, dev_type, dev_index)))
}
RCL_API rcl_tensor rcl_linspace(double start, double end, int64_t steps, int32_t dtype, int32_t dev_type,
                                int32_t dev_index) {
  RCL_TENSOR(at::linspace(start, end, steps, OPTS(dtype, dev_type, dev_index)))
}
RCL_API rcl_tensor rcl_eye(int64_t n, int64_t m, int32_t dtype, int32_t dev_type, int32_t dev_index) {
  RCL_TENSOR(at::eye(n, m < 0 ? n : m, OPTS(dtype, dev_type, dev_index)))
}
RCL_API rcl_tensor rcl_like(int32_t op, rcl_tensor t, int32_t dtype, rcl_generator gen) {
  RCL_TRY
  auto& x = T(t);
  auto o = x.options();
  if (dtype >= 0) o = o.dtype(static_cast<at::ScalarType>(dtype));
  at::Tensor r;
  switch (op) {
    case RCL_FACTORY_EMPTY: r = at::empty_like(x, o); break;
    case RCL_FACTORY_ZEROS: r = at::zeros_like(x, o); break;
    case RCL_FACTORY_ONES: r = at::ones_like(x, o); break;
    case RCL_FACTORY_RAND: r = at::empty_like(x, o).uniform_(0, 1, rcl::GEN(gen)); break;
    case RCL_FACTORY_RANDN: r = at::empty_like(x, o).normal_(0, 1, rcl::GEN(gen)); break;
    default: throw std::invalid_argument("unknown factory op");
  }
  return W(r);
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_full_like(rcl_tensor t, double v, int64_t iv, int32_t kind) {
  RCL_TENSOR(at::full_like(T(t), S(v, iv, kind)))
}

// ---- conversion and copies ----
RCL_API rcl_tensor rcl_to(rcl_tensor t, int32_t dtype, int32_t dev_type, int32_t dev_index, int32_t non_blocking,
                          int32_t copy) {
  RCL_TRY
  auto& x = T(t);
  auto st = dtype >= 0 ? static_cast<at::ScalarType>(dtype) : x.scalar_type();
  auto dev = dev_type >= 0 ? DEV(dev_type, dev_index) : x.device();
  return W(x.to(dev, st, non_blocking != 0, copy != 0));
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_clone(rcl_tensor t) { RCL_TENSOR(T(t).clone()) }
RCL_API rcl_tensor rcl_contiguous(rcl_tensor t, int32_t memory_format) {
  RCL_TENSOR(T(t).contiguous(memory_format == 1 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous))
}
RCL_API int32_t rcl_copy_(rcl_tensor dst, rcl_tensor src) { RCL_STATUS(T(dst).copy_(T(src))) }
RCL_API int32_t rcl_set_data(rcl_tensor t, rcl_tensor src) { RCL_STATUS(T(t).set_data(T(src))) }
RCL_API int32_t rcl_fill_(rcl_tensor t, double v, int64_t iv, int32_t kind) { RCL_STATUS(T(t).fill_(S(v, iv, kind))) }
RCL_API int32_t rcl_zero_(rcl_tensor t) { RCL_STATUS(T(t).zero_()) }
RCL_API int32_t rcl_random_(int32_t op, rcl_tensor t, double a, double b, rcl_generator gen) {
  RCL_TRY
  auto& x = T(t);
  switch (op) {
    case 0: x.uniform_(a, b, rcl::GEN(gen)); break;
    case 1: x.normal_(a, b, rcl::GEN(gen)); break;
    case 2: x.bernoulli_(a, rcl::GEN(gen)); break;
    default: throw std::invalid_argument("unknown random op");
  }
  return 0;
  RCL_CATCH(1)
}

// ---- element-wise ----
static at::Tensor unary(int32_t op, const at::Tensor& a) {
  switch (op) {
    case RCL_U_NEG: return a.neg();
    case RCL_U_ABS: return a.abs();
    case RCL_U_SIGN: return a.sign();
    case RCL_U_EXP: return a.exp();
    case RCL_U_LOG: return a.log();
    case RCL_U_LOG1P: return a.log1p();
    case RCL_U_SQRT: return a.sqrt();
    case RCL_U_RSQRT: return a.rsqrt();
    case RCL_U_FLOOR: return a.floor();
    case RCL_U_ROUND: return a.round();
    case RCL_U_SIGMOID: return a.sigmoid();
    case RCL_U_TANH: return a.tanh();
    case RCL_U_RELU: return at::relu(a);
    case RCL_U_SILU: return at::silu(a);
    case RCL_U_LOGICAL_NOT: return a.logical_not();
    case RCL_U_CEIL: return a.ceil();
    case RCL_U_SIN: return a.sin();
    case RCL_U_COS: return a.cos();
    case RCL_U_SQUARE: return a.square();
    case RCL_U_RECIPROCAL: return a.reciprocal();
    case RCL_U_TRUNC: return a.trunc();
    case RCL_U_ISNAN: return a.isnan();
    case RCL_U_ISINF: return a.isinf();
    case RCL_U_ISFINITE: return a.isfinite();
    case RCL_U_LOG2: return a.log2();
    case RCL_U_EXPM1: return a.expm1();
    case RCL_U_BITWISE_NOT: return a.bitwise_not();
    default: throw std::invalid_argument("unknown unary op " + std::to_string(op));
  }
}
static void unary_(int32_t op, at::Tensor& a) {
  switch (op) {
    case RCL_U_NEG: a.neg_(); return;
    case RCL_U_ABS: a.abs_(); return;
    case RCL_U_SIGN: a.sign_(); return;
    case RCL_U_EXP: a.exp_(); return;
    case RCL_U_LOG: a.log_(); return;
    case RCL_U_LOG1P: a.log1p_(); return;
    case RCL_U_SQRT: a.sqrt_(); return;
    case RCL_U_RSQRT: a.rsqrt_(); return;
    case RCL_U_FLOOR: a.floor_(); return;
    case RCL_U_ROUND: a.round_(); return;
    case RCL_U_SIGMOID: a.sigmoid_(); return;
    case RCL_U_TANH: a.tanh_(); return;
    case RCL_U_RELU: at::relu_(a); return;
    case RCL_U_SILU: at::silu_(a); return;
    case RCL_U_LOGICAL_NOT: a.logical_not_(); return;
    case RCL_U_CEIL: a.ceil_(); return;
    case RCL_U_SIN: a.sin_(); return;
    case RCL_U_COS: a.cos_(); return;
    case RCL_U_SQUARE: a.square_(); return;
    case RCL_U_RECIPROCAL: a.reciprocal_(); return;
    case RCL_U_TRUNC: a.trunc_(); return;
    case RCL_U_LOG2: a.log2_(); return;
    case RCL_U_EXPM1: a.expm1_(); return;
    case RCL_U_BITWISE_NOT: a.bitwise_not_(); return;
    default: throw std::invalid_argument("unary op " + std::to_string(op) + " has no in-place form");
  }
}
RCL_API rcl_tensor rcl_unary(int32_t op, rcl_tensor a) { RCL_TENSOR(unary(op, T(a))) }
RCL_API int32_t rcl_unary_(int32_t op, rcl_tensor a) { RCL_STATUS(unary_(op, T(a))) }

// alpha as an integral Scalar when it is a whole number, so integer tensors accept add(x, y, alpha=2)
// (libtorch refuses a floating alpha for them) while floating tensors see the same value.
static at::Scalar AL(double alpha) {
  if (alpha == std::floor(alpha) && std::fabs(alpha) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(alpha));
  return at::Scalar(alpha);
}

// Templated over the right-hand side so tensors and scalars share one table.
template <typename R>
static at::Tensor binary(int32_t op, const at::Tensor& a, const R& b, double alpha) {
  switch (op) {
    case RCL_B_ADD: return at::add(a, b, AL(alpha));
    case RCL_B_SUB: return at::sub(a, b, AL(alpha));
    case RCL_B_MUL: return at::mul(a, b);
    case RCL_B_DIV: return at::div(a, b);
    case RCL_B_POW: return at::pow(a, b);
    case RCL_B_EQ: return at::eq(a, b);
    case RCL_B_NE: return at::ne(a, b);
    case RCL_B_LT: return at::lt(a, b);
    case RCL_B_LE: return at::le(a, b);
    case RCL_B_GT: return at::gt(a, b);
    case RCL_B_GE: return at::ge(a, b);
    case RCL_B_REMAINDER: return at::remainder(a, b);
    case RCL_B_FMOD: return at::fmod(a, b);
    case RCL_B_FLOOR_DIVIDE: return at::div(a, b, "floor");
    case RCL_B_BITWISE_AND: return at::bitwise_and(a, b);
    case RCL_B_BITWISE_OR: return at::bitwise_or(a, b);
    default: break;
  }
  if constexpr (std::is_same_v<R, at::Tensor>) {
    switch (op) {
      case RCL_B_MINIMUM: return at::minimum(a, b);
      case RCL_B_MAXIMUM: return at::maximum(a, b);
      case RCL_B_LOGICAL_AND: return at::logical_and(a, b);
      case RCL_B_LOGICAL_OR: return at::logical_or(a, b);
      case RCL_B_LOGICAL_XOR: return at::logical_xor(a, b);
      case RCL_B_ATAN2: return at::atan2(a, b);
      default: break;
    }
  } else {
    // The tensor-only ops take a 0-dim tensor of the scalar, as PyTorch's Python layer does.
    auto bt = at::scalar_tensor(b, a.options().dtype(at::result_type(a, b)));
    return binary<at::Tensor>(op, a, bt, alpha);
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(op));
}
template <typename R>
static void binary_(int32_t op, at::Tensor& a, const R& b, double alpha) {
  switch (op) {
    case RCL_B_ADD: a.add_(b, AL(alpha)); return;
    case RCL_B_SUB: a.sub_(b, AL(alpha)); return;
    case RCL_B_MUL: a.mul_(b); return;
    case RCL_B_DIV: a.div_(b); return;
    case RCL_B_POW: a.pow_(b); return;
    case RCL_B_EQ: a.eq_(b); return;
    case RCL_B_NE: a.ne_(b); return;
    case RCL_B_LT: a.lt_(b); return;
    case RCL_B_LE: a.le_(b); return;
    case RCL_B_GT: a.gt_(b); return;
    case RCL_B_GE: a.ge_(b); return;
    case RCL_B_REMAINDER: a.remainder_(b); return;
    case RCL_B_FMOD: a.fmod_(b); return;
    case RCL_B_FLOOR_DIVIDE: a.div_(b, "floor"); return;
    default: break;
  }
  if constexpr (std::is_same_v<R, at::Tensor>) {
    switch (op) {
      case RCL_B_MINIMUM: at::minimum_out(a, a, b); return;
      case RCL_B_MAXIMUM: at::maximum_out(a, a, b); return;
      case RCL_B_LOGICAL_AND: a.logical_and_(b); return;
      case RCL_B_LOGICAL_OR: a.logical_or_(b); return;
      case RCL_B_LOGICAL_XOR: a.logical_xor_(b); return;
      case RCL_B_ATAN2: a.atan2_(b); return;
      case RCL_B_BITWISE_AND: a.bitwise_and_(b); return;
      case RCL_B_BITWISE_OR: a.bitwise_or_(b); return;
      default: break;
    }
  } else {
    switch (op) {
      case RCL_B_BITWISE_AND: a.bitwise_and_(b); return;
      case RCL_B_BITWISE_OR: a.bitwise_or_(b); return;
      default: break;
    }
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no in-place form here");
}

RCL_API rcl_tensor rcl_binary(int32_t op, rcl_tensor a, rcl_tensor b, double alpha) {
  RCL_TENSOR(binary<at::Tensor>(op, T(a), T(b), alpha))
}
RCL_API int32_t rcl_binary_(int32_t op, rcl_tensor a, rcl_tensor b, double alpha) {
  RCL_STATUS(binary_<at::Tensor>(op, T(a), T(b), alpha))
}
RCL_API rcl_tensor rcl_binary_scalar(int32_t op, rcl_tensor a, double v, int64_t iv, int32_t kind, double alpha,
                                     int32_t reverse) {
  RCL_TRY
  auto& x = T(a);
  auto s = S(v, iv, kind);
  if (!reverse) return W(binary<at::Scalar>(op, x, s, alpha));
  // Python's reflected operators: s - x is rsub, s / x is reciprocal(x) * s, s ** x is pow(s, x).
  switch (op) {
    case RCL_B_ADD: return W(at::add(x, s, AL(alpha)));
    case RCL_B_MUL: return W(at::mul(x, s));
    case RCL_B_SUB: return W(at::rsub(x, s, AL(alpha)));
    case RCL_B_DIV: return W(at::mul(x.reciprocal(), s));
    case RCL_B_POW: return W(at::pow(s, x));
    default: {
      auto st = at::scalar_tensor(s, x.options().dtype(at::result_type(x, s)));
      return W(binary<at::Tensor>(op, st, x, alpha));
    }
  }
  RCL_CATCH(nullptr)
}
RCL_API int32_t rcl_binary_scalar_(int32_t op, rcl_tensor a, double v, int64_t iv, int32_t kind, double alpha) {
  RCL_TRY
  auto& x = T(a);
  auto s = S(v, iv, kind);
  if (op == RCL_B_MINIMUM || op == RCL_B_MAXIMUM || op == RCL_B_LOGICAL_AND || op == RCL_B_LOGICAL_OR ||
      op == RCL_B_LOGICAL_XOR || op == RCL_B_ATAN2)
    binary_<at::Tensor>(op, x, at::scalar_tensor(s, x.options()), alpha);
  else
    binary_<at::Scalar>(op, x, s, alpha);
  return 0;
  RCL_CATCH(1)
}

static c10::optional<at::Scalar> lo_of(double lo, int32_t flags) {
  if (flags & 1) return at::Scalar(lo);
  return c10::nullopt;
}
static c10::optional<at::Scalar> hi_of(double hi, int32_t flags) {
  if (flags & 2) return at::Scalar(hi);
  return c10::nullopt;
}
RCL_API rcl_tensor rcl_clamp(rcl_tensor a, double lo, double hi, int32_t flags) {
  RCL_TENSOR(at::clamp(T(a), lo_of(lo, flags), hi_of(hi, flags)))
}
RCL_API int32_t rcl_clamp_(rcl_tensor a, double lo, double hi, int32_t flags) {
  RCL_STATUS(at::clamp_(T(a), lo_of(lo, flags), hi_of(hi, flags)))
}
RCL_API rcl_tensor rcl_clamp_tensor(rcl_tensor a, rcl_tensor lo, rcl_tensor hi) {
  RCL_TENSOR(at::clamp(T(a), rcl::OT(lo), rcl::OT(hi)))
}
RCL_API int32_t rcl_clamp_tensor_(rcl_tensor a, rcl_tensor lo, rcl_tensor hi) {
  RCL_STATUS(at::clamp_(T(a), rcl::OT(lo), rcl::OT(hi)))
}
RCL_API rcl_tensor rcl_where(rcl_tensor cond, rcl_tensor a, rcl_tensor b) { RCL_TENSOR(at::where(T(cond), T(a), T(b))) }
RCL_API rcl_tensor rcl_ternary(int32_t op, rcl_tensor a, rcl_tensor b, rcl_tensor c, double value) {
  RCL_TRY
  switch (op) {
    case 0: return W(at::addcmul(T(a), T(b), T(c), value));
    case 1: return W(at::addcdiv(T(a), T(b), T(c), value));
    case 2: return W(at::lerp(T(a), T(b), value));
    default: throw std::invalid_argument("unknown ternary op");
  }
  RCL_CATCH(nullptr)
}

// ---- reductions ----
RCL_API rcl_tensor rcl_reduce(int32_t op, rcl_tensor a, const int64_t* dims, int32_t ndims, int32_t keepdim,
                              int32_t dtype) {
  RCL_TRY
  auto& x = T(a);
  bool all = ndims < 0;
  std::vector<int64_t> d;
  if (all) {
    for (int64_t i = 0; i < x.dim(); ++i) d.push_back(i);
  } else {
    d.assign(dims, dims + ndims);
  }
  bool kd = keepdim != 0;
  switch (op) {
    case RCL_R_SUM: return W(all && !kd ? at::sum(x, OD(dtype)) : at::sum(x, d, kd, OD(dtype)));
    case RCL_R_MEAN: return W(all && !kd ? at::mean(x, OD(dtype)) : at::mean(x, d, kd, OD(dtype)));
    case RCL_R_AMAX: return W(at::amax(x, d, kd));
    case RCL_R_AMIN: return W(at::amin(x, d, kd));
    case RCL_R_ALL:
      if (all && !kd) return W(at::all(x));
      if (d.size() != 1) throw std::invalid_argument("all() reduces over one dimension or all of them");
      return W(at::all(x, d[0], kd));
    case RCL_R_ANY:
      if (all && !kd) return W(at::any(x));
      if (d.size() != 1) throw std::invalid_argument("any() reduces over one dimension or all of them");
      return W(at::any(x, d[0], kd));
    case RCL_R_COUNT_NONZERO: return W(all ? at::count_nonzero(x) : at::count_nonzero(x, d));
    case RCL_R_LOGSUMEXP: return W(at::logsumexp(x, d, kd));
    case RCL_R_PROD:
      if (all && !kd) return W(at::prod(x, OD(dtype)));
      if (d.size() != 1) throw std::invalid_argument("prod() reduces over one dimension or all of them");
      return W(at::prod(x, d[0], kd, OD(dtype)));
    default: throw std::invalid_argument("unknown reduction op");
  }
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_norm(rcl_tensor a, double p, const int64_t* dims, int32_t ndims, int32_t keepdim) {
  RCL_TRY
  auto& x = T(a);
  if (ndims < 0) return W(at::linalg_vector_norm(x, p, c10::nullopt, keepdim != 0, c10::nullopt));
  return W(at::linalg_vector_norm(x, p, IA(dims, ndims), keepdim != 0, c10::nullopt));
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_var(int32_t is_std, rcl_tensor a, const int64_t* dims, int32_t ndims, int32_t unbiased,
                           int32_t keepdim) {
  RCL_TRY
  auto& x = T(a);
  if (ndims < 0) return W(is_std ? at::std(x, unbiased != 0) : at::var(x, unbiased != 0));
  return W(is_std ? at::std(x, IA(dims, ndims), unbiased != 0, keepdim != 0)
                  : at::var(x, IA(dims, ndims), unbiased != 0, keepdim != 0));
  RCL_CATCH(nullptr)
}
RCL_API int32_t rcl_minmax_dim(int32_t is_min, rcl_tensor a, int64_t dim, int32_t keepdim, rcl_tensor* values,
                               rcl_tensor* indices) {
  RCL_TRY
  auto r = is_min ? at::min(T(a), dim, keepdim != 0) : at::max(T(a), dim, keepdim != 0);
  *values = W(std::get<0>(r));
  *indices = W(std::get<1>(r));
  return 0;
  RCL_CATCH(1)
}
RCL_API rcl_tensor rcl_argminmax(int32_t is_min, rcl_tensor a, int64_t dim, int32_t has_dim, int32_t keepdim) {
  RCL_TRY
  c10::optional<int64_t> d;
  if (has_dim) d = dim;
  return W(is_min ? at::argmin(T(a), d, keepdim != 0) : at::argmax(T(a), d, keepdim != 0));
  RCL_CATCH(nullptr)
}
RCL_API int32_t rcl_topk(rcl_tensor a, int64_t k, int64_t dim, int32_t largest, int32_t sorted, rcl_tensor* values,
                         rcl_tensor* indices) {
  RCL_TRY
  auto r = at::topk(T(a), k, dim, largest != 0, sorted != 0);
  *values = W(std::get<0>(r));
  *indices = W(std::get<1>(r));
  return 0;
  RCL_CATCH(1)
}
RCL_API rcl_tensor rcl_cumsum(rcl_tensor a, int64_t dim) { RCL_TENSOR(T(a).cumsum(dim)) }
RCL_API int32_t rcl_sort(rcl_tensor a, int64_t dim, int32_t descending, int32_t stable, rcl_tensor* values,
                         rcl_tensor* indices) {
  RCL_TRY
  auto r = at::sort(T(a), c10::optional<bool>(stable != 0), dim, descending != 0);
  *values = W(std::get<0>(r));
  *indices = W(std::get<1>(r));
  return 0;
  RCL_CATCH(1)
}

// ---- linear algebra ----
RCL_API rcl_tensor rcl_matmul(int32_t op, rcl_tensor a, rcl_tensor b) {
  RCL_TRY
  switch (op) {
    case 0: return W(at::matmul(T(a), T(b)));
    case 1: return W(at::mm(T(a), T(b)));
    case 2: return W(at::bmm(T(a), T(b)));
    default: throw std::invalid_argument("unknown matmul op");
  }
  RCL_CATCH(nullptr)
}

// ---- shape and indexing ----
RCL_API rcl_tensor rcl_shape_op(int32_t op, rcl_tensor a, const int64_t* dims, int32_t n) {
  RCL_TRY
  auto& x = T(a);
  auto d = IA(dims, n);
  switch (op) {
    case RCL_S_RESHAPE: return W(x.reshape(d));
    case RCL_S_VIEW: return W(x.view(d));
    case RCL_S_EXPAND: return W(x.expand(d));
    case RCL_S_PERMUTE: return W(x.permute(d));
    case RCL_S_REPEAT: return W(x.repeat(d));
    case RCL_S_FLIP: return W(x.flip(d));
    case RCL_S_SQUEEZE_DIMS: {
      // One dimension at a time, highest first, so the indices stay valid (1.13 has no multi-dim squeeze).
      std::vector<int64_t> v;
      for (auto i : d) v.push_back(i < 0 ? i + x.dim() : i);
      std::sort(v.rbegin(), v.rend());
      at::Tensor r = x;
      for (auto i : v) r = r.squeeze(i);
      return W(r);
    }
    default: throw std::invalid_argument("unknown shape op");
  }
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_flatten(rcl_tensor a, int64_t start, int64_t end) { RCL_TENSOR(T(a).flatten(start, end)) }
RCL_API rcl_tensor rcl_squeeze(rcl_tensor a, int64_t dim, int32_t all) {
  RCL_TENSOR(all ? T(a).squeeze() : T(a).squeeze(dim))
}
RCL_API rcl_tensor rcl_unsqueeze(rcl_tensor a, int64_t dim) { RCL_TENSOR(T(a).unsqueeze(dim)) }
RCL_API rcl_tensor rcl_transpose(rcl_tensor a, int64_t d0, int64_t d1) { RCL_TENSOR(T(a).transpose(d0, d1)) }
RCL_API rcl_tensor rcl_slice(rcl_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  RCL_TENSOR(T(a).slice(dim, start, end, step))
}
RCL_API rcl_tensor rcl_narrow(rcl_tensor a, int64_t dim, int64_t start, int64_t length) {
  RCL_TENSOR(T(a).narrow(dim, start, length))
}
RCL_API rcl_tensor rcl_select(rcl_tensor a, int64_t dim, int64_t index) { RCL_TENSOR(T(a).select(dim, index)) }
RCL_API rcl_tensor rcl_index_select(rcl_tensor a, int64_t dim, rcl_tensor index) {
  RCL_TENSOR(T(a).index_select(dim, T(index)))
}
RCL_API rcl_tensor rcl_index(rcl_tensor a, rcl_tensor index) {
  RCL_TENSOR(T(a).index({torch::indexing::TensorIndex(T(index))}))
}
RCL_API int32_t rcl_index_put_(rcl_tensor a, rcl_tensor index, rcl_tensor values, int32_t accumulate) {
  RCL_TRY
  c10::List<c10::optional<at::Tensor>> idx;
  idx.push_back(c10::optional<at::Tensor>(T(index)));
  T(a).index_put_(idx, T(values), accumulate != 0);
  return 0;
  RCL_CATCH(1)
}
RCL_API rcl_tensor rcl_gather(rcl_tensor a, int64_t dim, rcl_tensor index) { RCL_TENSOR(T(a).gather(dim, T(index))) }
RCL_API rcl_tensor rcl_scatter(int32_t op, rcl_tensor a, int64_t dim, rcl_tensor index, rcl_tensor src) {
  RCL_TENSOR(op == 1 ? T(a).scatter_add(dim, T(index), T(src)) : T(a).scatter(dim, T(index), T(src)))
}
RCL_API rcl_tensor rcl_scatter_value(rcl_tensor a, int64_t dim, rcl_tensor index, double v, int64_t iv, int32_t kind) {
  RCL_TENSOR(T(a).scatter(dim, T(index), S(v, iv, kind)))
}
RCL_API rcl_tensor rcl_masked_fill(rcl_tensor a, rcl_tensor mask, double v, int64_t iv, int32_t kind) {
  RCL_TENSOR(T(a).masked_fill(T(mask), S(v, iv, kind)))
}
RCL_API int32_t rcl_masked_fill_(rcl_tensor a, rcl_tensor mask, double v, int64_t iv, int32_t kind) {
  RCL_STATUS(T(a).masked_fill_(T(mask), S(v, iv, kind)))
}
RCL_API rcl_tensor rcl_masked_select(rcl_tensor a, rcl_tensor mask) { RCL_TENSOR(T(a).masked_select(T(mask))) }
RCL_API rcl_tensor rcl_cat(const rcl_tensor* ts, int32_t n, int64_t dim, int32_t stack) {
  RCL_TRY
  auto v = rcl::TL(ts, n);
  return W(stack ? at::stack(v, dim) : at::cat(v, dim));
  RCL_CATCH(nullptr)
}
RCL_API int32_t rcl_split(rcl_tensor a, int64_t split_size, const int64_t* sizes, int32_t nsizes, int64_t chunks,
                          int64_t dim, rcl_allocator alloc, rcl_tensor** out, int32_t* count) {
  RCL_TRY
  auto& x = T(a);
  std::vector<at::Tensor> parts;
  if (chunks > 0)
    parts = x.chunk(chunks, dim);
  else if (split_size > 0)
    parts = x.split(split_size, dim);
  else
    parts = x.split_with_sizes(IA(sizes, nsizes), dim);
  auto* buf = static_cast<rcl_tensor*>(alloc(sizeof(rcl_tensor) * (parts.size() == 0 ? 1 : parts.size())));
  for (size_t i = 0; i < parts.size(); ++i) buf[i] = W(parts[i]);
  *out = buf;
  *count = static_cast<int32_t>(parts.size());
  return 0;
  RCL_CATCH(1)
}
RCL_API rcl_tensor rcl_roll(rcl_tensor a, const int64_t* shifts, int32_t nshifts, const int64_t* dims, int32_t ndims) {
  RCL_TENSOR(at::roll(T(a), IA(shifts, nshifts), IA(dims, ndims)))
}
RCL_API rcl_tensor rcl_rot90(rcl_tensor a, int64_t k, int64_t d0, int64_t d1) {
  RCL_TRY
  int64_t d[2] = {d0, d1};
  return W(at::rot90(T(a), k, at::IntArrayRef(d, 2)));
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_pad(rcl_tensor a, const int64_t* pads, int32_t n, int32_t mode, double value) {
  RCL_TRY
  static const char* modes[] = {"constant", "reflect", "replicate", "circular"};
  if (mode < 0 || mode > 3) throw std::invalid_argument("unknown pad mode");
  c10::optional<double> v;
  if (mode == 0) v = value;
  return W(at::pad(T(a), IA(pads, n), modes[mode], v));
  RCL_CATCH(nullptr)
}
RCL_API rcl_tensor rcl_one_hot(rcl_tensor a, int64_t num_classes) { RCL_TENSOR(at::one_hot(T(a), num_classes)) }
RCL_API rcl_tensor rcl_nonzero(rcl_tensor a) { RCL_TENSOR(T(a).nonzero()) }
RCL_API rcl_tensor rcl_as_strided(rcl_tensor a, const int64_t* sizes, const int64_t* strides, int32_t n, int64_t offset) {
  RCL_TENSOR(T(a).as_strided(IA(sizes, n), IA(strides, n), offset))
}
