// libFuzzer target: the exact integer GEMM on small random inputs. The
// bytes choose m, k, n (1..20), the bit width, the strategy, a magnitude
// shift per operand and the int32 entries; IntGemm must equal a plain
// 128-bit triple loop exactly, or return OUT_OF_RANGE exactly when the
// true product does not fit int64. Anything else aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/pipeline.h"

namespace {

struct Reader {
  const uint8_t* p;
  size_t n;
  uint8_t Byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  int32_t Int() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | Byte();
    int32_t s;
    std::memcpy(&s, &v, 4);
    return s;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imunpack;
  Reader r{data, size};
  const int64_t m = 1 + r.Byte() % 20, k = 1 + r.Byte() % 20, n = 1 + r.Byte() % 20;
  GemmConfig cfg;
  cfg.bits = 2 + r.Byte() % 7;
  cfg.strategy = static_cast<Strategy>(r.Byte() % 4);
  cfg.threads = 1;
  cfg.max_k_per_call = r.Byte() % 2 ? 0 : 1 + r.Byte() % 8;  // also force k splits
  const int shift_a = r.Byte() % 32, shift_b = r.Byte() % 32;
  Matrix<int32_t> a(m, k), b(k, n);
  // Entries: mostly small, some shifted up to any magnitude (heavy hitters),
  // with INT32_MIN and INT32_MAX reachable.
  for (int64_t i = 0; i < a.size(); ++i) a.data()[i] = r.Byte() % 4 ? r.Int() >> shift_a : r.Int();
  for (int64_t i = 0; i < b.size(); ++i) b.data()[i] = r.Byte() % 4 ? r.Int() >> shift_b : r.Int();

  bool overflow = false;
  Matrix<int64_t> want(m, n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      __int128 s = 0;
      for (int64_t t = 0; t < k; ++t) s += static_cast<__int128>(a(i, t)) * b(t, j);
      if (s > INT64_MAX || s < INT64_MIN) overflow = true;
      want(i, j) = static_cast<int64_t>(s);
    }
  }
  StatusOr<Matrix<int64_t>> got = IntGemm(a, b, cfg);
  if (overflow) {
    if (got.ok() || got.status().code() != StatusCode::kOutOfRange) std::abort();
    return 0;
  }
  if (!got.ok()) std::abort();
  for (int64_t i = 0; i < want.size(); ++i) {
    if (got->data()[i] != want.data()[i]) std::abort();
  }
  return 0;
}
