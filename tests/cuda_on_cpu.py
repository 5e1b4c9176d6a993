"""Run a TileLang-generated CUDA kernel on the CPU, for tests without a GPU: one std::thread per CUDA
thread (a std::barrier for __syncthreads), blocks one after another, shared memory filled with NaN
bytes before each block and outputs starting as NaN (what a kernel forgets to write shows). Only
what the small kernels here use is emulated: threadIdx/blockIdx, dynamic shared memory, float2 / float4
/ uint1 / uint2 / uint4 vector casts, bfloat16_t and __nv_bfloat162 (round to nearest even), PDL
markers (no-ops), warp shuffles (__shfl_xor_sync / __shfl_sync, tl::shfl_xor_sync: per warp, a
32-thread barrier before and after each exchange, so every lane of the warp must take part, as the
kernels here do), named barriers (bar.sync id, count: tl::__sync_thread_partial and
tl::NamedBarrier, one std::barrier per id, made at the first arrival) and tl::AllReduce's scalar
butterfly (reduce.h's tree: shared memory for xor >= 32, shuffles below). Math: expf and sqrtf of the
C library, rsqrtf as 1 / sqrtf, max as fmaxf, __fmaf_rn as fmaf (exact, as the GPU's), tl::fast_rcp
(the GPU's rcp.approx) as the correctly rounded 1 / x: not all the GPU's functions, but the same ones
for every kernel, so two kernels that do the same operations in the same order agree bitwise here
(compare emulated kernels with each other, or within a bound, never bitwise with a GPU). g++ does
not contract a * b + c into an FMA (ISO C++ mode, no -mfma), nvcc does: a CPU run does not see
contraction differences. Needs g++ with C++20.

Several kernels can go in one program (``compile_program`` takes a list of sources)."""

import re
import shutil
import subprocess
from pathlib import Path

PRELUDE = r"""
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
typedef unsigned char uchar;
typedef unsigned int uint;
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
struct alignas(8) float2 { float x, y; };
struct alignas(8) uint2 { unsigned x, y; };
struct alignas(4) uint1 { unsigned x; };
struct alignas(4) __nv_bfloat162 { bfloat16_t x, y; };
inline float2 make_float2(float a, float b) { return {a, b}; }
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline float2 __bfloat1622float2(__nv_bfloat162 v) { return {float(v.x), float(v.y)}; }
inline __nv_bfloat162 __float22bfloat162_rn(float2 v) { return {bfloat16_t(v.x), bfloat16_t(v.y)}; }
inline float max(float a, float b) { return fmaxf(a, b); }
inline float min(float a, float b) { return fminf(a, b); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __fmaf_rn(float a, float b, float c) { return std::fmaf(a, b, c); }
struct dim3_ { int x, y, z; };
thread_local dim3_ threadIdx, blockIdx;
uchar* g_smem;
std::barrier<>* g_barrier;
// per block: one 32-thread barrier and one exchange row per warp; named barriers by id
std::vector<std::barrier<>*> g_warp_barrier;
std::vector<uint64_t> g_shfl;  // warps * 32 slots
std::barrier<>* g_named[16];
std::mutex g_named_lock;
template <class T> T shfl_read(T v, int src_of_lane) {
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  uint64_t bits = 0; memcpy(&bits, &v, sizeof(T));
  g_shfl[warp * 32 + lane] = bits;
  g_warp_barrier[warp]->arrive_and_wait();
  bits = g_shfl[warp * 32 + src_of_lane];
  g_warp_barrier[warp]->arrive_and_wait();
  T r; memcpy(&r, &bits, sizeof(T)); return r;
}
template <class T> T __shfl_xor_sync(unsigned, T v, int lane_mask, int width = 32) {
  int lane = threadIdx.x % 32;
  int src = lane ^ lane_mask;
  if ((src & ~(width - 1)) != (lane & ~(width - 1))) src = lane;
  return shfl_read(v, src);
}
template <class T> T __shfl_sync(unsigned, T v, int src_lane, int width = 32) {
  int lane = threadIdx.x % 32;
  return shfl_read(v, (lane & ~(width - 1)) + (src_lane % width));
}
void named_barrier_sync(int id, int count) {
  std::barrier<>* bar;
  { std::lock_guard<std::mutex> guard(g_named_lock);
    if (!g_named[id]) g_named[id] = new std::barrier<>(count);
    bar = g_named[id]; }
  bar->arrive_and_wait();
}
namespace tl {
inline float fast_rcp(float x) { return 1.0f / x; }
template <class T> T shfl_xor_sync(unsigned mask, T v, int lane_mask) { return __shfl_xor_sync(mask, v, lane_mask); }
inline void __sync_thread_partial(int id = 0, int count = 0) { named_barrier_sync(id, count); }
struct SumOp { template <class T> T operator()(T const& x, T const& y) { return x + y; } };
struct MaxOp { template <class T> T operator()(T const& x, T const& y) { return max(x, y); } };
template <int all_threads> struct NamedBarrier {
  template <int phase = 1> static void sync() { named_barrier_sync(phase, all_threads); }
};
template <class Reducer, int threads, int scale, int thread_offset, class Barrier>
struct AllReduce {  // reduce.h's scalar butterfly_reduce_scalar
  template <class T> static T run(T x, T* red_buf = nullptr) {
    if constexpr (threads == scale) {
      return x;
    } else {
      constexpr int offset = threads / 2;
      if constexpr (offset >= 32) {
        Barrier::template sync<1>();
        red_buf[threadIdx.x - thread_offset] = x;
        Barrier::template sync<2>();
        x = Reducer()(x, red_buf[(threadIdx.x - thread_offset) ^ offset]);
      } else {
        x = Reducer()(x, tl::shfl_xor_sync(uint32_t(-1), x, offset));
      }
      if constexpr (offset == scale) return x;
      else return AllReduce<Reducer, threads / 2, scale, thread_offset, Barrier>::run(x, red_buf);
    }
  }
};
}  // namespace tl
#define __global__
#define __launch_bounds__(...)
#define __syncthreads() g_barrier->arrive_and_wait()
#define cudaGridDependencySynchronize()
#define cudaTriggerProgrammaticLaunchCompletion()
"""


