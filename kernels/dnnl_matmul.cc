#include "kernels/dnnl_matmul.h"

#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace imunpack {
namespace {

using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

struct Cached {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  size_t scratch_bytes = 0;
};

// The process-wide CPU engine and primitive cache. The cache is bounded:
// beyond kMaxEntries it is cleared (shapes in a long-running server are few;
// a flood of distinct shapes must not grow memory without bound).
class Registry {
 public:
  static Registry& Get() {
    static Registry* r = new Registry();
    return *r;
  }
  dnnl::engine& engine() { return engine_; }

  std::shared_ptr<Cached> Find(const Key& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    return it == cache_.end() ? nullptr : it->second;
  }
  void Insert(const Key& key, std::shared_ptr<Cached> c) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kMaxEntries) cache_.clear();
    cache_.emplace(key, std::move(c));
  }
  int64_t Size() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(cache_.size());
  }

 private:
  static constexpr size_t kMaxEntries = 4096;
  Registry() : engine_(dnnl::engine::kind::cpu, 0) {}
  dnnl::engine engine_;
  std::mutex mu_;
  std::map<Key, std::shared_ptr<Cached>> cache_;  // guarded by mu_
};

struct Types {
  dnnl::memory::data_type a, b, c;
};

Types TypesOf(MatmulType t) {
  using dt = dnnl::memory::data_type;
  switch (t) {
    case MatmulType::kS8S8S32:
      return {dt::s8, dt::s8, dt::s32};
    case MatmulType::kF32:
      return {dt::f32, dt::f32, dt::f32};
    case MatmulType::kBF16:
      return {dt::bf16, dt::bf16, dt::f32};
  }
  return {dt::f32, dt::f32, dt::f32};
}

// b_layout: B's layout when it is not plain with stride ldb (packed).
std::shared_ptr<Cached> Create(MatmulType type, int64_t M, int64_t K, int64_t N,
                               int64_t lda, int64_t ldb, int64_t ldc,
                               const dnnl::memory::desc* b_layout = nullptr) {
  Types ty = TypesOf(type);
  using md = dnnl::memory::desc;
  md a_md({M, K}, ty.a, dnnl::memory::dims{lda, 1});
  md b_md = b_layout ? *b_layout : md({K, N}, ty.b, dnnl::memory::dims{ldb, 1});
  md c_md({M, N}, ty.c, dnnl::memory::dims{ldc, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::matmul::desc desc(a_md, b_md, c_md);
  auto c = std::make_shared<Cached>();
  c->pd = dnnl::matmul::primitive_desc(desc, attr, Registry::Get().engine());
  c->prim = dnnl::matmul(c->pd);
  c->scratch_bytes = c->pd.scratchpad_desc().get_size();
  return c;
}

// The cached primitive for `key`, created by `create` on first use.
template <typename Create>
std::shared_ptr<Cached> Lookup(const Key& key, Create create) {
  Registry& reg = Registry::Get();
  std::shared_ptr<Cached> cached = reg.Find(key);
  if (!cached) {
    cached = create();
    reg.Insert(key, cached);
  }
  return cached;
}

// Runs a cached primitive on the calling thread with its own scratchpad.
void Execute(const Cached& cached, const void* a, const void* b, void* c) {
  thread_local std::vector<uint8_t> scratch;
  if (scratch.size() < cached.scratch_bytes) scratch.resize(cached.scratch_bytes);
  dnnl::engine& eng = Registry::Get().engine();
  thread_local dnnl::stream stream(eng);
  dnnl::memory a_mem(cached.pd.src_desc(), eng, const_cast<void*>(a));
  dnnl::memory b_mem(cached.pd.weights_desc(), eng, const_cast<void*>(b));
  dnnl::memory c_mem(cached.pd.dst_desc(), eng, c);
  dnnl::memory s_mem(cached.pd.scratchpad_desc(), eng, scratch.data());
  cached.prim.execute(stream, {{DNNL_ARG_SRC, a_mem},
                               {DNNL_ARG_WEIGHTS, b_mem},
                               {DNNL_ARG_DST, c_mem},
                               {DNNL_ARG_SCRATCHPAD, s_mem}});
  stream.wait();
}

}  // namespace

Status DnnlMatmul(MatmulType type, const void* a, const void* b, void* c,
                  int64_t M, int64_t K, int64_t N, int64_t lda, int64_t ldb,
                  int64_t ldc) {
  if (M <= 0 || K <= 0 || N <= 0) {
    return InvalidArgument("matmul dims must be positive: M=" + std::to_string(M) +
                           " K=" + std::to_string(K) + " N=" + std::to_string(N));
  }
  try {
    std::shared_ptr<Cached> cached =
        Lookup(Key{static_cast<int>(type), M, K, N, lda, ldb, ldc},
               [&] { return Create(type, M, K, N, lda, ldb, ldc); });
    Execute(*cached, a, b, c);
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN matmul failed: ") + e.what());
  }
  return Status::Ok();
}

std::string DnnlVersion() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch);
}

