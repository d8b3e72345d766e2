// MoE block orchestration (host code). The grouped path syncs once per call to learn the per-expert row
// counts, which size the cuBLAS calls; prefill chunks are large, so that sync costs little. Experts' GEMMs
// are spread over the side lanes of the Blas handle so that several small GEMMs share the GPU.
#include "kernels/cuda_check.cuh"
#include "kernels/lm_head.cuh"
#include "kernels/moe_block.cuh"
#include "kernels/moe_dispatch.cuh"
#include "kernels/moe_router.cuh"
#include "kernels/quant_int8.cuh"

namespace m1::kern {
namespace {

std::size_t align256(std::size_t n) { return (n + 255) / 256 * 256; }

struct Layout {
    std::size_t off[12];
    std::size_t total;
};

Layout layout(int T, int k, const ExpertWeights& w) {
    const std::size_t R = std::size_t(T) * k;
    const std::size_t sizes[12] = {
        std::size_t(T) * w.E * 4, R * 4, R * 4, std::size_t(w.E) * 4, std::size_t(w.E + 1) * 4, R * 4, R * 4,
        R * w.H * 2, R * 2 * w.I * 4, R * w.I * 2, R * w.H * 4,
        w.is_int8() ? std::size_t(2) * w.I * w.H * 2 : 0};
    Layout l{};
    std::size_t at = 0;
    for (int i = 0; i < 12; ++i) {
        l.off[i] = at;
        at += align256(sizes[i]);
    }
    l.total = at;
    return l;
}

}  // namespace

std::size_t moe_scratch_bytes(int T, int k, const ExpertWeights& w) { return layout(T, k, w).total; }

MoeScratch moe_carve(void* base, int T, int k, const ExpertWeights& w) {
    const Layout l = layout(T, k, w);
    auto* b = static_cast<char*>(base);
    MoeScratch s;
    s.logits = reinterpret_cast<float*>(b + l.off[0]);
    s.topk_ids = reinterpret_cast<int32_t*>(b + l.off[1]);
    s.topk_w = reinterpret_cast<float*>(b + l.off[2]);
    s.counts = reinterpret_cast<int32_t*>(b + l.off[3]);
    s.offsets = reinterpret_cast<int32_t*>(b + l.off[4]);
    s.slot_of = reinterpret_cast<int32_t*>(b + l.off[5]);
    s.token_of_slot = reinterpret_cast<int32_t*>(b + l.off[6]);
    s.xp = reinterpret_cast<__nv_bfloat16*>(b + l.off[7]);
    s.gu = reinterpret_cast<float*>(b + l.off[8]);
    s.h = reinterpret_cast<__nv_bfloat16*>(b + l.off[9]);
    s.y = reinterpret_cast<float*>(b + l.off[10]);
    s.deq = w.is_int8() ? reinterpret_cast<__nv_bfloat16*>(b + l.off[11]) : nullptr;
    return s;
}

void moe_experts_grouped(Blas& blas, const ExpertWeights& w, const MoeScratch& s, const int32_t* host_counts) {
    const std::size_t H = w.H, I = w.I;
    // Rows are grouped by global expert id; the held experts' rows are one contiguous run [lo, lo + R).
    int lo = 0, R = 0;
    for (int e = 0; e < w.e_begin; ++e) lo += host_counts[e];
    for (int e = w.e_begin; e < w.e_end(); ++e) R += host_counts[e];
    const int32_t* cnt = host_counts + w.e_begin;  // weights are indexed from e_begin
    if (w.is_int8()) {  // one dequantisation buffer: one expert at a time, on the main stream
        cudaStream_t st = blas.stream();
        int off = lo;
        for (int e = 0; e < w.held(); off += cnt[e], ++e)
            if (cnt[e] > 0) {
                dequantize_rows_int8(w.q13 + e * 2 * I * H, w.s13 + e * 2 * I, int(2 * I), int(H), s.deq, st);
                gemm_bf16(blas, cnt[e], int(2 * I), int(H), s.xp + off * H, int(H), s.deq, int(H),
                          s.gu + off * 2 * I, OutType::F32, int(2 * I));
            }
        swiglu(s.gu + lo * 2 * I, R, int(I), s.h + lo * I, st);
        off = lo;
        for (int e = 0; e < w.held(); off += cnt[e], ++e)
            if (cnt[e] > 0) {
                dequantize_rows_int8(w.q2 + e * H * I, w.s2 + e * H, int(H), int(I), s.deq, st);
                gemm_bf16(blas, cnt[e], int(H), int(I), s.h + off * I, int(I), s.deq, int(I), s.y + off * H,
                          OutType::F32, int(H));
            }
        return;
    }
    // bf16: each expert's gate|up GEMM, SwiGLU and down GEMM on one of the side lanes, round robin, so that
    // several experts' GEMMs (each a few hundred rows: too few tiles to fill the GPU alone) run at once.
    blas.fork(Blas::kLanes);
    int off = lo, next = 0;
    for (int e = 0; e < w.held(); off += cnt[e], ++e) {
        const int n = cnt[e];
        if (n == 0) continue;
        Blas& b = blas.lane(next++ % Blas::kLanes);
        gemm_bf16(b, n, int(2 * I), int(H), s.xp + off * H, int(H), w.w13 + e * 2 * I * H, int(H), s.gu + off * 2 * I,
                  OutType::F32, int(2 * I));
        swiglu(s.gu + off * 2 * I, n, int(I), s.h + off * I, b.stream());
        gemm_bf16(b, n, int(H), int(I), s.h + off * I, int(I), w.w2 + e * H * I, int(I), s.y + off * H, OutType::F32,
                  int(H));
    }
    blas.join(Blas::kLanes);
}

void moe_forward(Blas& blas, const float* gate, const ExpertWeights& w, const float* x_f32,
                 const __nv_bfloat16* x_bf16, int T, int k, const MoeScratch& s, int32_t* host_counts, float* out) {
    if (T <= 0) return;
    cudaStream_t st = blas.stream();
    if (T <= kMatvecMaxRows)  // decode: one pass over the fp32 router (lm_head_bench: router rows)
        matvec_f32(x_f32, w.H, T, RowWeights{gate, WeightType::F32, w.E, w.H}, s.logits, w.E, st);
    else
        gemm_f32(blas, T, w.E, w.H, x_f32, w.H, gate, w.H, s.logits, w.E);
    moe_route(s.logits, T, w.E, k, s.topk_ids, s.topk_w, st);
    if (T * k <= kMoeSmallMaxPairs) {
        moe_experts_small(w, x_bf16, T, k, s.topk_ids, s.topk_w, s.h, out, st);
        return;
    }
    moe_plan(s.topk_ids, T, k, w.E, s.counts, s.offsets, s.slot_of, s.token_of_slot, st);
    if (w.e_count == 0) {  // all experts held: gather every row while the counts travel
        moe_gather(x_bf16, s.token_of_slot, T * k, w.H, s.xp, st);
        M1_CUDA_CHECK(cudaMemcpyAsync(host_counts, s.counts, sizeof(int32_t) * w.E, cudaMemcpyDeviceToHost, st));
        M1_CUDA_CHECK(cudaStreamSynchronize(st));
    } else {  // expert parallel: learn the counts first, then gather only the held experts' rows
        M1_CUDA_CHECK(cudaMemcpyAsync(host_counts, s.counts, sizeof(int32_t) * w.E, cudaMemcpyDeviceToHost, st));
        M1_CUDA_CHECK(cudaStreamSynchronize(st));
        int lo = 0, R = 0;
        for (int e = 0; e < w.e_begin; ++e) lo += host_counts[e];
        for (int e = w.e_begin; e < w.e_end(); ++e) R += host_counts[e];
        moe_gather(x_bf16, s.token_of_slot + lo, R, w.H, s.xp + std::size_t(lo) * w.H, st);
    }
    moe_experts_grouped(blas, w, s, host_counts);
    moe_combine(s.y, s.slot_of, s.topk_ids, s.topk_w, T, k, w.H, out, st, w.e_begin, w.e_end());
}

}  // namespace m1::kern