def available() -> bool:
    return shutil.which("g++") is not None


def kernel_body(source: str) -> str:
    """The __global__ function of TileLang's source, its shared memory pointed at g_smem."""
    body = source[source.index('extern "C" __global__ void __launch_bounds__'):]
    # TileLang declares its dynamic shared memory as one typed array (uchar, or the type of a lone buffer)
    body = re.sub(r"extern __shared__ __align__\(1024\) (\w+) (\w+)\[\];", r"\1* \2 = (\1*)g_smem;", body)
    return body.replace('extern "C" ', "")


def compile_program(source: str | list[str], driver: str, workdir: Path) -> Path:
    """PRELUDE + the kernel(s) + ``driver`` (a main() that calls ``launch``) -> an executable."""
    launcher = r"""
template <class F> void launch(int gx, int gy, int threads, size_t smem, F kernel) {
  std::vector<uchar> shm(smem + 1024);
  g_smem = (uchar*)(((uintptr_t)shm.data() + 1023) & ~uintptr_t(1023));
  for (int by = 0; by < gy; ++by) for (int bx = 0; bx < gx; ++bx) {
    memset(g_smem, 0xff, smem);
    std::barrier<> bar(threads); g_barrier = &bar;
    std::vector<std::unique_ptr<std::barrier<>>> warp_bars;
    g_warp_barrier.clear(); g_shfl.assign(((threads + 31) / 32) * 32, 0);
    for (int w = 0; w < (threads + 31) / 32; ++w) {
      warp_bars.emplace_back(new std::barrier<>(std::min(32, threads - 32 * w)));
      g_warp_barrier.push_back(warp_bars.back().get());
    }
    for (auto& b : g_named) { delete b; b = nullptr; }
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { threadIdx = {t, 0, 0}; blockIdx = {bx, by, 0}; kernel(); });
    for (auto& th : ts) th.join();
  }
}
"""
    cpp = workdir / "kernel.cpp"
    sources = [source] if isinstance(source, str) else source
    cpp.write_text(PRELUDE + "".join(kernel_body(s) for s in sources) + launcher + driver)
    exe = workdir / "kernel"
    subprocess.run(["g++", "-std=c++20", "-O1", "-fno-strict-aliasing", "-pthread", str(cpp), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    return exe