std::string DnnlIsa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::sse41:
      return "sse41";
    default:
      return "other";
  }
}

struct PackedInt8Weights::Impl {
  dnnl::memory::desc md;
  dnnl::memory mem;  // owns the packed bytes
};

PackedInt8Weights::PackedInt8Weights(const int8_t* source, int64_t k, int64_t n,
                                     std::unique_ptr<Impl> impl)
    : source_(source), k_(k), n_(n), impl_(std::move(impl)) {}
PackedInt8Weights::~PackedInt8Weights() = default;

size_t PackedInt8Weights::bytes() const { return impl_->md.get_size(); }

std::shared_ptr<const PackedInt8Weights> PackedInt8Weights::Pack(const int8_t* b, int64_t K,
                                                                  int64_t N) {
  if (K <= 0 || N <= 0) return nullptr;
  try {
    using md = dnnl::memory::desc;
    using dt = dnnl::memory::data_type;
    dnnl::engine& eng = Registry::Get().engine();
    // The layout oneDNN chooses for B does not depend on M (checked when
    // each GEMM's primitive is created with it: a mismatch is an error).
    constexpr int64_t kM = 64;
    md plain({K, N}, dt::s8, dnnl::memory::dims{N, 1});
    md any({K, N}, dt::s8, dnnl::memory::format_tag::any);
    dnnl::matmul::desc desc(md({kM, K}, dt::s8, dnnl::memory::dims{K, 1}), any,
                            md({kM, N}, dt::s32, dnnl::memory::dims{N, 1}));
    dnnl::matmul::primitive_desc pd(desc, eng);
    if (pd.weights_desc() == plain) return nullptr;
    auto impl = std::make_unique<Impl>();
    impl->md = pd.weights_desc();
    impl->mem = dnnl::memory(impl->md, eng);
    dnnl::memory src(plain, eng, const_cast<int8_t*>(b));
    dnnl::stream stream(eng);
    dnnl::reorder(src, impl->mem).execute(stream, src, impl->mem);
    stream.wait();
    return std::shared_ptr<const PackedInt8Weights>(
        new PackedInt8Weights(b, K, N, std::move(impl)));
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

Status DnnlMatmulPacked(const int8_t* a, const PackedInt8Weights& b, int32_t* c, int64_t M,
                        int64_t lda, int64_t ldc) {
  if (M <= 0) return InvalidArgument("matmul dims must be positive: M=" + std::to_string(M));
  try {
    // ldb = -1 marks the packed layout in the key (one per K, N here).
    std::shared_ptr<Cached> cached = Lookup(
        Key{static_cast<int>(MatmulType::kS8S8S32), M, b.K(), b.N(), lda, -1, ldc}, [&] {
          return Create(MatmulType::kS8S8S32, M, b.K(), b.N(), lda, -1, ldc, &b.impl_->md);
        });
    if (cached->pd.weights_desc() != b.impl_->md) {
      return Internal("packed weights: oneDNN chose another layout for M=" + std::to_string(M));
    }
    Execute(*cached, a, b.impl_->mem.get_data_handle(), c);
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN matmul (packed B) failed: ") + e.what());
  }
  return Status::Ok();
}

int64_t DnnlCachedPrimitives() { return Registry::Get().Size(); }

}  // namespace imunpack
