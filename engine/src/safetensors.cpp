// safetensors: header parsing with full validation, read-only memory mapping, sharded checkpoints
// through model.safetensors.index.json, and bf16/fp16/fp32 conversion to fp32.
#include "m1/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace m1 {
namespace {

using json = nlohmann::json;
constexpr size_t kMaxHeader = size_t(100) << 20;  // the safetensors format's own limit

bool parse_dtype(const std::string& s, DType* out) {
    static const std::pair<const char*, DType> names[] = {
        {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"F64", DType::F64},
        {"I64", DType::I64}, {"I32", DType::I32}, {"I16", DType::I16},   {"I8", DType::I8},
        {"U8", DType::U8},   {"BOOL", DType::BOOL}};
    for (const auto& [n, t] : names)
        if (s == n) {
            *out = t;
            return true;
        }
    return false;
}

TensorInfo parse_entry(const std::string& name, const json& e, size_t data_size, const std::string& origin) {
    auto fail = [&](const std::string& what) -> void { throw WeightsError(origin + ": tensor '" + name + "': " + what); };
    TensorInfo t;
    t.name = name;
    if (!e.is_object()) fail("header entry is not an object");
    if (!e.contains("dtype") || !e["dtype"].is_string()) fail("missing dtype");
    if (!parse_dtype(e["dtype"].get<std::string>(), &t.dtype)) fail("unknown dtype " + e["dtype"].dump());
    if (!e.contains("shape") || !e["shape"].is_array()) fail("missing shape");
    if (e["shape"].size() > 8) fail("more than 8 dimensions");
    unsigned __int128 numel = 1;
    for (const json& d : e["shape"]) {
        if (!d.is_number_unsigned()) fail("shape entries must be non-negative integers, got " + d.dump());
        uint64_t v = d.get<uint64_t>();
        if (v > (uint64_t(1) << 48)) fail("dimension " + std::to_string(v) + " is absurdly large");
        t.shape.push_back(int64_t(v));
        numel *= v;
        if (numel > (unsigned __int128)(uint64_t(1) << 56)) fail("shape overflows");
    }
    if (!e.contains("data_offsets") || !e["data_offsets"].is_array() || e["data_offsets"].size() != 2 ||
        !e["data_offsets"][0].is_number_unsigned() || !e["data_offsets"][1].is_number_unsigned())
        fail("data_offsets must be [begin, end]");
    uint64_t b = e["data_offsets"][0].get<uint64_t>(), en = e["data_offsets"][1].get<uint64_t>();
    if (b > en) fail("data_offsets begin > end");
    if (en > data_size)
        fail("byte range [" + std::to_string(b) + ", " + std::to_string(en) + ") runs past the end of the data (" +
             std::to_string(data_size) + " bytes): file truncated?");
    unsigned __int128 need = numel * dtype_size(t.dtype);
    if (need != (unsigned __int128)(en - b))
        fail("shape x dtype size = " + std::to_string(uint64_t(need)) + " bytes but data_offsets hold " +
             std::to_string(en - b));
    t.data = reinterpret_cast<const uint8_t*>(uintptr_t(b));  // offset for now; rebased by the caller
    t.nbytes = size_t(en - b);
    return t;
}

}  // namespace

size_t dtype_size(DType t) {
    switch (t) {
        case DType::F64: case DType::I64: return 8;
        case DType::F32: case DType::I32: return 4;
        case DType::F16: case DType::BF16: case DType::I16: return 2;
        default: return 1;
    }
}

