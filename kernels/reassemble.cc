#include "kernels/reassemble.h"

#include <omp.h>

#include <limits>
#include <type_traits>

namespace imunpack {
namespace {

using u128 = unsigned __int128;
using i128 = __int128;

template <typename Acc>
using SignedOf = std::conditional_t<std::is_same_v<Acc, u128>, i128, int64_t>;

// v·2^sh modulo 2^(bits of Acc).
template <typename Acc>
inline Acc Shl(int32_t v, int sh) {
  if (sh >= static_cast<int>(sizeof(Acc) * 8)) return 0;
  return static_cast<Acc>(static_cast<SignedOf<Acc>>(v)) << sh;
}

// acc[j] += P[row][j]·2^sh over the partial's columns mapped to output
// columns: base columns in place, extra columns onto their origin.
template <typename Acc>
void AddRow(const UnpackedGemm& u, const PartialProduct& p, int64_t local_row,
            int sh, int db, Acc* acc) {
  const int32_t* pr = p.p.data() + local_row * p.cols_n;
  if (p.cols != LineSet::kExtra) {
    if (sh < static_cast<int>(sizeof(Acc) * 8)) {
      for (int64_t j = 0; j < u.n; ++j) {
        acc[j] += static_cast<Acc>(static_cast<SignedOf<Acc>>(pr[j])) << sh;
      }
    }
  }
  if (p.cols != LineSet::kBase) {
    const int64_t off = p.cols == LineSet::kAll ? u.n : 0;
    const int64_t ne = u.cols.count();
    for (int64_t c = 0; c < ne; ++c) {
      acc[u.cols.origin[c]] += Shl<Acc>(pr[off + c], sh + u.cols.exponent[c] * db);
    }
  }
}

// Calls emit(i, acc) with the exact C_int row i (mod 2^bits of Acc).
template <typename Acc, typename Emit>
void ForEachRow(const UnpackedGemm& u, const std::vector<PartialProduct>& parts,
                Emit emit) {
  const int db = u.bits - 1;
#pragma omp parallel
  {
    std::vector<Acc> acc(u.n);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < u.m; ++i) {
      std::fill(acc.begin(), acc.end(), Acc{0});
      for (const PartialProduct& p : parts) {
        if (p.rows != LineSet::kExtra) AddRow<Acc>(u, p, i, p.exponent * db, db, acc.data());
        if (p.rows != LineSet::kBase) {
          const int64_t off = p.rows == LineSet::kAll ? u.m : 0;
          for (int64_t r = u.rows.begin[i]; r < u.rows.begin[i + 1]; ++r) {
            AddRow<Acc>(u, p, off + r, (p.exponent + u.rows.exponent[r]) * db,
                        db, acc.data());
          }
        }
      }
      emit(i, acc.data());
    }
  }
}

// The common case: a single base x base partial at exponent 0.
bool IsPlain(const std::vector<PartialProduct>& parts) {
  return parts.size() == 1 && parts[0].exponent == 0 &&
         parts[0].rows == LineSet::kBase && parts[0].cols == LineSet::kBase;
}

template <typename Acc>
void Dequantize(const UnpackedGemm& u, const std::vector<PartialProduct>& parts,
                const std::vector<double>& inv_a, const std::vector<double>& inv_b,
                Matrix<float>* out) {
  const int64_t n = u.n;
  const bool col_scale = inv_b.size() > 1;
  float* o = out->data();
  auto emit_row = [&](int64_t i, auto value_of) {
    const double ra = inv_a.size() > 1 ? inv_a[i] : inv_a[0];
    float* orow = o + i * n;
    if (col_scale) {
      for (int64_t j = 0; j < n; ++j)
        orow[j] = static_cast<float>(value_of(j) * (ra * inv_b[j]));
    } else {
      const double s = ra * inv_b[0];
      for (int64_t j = 0; j < n; ++j) orow[j] = static_cast<float>(value_of(j) * s);
    }
  };
  if (std::is_same_v<Acc, uint64_t> && IsPlain(parts)) {
    const int32_t* p = parts[0].p.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < u.m; ++i) {
      const int32_t* pr = p + i * n;
      emit_row(i, [pr](int64_t j) { return static_cast<double>(pr[j]); });
    }
    return;
  }
  ForEachRow<Acc>(u, parts, [&](int64_t i, const Acc* acc) {
    emit_row(i, [acc](int64_t j) {
      return static_cast<double>(static_cast<SignedOf<Acc>>(acc[j]));
    });
  });
}

}  // namespace

bool NeedsWideAccumulator(uint32_t max_abs_a, uint32_t max_abs_b, int64_t k) {
  const u128 bound = static_cast<u128>(max_abs_a) * max_abs_b * static_cast<u128>(k);
  return bound >= (static_cast<u128>(1) << 63);
}

StatusOr<Matrix<int64_t>> ReassembleInt(const UnpackedGemm& u,
                                         const std::vector<PartialProduct>& parts,
                                         bool wide) {
  Matrix<int64_t> out(u.m, u.n);
  int64_t* o = out.data();
  const int64_t n = u.n;
  if (!wide) {
    ForEachRow<uint64_t>(u, parts, [&](int64_t i, const uint64_t* acc) {
      for (int64_t j = 0; j < n; ++j) o[i * n + j] = static_cast<int64_t>(acc[j]);
    });
    return out;
  }
  int64_t bad = -1;  // first element (row-major) that overflows int64
  ForEachRow<u128>(u, parts, [&](int64_t i, const u128* acc) {
    for (int64_t j = 0; j < n; ++j) {
      const i128 v = static_cast<i128>(acc[j]);
      if (v > std::numeric_limits<int64_t>::max() ||
          v < std::numeric_limits<int64_t>::min()) {
#pragma omp critical(imunpack_overflow)
        if (bad < 0 || i * n + j < bad) bad = i * n + j;
        o[i * n + j] = 0;
      } else {
        o[i * n + j] = static_cast<int64_t>(v);
      }
    }
  });
  if (bad >= 0) {
    return OutOfRange("c[" + std::to_string(bad / n) + "][" +
                      std::to_string(bad % n) +
                      "] does not fit in int64; reduce the value range or k");
  }
  return out;
}

Matrix<float> ReassembleFloat(const UnpackedGemm& u,
                              const std::vector<PartialProduct>& parts,
                              bool wide, const std::vector<double>& inv_a,
                              const std::vector<double>& inv_b) {
  Matrix<float> out(u.m, u.n);
  if (wide) {
    Dequantize<u128>(u, parts, inv_a, inv_b, &out);
  } else {
    Dequantize<uint64_t>(u, parts, inv_a, inv_b, &out);
  }
  return out;
}

}  // namespace imunpack
