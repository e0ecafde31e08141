// The CPU build's stand-ins for cuda.cpp: each reports that the shim was built without CUDA.
#include "common.h"

namespace {
[[noreturn]] void no_cuda() {
  throw std::runtime_error(
      "RobustCli's native shim was built without CUDA; rebuild it against a CUDA libtorch "
      "(see README: 'Building against a CUDA libtorch')");
}
}  // namespace

namespace rcl {
at::Generator make_cuda_generator(int32_t, uint64_t) { no_cuda(); }
}  // namespace rcl

RCL_API int32_t rcl_cuda_compiled(void) { return 0; }
RCL_API int32_t rcl_cuda_synchronize(int32_t) { RCL_STATUS(no_cuda()) }
RCL_API int32_t rcl_cuda_manual_seed_all(uint64_t) { return 0; }
RCL_API int32_t rcl_cuda_memory_stats(int32_t, int64_t*, int64_t*, int64_t*) { RCL_STATUS(no_cuda()) }
RCL_API int32_t rcl_cuda_reset_peak(int32_t) { RCL_STATUS(no_cuda()) }
RCL_API int32_t rcl_cuda_empty_cache(void) { return 0; }