const char* dtype_name(DType t) {
    static const char* n[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"};
    return n[size_t(t)];
}

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::vector<TensorInfo> parse_safetensors_header(const char* header, size_t header_len, size_t data_size,
                                                 const std::string& origin,
                                                 std::map<std::string, std::string>* metadata) {
    if (header_len > kMaxHeader) throw WeightsError(origin + ": header of " + std::to_string(header_len) + " bytes exceeds 100 MB");
    json j;
    try {
        j = json::parse(header, header + header_len);
    } catch (const json::exception& e) {
        throw WeightsError(origin + ": header is not valid UTF-8 JSON (" + std::string(e.what()) + ")");
    }
    if (!j.is_object()) throw WeightsError(origin + ": header is not a JSON object");
    std::vector<TensorInfo> out;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it.value().is_object()) throw WeightsError(origin + ": __metadata__ is not an object");
            for (auto m = it.value().begin(); m != it.value().end(); ++m) {
                if (!m.value().is_string()) throw WeightsError(origin + ": __metadata__ values must be strings");
                if (metadata) (*metadata)[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        out.push_back(parse_entry(it.key(), it.value(), data_size, origin));
    }
    // Byte ranges may not overlap (empty tensors take no room and never collide).
    std::vector<const TensorInfo*> byoff;
    for (const auto& t : out)
        if (t.nbytes) byoff.push_back(&t);
    std::sort(byoff.begin(), byoff.end(), [](auto* a, auto* b) { return a->data < b->data; });
    for (size_t i = 1; i < byoff.size(); ++i)
        if (uintptr_t(byoff[i - 1]->data) + byoff[i - 1]->nbytes > uintptr_t(byoff[i]->data))
            throw WeightsError(origin + ": tensors '" + byoff[i - 1]->name + "' and '" + byoff[i]->name +
                               "' overlap in the file");
    return out;
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw WeightsError(path + ": cannot open (" + std::strerror(errno) + ")");
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw WeightsError(path + ": not a regular file");
    }
    size_ = size_t(st.st_size);
    if (size_ > 0) {
        void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            ::close(fd);
            throw WeightsError(path + ": cannot map (" + std::strerror(errno) + ")");
        }
        data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

void WeightStore::add_file(const std::string& path, const std::vector<std::string>* expected_names) {
    auto f = std::make_unique<MappedFile>(path);
    if (f->size() < 8) throw WeightsError(path + ": " + std::to_string(f->size()) + " bytes: too short for a safetensors file");
    uint64_t n = 0;
    std::memcpy(&n, f->data(), 8);
    if (n > kMaxHeader) throw WeightsError(path + ": header length " + std::to_string(n) + " exceeds 100 MB: not a safetensors file");
    if (n > f->size() - 8) throw WeightsError(path + ": header length " + std::to_string(n) + " runs past the end of the file: truncated?");
    auto list = parse_safetensors_header(reinterpret_cast<const char*>(f->data() + 8), size_t(n), f->size() - 8 - size_t(n), path);
    const uint8_t* base = f->data() + 8 + n;
    int shard = int(files_.size());
    std::set<std::string> seen;
    for (auto& t : list) {
        t.data = base + uintptr_t(t.data);
        t.shard = shard;
        if (tensors_.count(t.name)) throw WeightsError(path + ": tensor '" + t.name + "' also appears in another shard");
        seen.insert(t.name);
        tensors_[t.name] = t;
    }
    if (expected_names) {
        for (const auto& name : *expected_names)
            if (!seen.count(name))
                throw WeightsError(path + ": the index places tensor '" + name + "' in this shard but it is not there");
        if (seen.size() != expected_names->size())
            throw WeightsError(path + ": holds tensors the index does not list (index and shards do not match)");
    }
    files_.push_back(std::move(f));
}

std::unique_ptr<WeightStore> WeightStore::open(const std::string& dir_or_file) {
    namespace fs = std::filesystem;
    auto ws = std::unique_ptr<WeightStore>(new WeightStore());
    std::error_code ec;
    fs::path p(dir_or_file);
    if (!fs::is_directory(p, ec)) {
        ws->add_file(p.string(), nullptr);
        return ws;
    }
    fs::path index = p / "model.safetensors.index.json";
    if (!fs::exists(index, ec)) {
        fs::path single = p / "model.safetensors";
        if (!fs::exists(single, ec))
            throw WeightsError(p.string() + ": no model.safetensors or model.safetensors.index.json");
        ws->add_file(single.string(), nullptr);
        return ws;
    }
    if (fs::file_size(index, ec) > (size_t(64) << 20)) throw WeightsError(index.string() + ": larger than 64 MB");
    std::ifstream f(index, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    json j;
    try {
        j = json::parse(ss.str());
    } catch (const json::exception& e) {
        throw WeightsError(index.string() + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
        throw WeightsError(index.string() + ": missing weight_map");
    std::map<std::string, std::vector<std::string>> by_file;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
        if (!it.value().is_string()) throw WeightsError(index.string() + ": weight_map values must be file names");
        std::string file = it.value().get<std::string>();
        if (file.empty() || file.find('/') != std::string::npos || file.find('\\') != std::string::npos || file == "..")
            throw WeightsError(index.string() + ": shard name '" + file + "' must be a plain file name");
        by_file[file].push_back(it.key());
    }
    if (by_file.empty()) throw WeightsError(index.string() + ": weight_map is empty");
    for (const auto& [file, names] : by_file) {
        try {
            ws->add_file((p / file).string(), &names);
        } catch (const WeightsError& e) {
            throw WeightsError("loading shard " + std::to_string(ws->files_.size() + 1) + " of " +
                               std::to_string(by_file.size()) + ": " + e.what());
        }
    }
    return ws;
}

const TensorInfo* WeightStore::find(const std::string& name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

size_t WeightStore::total_bytes() const {
    size_t n = 0;
    for (const auto& [k, t] : tensors_) n += t.nbytes;
    return n;
}

uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // NaN stays NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else {  // subnormal: renormalize
            exp = 127 - 15 + 1;
            while (!(man & 0x400u)) {
                man <<= 1;
                --exp;
            }
            u = sign | (exp << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp - 15 + 127) << 23) | (man << 13);
    }
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

void to_f32(DType t, const uint8_t* src, float* dst, size_t n) {
    switch (t) {
        case DType::F32: std::memcpy(dst, src, n * 4); return;
        case DType::BF16:
            for (size_t i = 0; i < n; ++i) {
                uint16_t v;
                std::memcpy(&v, src + 2 * i, 2);
                dst[i] = bf16_to_f32(v);
            }
            return;
        case DType::F16:
            for (size_t i = 0; i < n; ++i) {
                uint16_t v;
                std::memcpy(&v, src + 2 * i, 2);
                dst[i] = f16_to_f32(v);
            }
            return;
        default: throw WeightsError(std::string("weights of dtype ") + dtype_name(t) + " are not supported (bf16, fp16, fp32)");
    }
}

}  // namespace m1
