// Runtime: version, seeding and generators, threads, backend switches and autocast.
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#define RCL_TORCH_AT_LEAST(maj, min) \
  (TORCH_VERSION_MAJOR > (maj) || (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))

namespace {
at::Generator& G(rcl_generator g) {
  if (g == nullptr) throw std::invalid_argument("null generator handle");
  return *reinterpret_cast<at::Generator*>(g);
}

struct AutocastState {
  bool enabled;
  at::ScalarType dtype;
};
thread_local std::vector<AutocastState> autocast_stack;

bool autocast_is_enabled(int32_t dev_type) {
#if RCL_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(dev_type == 1 ? at::kCUDA : at::kCPU);
#else
  return dev_type == 1 ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}
at::ScalarType autocast_dtype(int32_t dev_type) {
#if RCL_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(dev_type == 1 ? at::kCUDA : at::kCPU);
#else
  return dev_type == 1 ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}
void autocast_set(int32_t dev_type, bool enabled, at::ScalarType dtype) {
#if RCL_TORCH_AT_LEAST(2, 4)
  auto d = dev_type == 1 ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_enabled(d, enabled);
  at::autocast::set_autocast_dtype(d, dtype);
#else
  if (dev_type == 1) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}
}  // namespace


RCL_API const char* rcl_torch_version(void) { return TORCH_VERSION; }

RCL_API int32_t rcl_manual_seed(uint64_t seed) { RCL_STATUS(at::manual_seed(seed)) }

RCL_API int32_t rcl_set_num_threads(int32_t n) { RCL_STATUS(at::set_num_threads(n)) }
RCL_API int32_t rcl_get_num_threads(void) { RCL_TRY return at::get_num_threads(); RCL_CATCH(-1) }
RCL_API int32_t rcl_set_num_interop_threads(int32_t n) { RCL_STATUS(at::set_num_interop_threads(n)) }

RCL_API int32_t rcl_cpu_allocator_retain(int64_t mmap_threshold, int64_t trim_threshold) {
  RCL_TRY
#if defined(__GLIBC__)
  // Fixed thresholds also switch off glibc's dynamic mmap threshold, which otherwise keeps handing
  // tensors of tens of MB fresh zero pages (a page fault per 4 KiB) on every training step.
  if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(std::min<int64_t>(mmap_threshold, INT32_MAX))) != 1)
    throw std::runtime_error("mallopt(M_MMAP_THRESHOLD) refused " + std::to_string(mmap_threshold));
  if (mallopt(M_TRIM_THRESHOLD, static_cast<int>(std::min<int64_t>(trim_threshold, INT32_MAX))) != 1)
    throw std::runtime_error("mallopt(M_TRIM_THRESHOLD) refused " + std::to_string(trim_threshold));
  return 0;
#else
  return 1;
#endif
  RCL_CATCH(1)
}

RCL_API int32_t rcl_cuda_is_available(void) { RCL_TRY return torch::cuda::is_available() ? 1 : 0; RCL_CATCH(0) }
RCL_API int32_t rcl_cuda_device_count(void) {
  RCL_TRY return static_cast<int32_t>(torch::cuda::device_count()); RCL_CATCH(0)
}
RCL_API int32_t rcl_cudnn_is_available(void) { RCL_TRY return torch::cuda::cudnn_is_available() ? 1 : 0; RCL_CATCH(0) }
RCL_API int32_t rcl_set_cudnn_flags(int32_t benchmark, int32_t deterministic) {
  RCL_TRY
  if (benchmark >= 0) at::globalContext().setBenchmarkCuDNN(benchmark != 0);
  if (deterministic >= 0) at::globalContext().setDeterministicCuDNN(deterministic != 0);
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_get_cudnn_flags(int32_t* benchmark, int32_t* deterministic) {
  RCL_TRY
  *benchmark = at::globalContext().benchmarkCuDNN() ? 1 : 0;
  *deterministic = at::globalContext().deterministicCuDNN() ? 1 : 0;
  return 0;
  RCL_CATCH(1)
}

// Python's torch.autocast, as a pair of calls: state is kept per thread, as libtorch keeps it.
RCL_API int32_t rcl_autocast_enter(int32_t dev_type, int32_t dtype) {
  RCL_TRY
  autocast_stack.push_back({autocast_is_enabled(dev_type), autocast_dtype(dev_type)});
  autocast_set(dev_type, true, static_cast<at::ScalarType>(dtype));
  at::autocast::increment_nesting();
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_autocast_exit(int32_t dev_type) {
  RCL_TRY
  if (autocast_stack.empty()) throw std::logic_error("autocast exit without a matching enter");
  // The cast cache holds casts of the weights: it must go once the outermost region ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  auto s = autocast_stack.back();
  autocast_stack.pop_back();
  autocast_set(dev_type, s.enabled, s.dtype);
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_autocast_enabled(int32_t dev_type) { RCL_TRY return autocast_is_enabled(dev_type) ? 1 : 0; RCL_CATCH(-1) }

RCL_API rcl_generator rcl_generator_new(int32_t dev_type, int32_t dev_index, uint64_t seed) {
  RCL_TRY
  at::Generator g = dev_type == 1 ? rcl::make_cuda_generator(dev_index, seed) : at::detail::createCPUGenerator(seed);
  return reinterpret_cast<rcl_generator>(new at::Generator(std::move(g)));
  RCL_CATCH(nullptr)
}
RCL_API rcl_generator rcl_generator_default(int32_t dev_type, int32_t dev_index) {
  RCL_TRY
  const at::Generator& g = at::globalContext().defaultGenerator(rcl::DEV(dev_type, dev_index));
  return reinterpret_cast<rcl_generator>(new at::Generator(g));
  RCL_CATCH(nullptr)
}
RCL_API void rcl_generator_free(rcl_generator g) { delete reinterpret_cast<at::Generator*>(g); }
RCL_API int32_t rcl_generator_set_seed(rcl_generator g, uint64_t seed) {
  RCL_TRY
  auto& gen = G(g);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed);
  return 0;
  RCL_CATCH(1)
}
RCL_API int32_t rcl_generator_seed(rcl_generator g, uint64_t* seed) { RCL_STATUS(*seed = G(g).current_seed()) }
RCL_API rcl_tensor rcl_generator_get_state(rcl_generator g) {
  RCL_TRY
  auto& gen = G(g);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return rcl::W(gen.get_state());
  RCL_CATCH(nullptr)
}
RCL_API int32_t rcl_generator_set_state(rcl_generator g, rcl_tensor state) {
  RCL_TRY
  auto& gen = G(g);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(rcl::T(state));
  return 0;
  RCL_CATCH(1)
}
