// Sampling in one block of 1024 threads: thresholds for top-k and top-p are found by bisection over the
// order-preserving integer image of the float logits (32 counting passes each, from L2), then one ordered
// prefix scan picks the token. A few tens of microseconds at V = 200064, independent of the distribution.
#include <climits>

#include "kernels/cuda_check.cuh"
#include "kernels/sampling.cuh"

namespace m1::kern {
namespace {

constexpr int kThreads = 1024;

__host__ __device__ inline uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

__host__ __device__ inline double uniform(uint64_t seed, uint64_t step) {
    return double(mix64(seed ^ mix64(step)) >> 11) * (1.0 / 9007199254740992.0);
}

// Order-preserving map float -> uint32 (larger float, larger key); NaN never appears after the checks.
__device__ inline uint32_t key_of(float f) {
    const uint32_t u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ inline float float_of(uint32_t k) {
    return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

template <typename T, typename Op>
__device__ T block_reduce(T v, Op op) {
    __shared__ T part[kThreads / 32];
    for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    T r = part[0];
    for (int i = 1; i < kThreads / 32; ++i) r = op(r, part[i]);
    return r;
}

struct Sum { template <typename T> __device__ T operator()(T a, T b) const { return a + b; } };
struct Max { __device__ float operator()(float a, float b) const { return fmaxf(a, b); } };
struct Min { __device__ int operator()(int a, int b) const { return a < b ? a : b; } };

__global__ void __launch_bounds__(kThreads) sample_kernel(const float* __restrict__ logits, int V, SampleParams p,
                                                          uint64_t step, int32_t* out) {
    // Greedy (also the fallback for temperature <= 0): argmax, lowest index on ties.
    float lmax = -INFINITY;
    for (int i = threadIdx.x; i < V; i += kThreads) lmax = fmaxf(lmax, logits[i]);
    const float m = block_reduce(lmax, Max{});
    int best = V;
    for (int i = threadIdx.x; i < V; i += kThreads)
        if (logits[i] == m && i < best) best = i;
    best = block_reduce(best, Min{});
    if (best >= V) best = 0;  // all logits NaN
    if (p.greedy || p.temperature <= 0.f) {
        if (threadIdx.x == 0) *out = best;
        return;
    }
    const float inv_t = 1.f / p.temperature;
    // Largest key threshold such that count(key >= thr) >= need; bisection over [lo, hi].
    auto threshold_by_count = [&](uint32_t lo, uint32_t hi, int need) {
        while (lo < hi) {
            const uint32_t mid = lo + (hi - lo + 1) / 2;
            const float f = float_of(mid);
            int c = 0;
            for (int i = threadIdx.x; i < V; i += kThreads) c += logits[i] >= f;
            c = block_reduce(c, Sum{});
            if (c >= need) lo = mid; else hi = mid - 1;
        }
        return lo;
    };
    uint32_t lo = key_of(-INFINITY);
    if (p.top_k > 0 && p.top_k < V) lo = threshold_by_count(lo, key_of(m), p.top_k);
    const float tk = float_of(lo);
    // Masses in double over expf (not __expf) weights, so that the draw agrees with the host's double
    // arithmetic (m1::pick_token) but for rare roundings at a boundary; over 200064 tokens a float sum moves
    // the boundaries by more than a token's weight often enough to pick a neighbour every few dozen draws.
    auto mass_above = [&](float f) {
        double s = 0.0;
        for (int i = threadIdx.x; i < V; i += kThreads) {
            const float l = logits[i];
            if (l >= f) s += expf((l - m) * inv_t);
        }
        return block_reduce(s, Sum{});
    };
    const double z_k = mass_above(tk);
    float thr = tk;
    if (p.top_p < 1.f) {
        // Largest threshold whose kept mass still reaches top_p of the top-k mass.
        uint32_t a = lo, b = key_of(m);
        const double want = double(p.top_p) * z_k;
        while (a < b) {
            const uint32_t mid = a + (b - a + 1) / 2;
            if (mass_above(float_of(mid)) >= want) a = mid; else b = mid - 1;
        }
        thr = float_of(a);
    }
    // Ordered draw: each thread owns a contiguous index range; an exclusive scan of the range masses
    // finds the range holding the target, whose owner walks it.
    const int per = (V + kThreads - 1) / kThreads;
    const int begin = min(V, int(threadIdx.x) * per), end = min(V, begin + per);
    double local = 0.0;
    for (int i = begin; i < end; ++i)
        if (logits[i] >= thr) local += expf((logits[i] - m) * inv_t);
    __shared__ double scan[kThreads];
    scan[threadIdx.x] = local;
    __syncthreads();
    for (int o = 1; o < kThreads; o <<= 1) {  // Hillis-Steele inclusive scan
        const double v = threadIdx.x >= unsigned(o) ? scan[threadIdx.x - o] : 0.0;
        __syncthreads();
        scan[threadIdx.x] += v;
        __syncthreads();
    }
    const double total = scan[kThreads - 1];
    const double target = uniform(p.seed, step) * total;
    const double before = threadIdx.x ? scan[threadIdx.x - 1] : 0.0;
    __shared__ int chosen;
    if (threadIdx.x == 0) chosen = -1;
    __syncthreads();
    if (local > 0.0 && target >= before && target < scan[threadIdx.x]) {
        double c = before;
        int pick = -1;
        for (int i = begin; i < end; ++i) {
            if (logits[i] < thr) continue;
            pick = i;  // rounding can leave c <= target at the range's end: take its last kept token
            c += expf((logits[i] - m) * inv_t);
            if (c > target) break;
        }
        chosen = pick;
    }
    __syncthreads();
    // target == total after rounding matches no range; the argmax is always kept.
    if (threadIdx.x == 0) *out = chosen >= 0 ? chosen : best;
}

constexpr int kPickBlocks = 192;  // with 4 loads a thread, two rounds over V = 200064; one wave on a Hopper part
constexpr int kPickThreads = 256;
constexpr int kPickUnroll = 4;

// Running statistics of a set of logits: the max, the lowest index holding it, and sum exp(l - max).
struct Stats {
    float m;
    float s;
    int idx;
};

__device__ inline Stats merge(Stats a, Stats b) {
    const float M = fmaxf(a.m, b.m);
    if (M == -INFINITY) return a;
    const float s = (a.m == -INFINITY ? 0.f : a.s * expf(a.m - M)) + (b.m == -INFINITY ? 0.f : b.s * expf(b.m - M));
    const int idx = a.m > b.m ? a.idx : b.m > a.m ? b.idx : min(a.idx, b.idx);
    return {M, s, idx};
}

// Merges a block's per-thread statistics; the result is valid in thread 0.
__device__ Stats block_merge(Stats t) {
    __shared__ Stats warp_part[kPickThreads / 32];
    for (int o = 16; o > 0; o >>= 1) {
        const Stats u{__shfl_xor_sync(0xffffffffu, t.m, o), __shfl_xor_sync(0xffffffffu, t.s, o),
                      __shfl_xor_sync(0xffffffffu, t.idx, o)};
        t = merge(t, u);
    }
    if ((threadIdx.x & 31) == 0) warp_part[threadIdx.x >> 5] = t;
    __syncthreads();
    if (threadIdx.x == 0)
        for (int w = 1; w < kPickThreads / 32; ++w) t = merge(t, warp_part[w]);
    return t;
}

struct PickScratch {
    Stats part[kPickBlocks];
    Stats all;
    unsigned ticket;  // blocks done; the last one merges and sets it back to 0
};

// Every block summarises a grid-strided share of the logits; the last block to finish merges the summaries
// (read past L1, which other blocks' writes do not reach) and, for greedy, writes the choice.
__global__ void __launch_bounds__(kPickThreads) pick_stats_kernel(const float* __restrict__ logits, int V,
                                                                  PickScratch* sc, bool greedy, TokenChoice* out) {
    Stats t{-INFINITY, 0.f, INT_MAX};
    const int stride = gridDim.x * kPickThreads;
    for (int base = blockIdx.x * kPickThreads + threadIdx.x; base < V; base += kPickUnroll * stride) {
        float l[kPickUnroll];  // every load in flight before the first use; ids still rise within a thread
#pragma unroll
        for (int u = 0; u < kPickUnroll; ++u) l[u] = base + u * stride < V ? logits[base + u * stride] : -INFINITY;
#pragma unroll
        for (int u = 0; u < kPickUnroll; ++u) {
            if (!(l[u] > -INFINITY)) continue;  // -inf and NaN take no part
            if (l[u] > t.m) {
                t.s = t.s * expf(t.m - l[u]) + 1.f;
                t.m = l[u];
                t.idx = base + u * stride;
            } else {
                t.s += expf(l[u] - t.m);
            }
        }
    }
    t = block_merge(t);
    __shared__ bool last;
    if (threadIdx.x == 0) {
        sc->part[blockIdx.x] = t;
        __threadfence();
        last = atomicAdd(&sc->ticket, 1u) == gridDim.x - 1;
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    Stats a{-INFINITY, 0.f, INT_MAX};
    for (int b = threadIdx.x; b < int(gridDim.x); b += kPickThreads)
        a = merge(a, Stats{__ldcg(&sc->part[b].m), __ldcg(&sc->part[b].s), __ldcg(&sc->part[b].idx)});
    __syncthreads();  // block_merge's shared array is reused
    a = block_merge(a);
    if (threadIdx.x == 0) {
        if (a.idx == INT_MAX) a.idx = 0;  // no finite logit
        sc->all = a;
        sc->ticket = 0;
        if (greedy) *out = TokenChoice{a.idx, a.s > 0.f ? 1.f / a.s : 0.f};
    }
}

// After sample_kernel wrote out->id: its plain probability from the merged statistics.
__global__ void pick_prob_kernel(const float* __restrict__ logits, const PickScratch* sc, TokenChoice* out) {
    const Stats a = sc->all;
    const float l = logits[out->id];
    out->prob = (a.s > 0.f && l > -INFINITY) ? expf(l - a.m) / a.s : 0.f;
}

}  // namespace

std::size_t pick_scratch_bytes() { return sizeof(PickScratch); }

void pick_token(const float* logits, int V, const SampleParams& p, uint64_t step, void* scratch, TokenChoice* out,
                cudaStream_t stream) {
    if (V <= 0) throw std::invalid_argument("pick_token: empty vocabulary");
    const bool greedy = p.greedy || p.temperature <= 0.f;
    auto* sc = static_cast<PickScratch*>(scratch);
    pick_stats_kernel<<<kPickBlocks, kPickThreads, 0, stream>>>(logits, V, sc, greedy, out);
    M1_LAUNCH_CHECK();
    if (greedy) return;
    sample_kernel<<<1, kThreads, 0, stream>>>(logits, V, p, step, &out->id);
    M1_LAUNCH_CHECK();
    pick_prob_kernel<<<1, 1, 0, stream>>>(logits, sc, out);
    M1_LAUNCH_CHECK();
}

double sample_uniform(uint64_t seed, uint64_t step) { return uniform(seed, step); }

void sample_token(const float* logits, int V, const SampleParams& p, uint64_t step, int32_t* out,
                  cudaStream_t stream) {
    if (V <= 0) throw std::invalid_argument("sample_token: empty vocabulary");
    sample_kernel<<<1, kThreads, 0, stream>>>(logits, V, p, step, out);
    M1_LAUNCH_CHECK();
}

}  // namespace m1::kern
