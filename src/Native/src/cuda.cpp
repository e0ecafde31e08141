// CUDA-only entry points: compiled only with RCL_WITH_CUDA against a CUDA build of libtorch.
#include "common.h"

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/cuda.h>

namespace rcl {
at::Generator make_cuda_generator(int32_t dev_index, uint64_t seed) {
  auto g = at::cuda::detail::createCUDAGenerator(static_cast<c10::DeviceIndex>(dev_index));
  g.set_current_seed(seed);
  return g;
}
}  // namespace rcl

RCL_API int32_t rcl_cuda_compiled(void) { return 1; }
RCL_API int32_t rcl_cuda_synchronize(int32_t dev_index) { RCL_STATUS(torch::cuda::synchronize(dev_index)) }
RCL_API int32_t rcl_cuda_manual_seed_all(uint64_t seed) { RCL_STATUS(torch::cuda::manual_seed_all(seed)) }
RCL_API int32_t rcl_cuda_memory_stats(int32_t dev_index, int64_t* allocated, int64_t* peak_allocated, int64_t* reserved) {
  RCL_TRY
  auto dev = dev_index < 0 ? c10::cuda::current_device() : static_cast<c10::DeviceIndex>(dev_index);
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(dev);
  // StatType::AGGREGATE is index 0 in every version; its namespace moved in 2.x (c10::CachingAllocator).
  constexpr size_t agg = 0;
  *allocated = stats.allocated_bytes[agg].current;
  *peak_allocated = stats.allocated_bytes[agg].peak;
  *reserved = stats.reserved_bytes[agg].current;
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_cuda_reset_peak(int32_t dev_index) {
  RCL_TRY
  auto dev = dev_index < 0 ? c10::cuda::current_device() : static_cast<c10::DeviceIndex>(dev_index);
  c10::cuda::CUDACachingAllocator::resetPeakStats(dev);
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_cuda_empty_cache(void) { RCL_STATUS(c10::cuda::CUDACachingAllocator::emptyCache()) }
