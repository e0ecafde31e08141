#include "common.h"

namespace rcl {
namespace {
thread_local std::string last_error;
thread_local bool has_error = false;
}  // namespace

std::atomic<int64_t> live_tensors{0};

void set_error(const char* msg) {
  last_error = (msg != nullptr && *msg != '\0') ? msg : "libtorch error without a message";
  has_error = true;
}
void clear_error() { has_error = false; }

}  // namespace rcl


RCL_API const char* rcl_last_error(void) { return rcl::has_error ? rcl::last_error.c_str() : nullptr; }

RCL_API void rcl_tensor_free(rcl_tensor t) {
  if (t == nullptr) return;
  // Freeing never throws (a TensorImpl destructor is noexcept); the count makes leaks visible.
  delete reinterpret_cast<at::Tensor*>(t);
  rcl::live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

RCL_API int64_t rcl_live_tensors(void) { return rcl::live_tensors.load(std::memory_order_relaxed); }
