// Shared helpers of the shim: handle conversions and the one error channel.
#pragma once
#include <torch/torch.h>
#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>
#include "rcl.h"

namespace rcl {

void set_error(const char* msg);
void clear_error();
extern std::atomic<int64_t> live_tensors;

// A handle owns one heap at::Tensor (one reference on the TensorImpl).
inline at::Tensor& T(rcl_tensor h) {
  if (h == nullptr) throw std::invalid_argument("null tensor handle");
  return *reinterpret_cast<at::Tensor*>(h);
}
// Optional tensor arguments: NULL means "not given".
inline c10::optional<at::Tensor> OT(rcl_tensor h) {
  if (h == nullptr) return c10::nullopt;
  return *reinterpret_cast<at::Tensor*>(h);
}
inline at::Tensor UT(rcl_tensor h) { return h == nullptr ? at::Tensor() : *reinterpret_cast<at::Tensor*>(h); }

inline rcl_tensor W(at::Tensor t) {
  if (!t.defined()) return nullptr;
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return reinterpret_cast<rcl_tensor>(new at::Tensor(std::move(t)));
}

inline std::vector<at::Tensor> TL(const rcl_tensor* ts, int32_t n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int32_t i = 0; i < n; ++i) v.push_back(T(ts[i]));
  return v;
}

inline at::IntArrayRef IA(const int64_t* p, int32_t n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

inline at::Scalar S(double v, int64_t iv, int32_t kind) {
  if (kind == 1) return at::Scalar(iv);
  if (kind == 2) return at::Scalar(iv != 0);
  return at::Scalar(v);
}

inline c10::optional<at::ScalarType> OD(int32_t dtype) {
  if (dtype < 0) return c10::nullopt;
  return static_cast<at::ScalarType>(dtype);
}

inline at::Device DEV(int32_t type, int32_t index) {
  if (type == 0) return at::Device(at::kCPU);
  if (type == 1) return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  throw std::invalid_argument("unknown device type code " + std::to_string(type));
}

inline at::TensorOptions OPTS(int32_t dtype, int32_t dev_type, int32_t dev_index) {
  auto o = at::TensorOptions().device(DEV(dev_type, dev_index));
  if (dtype >= 0) o = o.dtype(static_cast<at::ScalarType>(dtype));
  return o;
}

inline c10::optional<at::Generator> GEN(rcl_generator g) {
  if (g == nullptr) return c10::nullopt;
  return *reinterpret_cast<at::Generator*>(g);
}

}  // namespace rcl

// Every export wraps its body: libtorch's short message (no backtrace) goes to the thread-local
// error channel, and nothing - c10::Error, std::exception or anything else - crosses the C ABI.
#define RCL_TRY          \
  rcl::clear_error();    \
  try {
#define RCL_CATCH(fail)                                  \
  }                                                      \
  catch (const c10::Error& e) {                          \
    rcl::set_error(e.what_without_backtrace());          \
  }                                                      \
  catch (const std::exception& e) {                      \
    rcl::set_error(e.what());                            \
  }                                                      \
  catch (...) {                                          \
    rcl::set_error("unknown C++ exception in libtorch"); \
  }                                                      \
  return fail;

#define RCL_TENSOR(expr) \
  RCL_TRY return rcl::W(expr); RCL_CATCH(nullptr)
#define RCL_STATUS(stmt) \
  RCL_TRY stmt; return 0; RCL_CATCH(1)

namespace rcl {
// Implemented in cuda.cpp (RCL_WITH_CUDA) or cuda_stub.cpp, so no CUDA header reaches the CPU build.
at::Generator make_cuda_generator(int32_t dev_index, uint64_t seed);
}  // namespace rcl
