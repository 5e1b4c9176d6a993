"""Run a TileLang-generated CUDA kernel on the CPU, for tests without a GPU: one std::thread per CUDA
thread (a std::barrier for __syncthreads), blocks one after another, shared memory filled with NaN
bytes before each block and outputs starting as NaN (what a kernel forgets to write shows). Only
what the small kernels here use is emulated: threadIdx/blockIdx, dynamic shared memory, float4 /
uint4 vector casts, bfloat16_t, PDL markers (no-ops), float __shfl_xor_sync within a warp whose 32
lanes all call it (a std::barrier per warp), expf and rsqrtf (1 / sqrtf: not the GPU's
approximation, so compare emulated kernels with each other, or within a bound, never bitwise
with a GPU). Needs g++ with C++20."""

import shutil
import subprocess
from pathlib import Path

PRELUDE = r"""
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>
typedef unsigned char uchar;
struct bfloat16_t {
  uint16_t v;
  bfloat16_t() = default;
  explicit bfloat16_t(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) { v = 0x7fc0; return; }
    u += 0x7fff + ((u >> 16) & 1); v = uint16_t(u >> 16);
  }
  operator float() const { uint32_t u = uint32_t(v) << 16; float f; memcpy(&f, &u, 4); return f; }
};
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
struct dim3_ { int x, y, z; };
thread_local dim3_ threadIdx, blockIdx;
uchar* g_smem;
std::barrier<>* g_barrier;
#define __global__
#define __launch_bounds__(...)
#define __syncthreads() g_barrier->arrive_and_wait()
#define cudaGridDependencySynchronize()
#define cudaTriggerProgrammaticLaunchCompletion()
typedef unsigned int uint;
std::vector<std::barrier<>*> g_warp_barriers;
float g_shfl[1024];
inline float __shfl_xor_sync(uint, float v, int lane_mask, int) {
  int t = threadIdx.x;
  std::barrier<>* b = g_warp_barriers[t / 32];
  g_shfl[t] = v; b->arrive_and_wait();
  float r = g_shfl[(t & ~31) + ((t & 31) ^ lane_mask)]; b->arrive_and_wait();
  return r;
}
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float max(float a, float b) { return fmaxf(a, b); }
"""


def available() -> bool:
    return shutil.which("g++") is not None


def kernel_body(source: str) -> str:
    """The __global__ function of TileLang's source, its shared memory pointed at g_smem."""
    body = source[source.index('extern "C" __global__ void __launch_bounds__'):]
    body = body.replace("extern __shared__ __align__(1024) uchar buf_dyn_shmem[];", "uchar* buf_dyn_shmem = g_smem;")
    return body.replace('extern "C" ', "")


def compile_program(source: str, driver: str, workdir: Path) -> Path:
    """PRELUDE + the kernel + ``driver`` (a main() that calls ``launch``) -> an executable."""
    launcher = r"""
template <class F> void launch(int gx, int gy, int threads, size_t smem, F kernel) {
  std::vector<uchar> shm(smem + 1024);
  g_smem = (uchar*)(((uintptr_t)shm.data() + 1023) & ~uintptr_t(1023));
  for (int by = 0; by < gy; ++by) for (int bx = 0; bx < gx; ++bx) {
    memset(g_smem, 0xff, smem);
    std::barrier<> bar(threads); g_barrier = &bar;
    std::vector<std::barrier<>*> warps;
    for (int w = 0; w < (threads + 31) / 32; ++w) warps.push_back(new std::barrier<>(32));
    g_warp_barriers = warps;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { threadIdx = {t, 0, 0}; blockIdx = {bx, by, 0}; kernel(); });
    for (auto& th : ts) th.join();
    for (auto* w : warps) delete w;
  }
}
"""
    cpp = workdir / "kernel.cpp"
    cpp.write_text(PRELUDE + kernel_body(source) + launcher + driver)
    exe = workdir / "kernel"
    subprocess.run(["g++", "-std=c++20", "-O1", "-fno-strict-aliasing", "-pthread", str(cpp), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    return exe
