// Build options and library versions as compiled in, plus what the CUDA runtime reports now.
#include "m1/build_info.h"

#include "m1/build_config.h"

#ifdef M1_HAVE_CUDA
#include "kernels/device_info.cuh"
#endif

namespace m1 {

BuildInfo build_info() {
    BuildInfo b;
    b.version = M1_VERSION;
    b.commit = M1_GIT_COMMIT;
    b.compiler = M1_COMPILER;
    b.blas = M1_BLAS_NAME;
#ifdef M1_HAVE_CUDA
    b.cuda = true;
    b.cuda_version = M1_CUDA_VERSION_BUILT;
#endif
#ifdef M1_HAVE_NCCL
    b.nccl = true;
    b.nccl_version = M1_NCCL_VERSION_BUILT;
#endif
    b.qt_version = M1_QT_VERSION_BUILT;
    return b;
}

std::vector<std::pair<std::string, std::string>> build_info_lines() {
    BuildInfo b = build_info();
    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("version", b.version);
    out.emplace_back("commit", b.commit);
    out.emplace_back("compiler", b.compiler);
    std::string cuda = b.cuda ? "on (toolkit " + b.cuda_version + ")" : "off";
#ifdef M1_HAVE_CUDA
    std::string rt = m1::cuda::runtime_version(), drv = m1::cuda::driver_version();
    auto devs = m1::cuda::list_devices();
    cuda += ", runtime " + (rt.empty() ? std::string("unavailable") : rt) + ", driver " +
            (drv.empty() ? std::string("none") : drv) + ", " + std::to_string(devs.size()) + " GPU(s)";
#endif
    out.emplace_back("cuda", cuda);
    out.emplace_back("nccl", b.nccl ? "on (" + b.nccl_version + ")" : "off");
    out.emplace_back("blas", b.blas);
    out.emplace_back("qt", b.qt_version.empty() ? "none (engine-only build)" : b.qt_version);
    return out;
}

}  // namespace m1
