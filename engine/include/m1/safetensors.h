// Memory-mapped safetensors files: one file, or a sharded checkpoint through model.safetensors.index.json.
// Every header is validated before use (sizes, JSON, dtypes, shapes, byte ranges); nothing is read whole.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace m1 {

// A bad, truncated or hostile weights file; the message names the file and what is wrong.
struct WeightsError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class DType : uint8_t { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };
size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "BF16"

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const uint8_t* data = nullptr;  // inside the mapping
    size_t nbytes = 0;
    int shard = 0;                  // index into WeightStore::files()
    int64_t numel() const;
};

// Parses and validates a safetensors header. `header` is the JSON text (bytes 8 .. 8+n), `data_size`
// the number of bytes after it. Returns tensors with data offsets in `data` relative to the data start
// (data pointer left null). Throws WeightsError naming `origin`. Exposed for the fuzz test.
std::vector<TensorInfo> parse_safetensors_header(const char* header, size_t header_len, size_t data_size,
                                                 const std::string& origin,
                                                 std::map<std::string, std::string>* metadata = nullptr);

class MappedFile {
public:
    explicit MappedFile(const std::string& path);  // throws WeightsError
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

// All tensors of a checkpoint folder (or one .safetensors file), mapped read-only.
class WeightStore {
public:
    static std::unique_ptr<WeightStore> open(const std::string& dir_or_file);
    const TensorInfo* find(const std::string& name) const;  // null if absent
    const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
    const std::vector<std::unique_ptr<MappedFile>>& files() const { return files_; }
    size_t total_bytes() const;

private:
    void add_file(const std::string& path, const std::vector<std::string>* expected_names);
    std::vector<std::unique_ptr<MappedFile>> files_;
    std::map<std::string, TensorInfo> tensors_;
};

// Converts n elements of a bf16/f16/f32 tensor to fp32 (throws WeightsError for other dtypes).
void to_f32(DType t, const uint8_t* src, float* dst, size_t n);
inline float bf16_to_f32(uint16_t v) {
    uint32_t u = uint32_t(v) << 16;
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
}
uint16_t f32_to_bf16(float f);  // round to nearest even
float f16_to_f32(uint16_t h);

}  // namespace m1
