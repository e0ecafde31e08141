// Raw bytes in and out of tensors. The file formats themselves (PyTorch's zip/pickle archive and
// safetensors) live in C#, so one implementation serves libtorch 1.13 and 2.x alike and never meets
// the 1.13 unpickler's gaps (OrderedDict, SETITEM).
#include "common.h"

#include <cstring>

using rcl::T;
using rcl::W;


RCL_API rcl_tensor rcl_from_bytes(const void* data, int64_t nbytes, const int64_t* sizes, int32_t n, int32_t dtype,
                                  int32_t dev_type, int32_t dev_index, int32_t requires_grad) {
  RCL_TRY
  auto st = static_cast<at::ScalarType>(dtype);
  auto cpu = at::empty(rcl::IA(sizes, n), at::TensorOptions().dtype(st));
  auto expect = cpu.numel() * static_cast<int64_t>(cpu.element_size());
  if (expect != nbytes)
    throw std::invalid_argument("byte count " + std::to_string(nbytes) + " does not match shape " +
                                c10::str(cpu.sizes()) + " of dtype " + c10::toString(st) + " (" +
                                std::to_string(expect) + " bytes)");
  if (nbytes > 0) std::memcpy(cpu.data_ptr(), data, static_cast<size_t>(nbytes));
  at::Tensor r = dev_type == 0 ? cpu : cpu.to(rcl::DEV(dev_type, dev_index));
  if (requires_grad) r.set_requires_grad(true);
  return W(r);
  RCL_CATCH(nullptr)
}

RCL_API int64_t rcl_nbytes(rcl_tensor t) {
  RCL_TRY
  auto& x = T(t);
  return x.numel() * static_cast<int64_t>(x.element_size());
  RCL_CATCH(-1)
}

RCL_API int32_t rcl_to_bytes(rcl_tensor t, void* dst, int64_t nbytes) {
  RCL_TRY
  auto x = T(t).detach().to(at::kCPU).contiguous();
  auto have = x.numel() * static_cast<int64_t>(x.element_size());
  if (have != nbytes)
    throw std::invalid_argument("buffer of " + std::to_string(nbytes) + " bytes for a tensor of " +
                                std::to_string(have) + " bytes");
  if (have > 0) std::memcpy(dst, x.data_ptr(), static_cast<size_t>(have));
  return 0;
  RCL_CATCH(1)
}
