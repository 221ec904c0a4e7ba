#include "kernels/reassemble.h"

#include <omp.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <type_traits>

#include "kernels/target.h"

namespace imunpack {
namespace {

using u128 = unsigned __int128;
using i128 = __int128;

template <typename Acc>
using SignedOf = std::conditional_t<
    std::is_same_v<Acc, u128>, i128,
    std::conditional_t<std::is_same_v<Acc, uint64_t>, int64_t, int32_t>>;

template <typename Acc>
constexpr int kAccBits = static_cast<int>(sizeof(Acc) * 8);

// v·2^sh modulo 2^(bits of Acc).
template <typename Acc>
inline Acc Shl(int32_t v, int sh) {
  if (sh >= kAccBits<Acc>) return 0;
  return static_cast<Acc>(static_cast<SignedOf<Acc>>(v)) << sh;
}

// Row kernels of the 32- and 64-bit paths, the ones normal requests take.
// Overloads rather than templates: target_clones applies to functions.

IMUNPACK_MULTIVERSION
void InitRow(uint32_t* acc, const int32_t* p, int64_t n) {
  for (int64_t j = 0; j < n; ++j) acc[j] = static_cast<uint32_t>(p[j]);
}
IMUNPACK_MULTIVERSION
void InitRow(uint64_t* acc, const int32_t* p, int64_t n) {
  for (int64_t j = 0; j < n; ++j) acc[j] = static_cast<uint64_t>(static_cast<int64_t>(p[j]));
}

// acc[j] += p[j]·2^sh (mod 2^bits), sh < bits.
IMUNPACK_MULTIVERSION
void AddShiftedRow(uint32_t* acc, const int32_t* p, int64_t n, int sh) {
  for (int64_t j = 0; j < n; ++j) acc[j] += static_cast<uint32_t>(p[j]) << sh;
}
IMUNPACK_MULTIVERSION
void AddShiftedRow(uint64_t* acc, const int32_t* p, int64_t n, int sh) {
  for (int64_t j = 0; j < n; ++j)
    acc[j] += static_cast<uint64_t>(static_cast<int64_t>(p[j])) << sh;
}

// tmp[j] += a·b[j]: one inner column of a fused group, in int32 (exact).
IMUNPACK_MULTIVERSION
void MulAddRow(int32_t* tmp, int32_t a, const int8_t* b, int64_t n) {
  for (int64_t j = 0; j < n; ++j) tmp[j] += a * static_cast<int32_t>(b[j]);
}
// acc[j] += a·b[j] mod 2^32: the same, straight into a 32-bit accumulator
// (a carries the 2^sh scale; wrap-around is harmless, see the header).
IMUNPACK_MULTIVERSION
void MulAddRow(uint32_t* acc, uint32_t a, const int8_t* b, int64_t n) {
  for (int64_t j = 0; j < n; ++j) acc[j] += a * static_cast<uint32_t>(static_cast<int32_t>(b[j]));
}

// out[j] = float(double(acc[j]) · (s · col[j])), or · s without col.
IMUNPACK_MULTIVERSION
void EmitRow(float* out, const uint32_t* acc, int64_t n, double s, const double* col) {
  if (col) {
    for (int64_t j = 0; j < n; ++j)
      out[j] = static_cast<float>(static_cast<double>(static_cast<int32_t>(acc[j])) * (s * col[j]));
  } else {
    for (int64_t j = 0; j < n; ++j)
      out[j] = static_cast<float>(static_cast<double>(static_cast<int32_t>(acc[j])) * s);
  }
}
IMUNPACK_MULTIVERSION
void EmitRow(float* out, const uint64_t* acc, int64_t n, double s, const double* col) {
  if (col) {
    for (int64_t j = 0; j < n; ++j)
      out[j] = static_cast<float>(static_cast<double>(static_cast<int64_t>(acc[j])) * (s * col[j]));
  } else {
    for (int64_t j = 0; j < n; ++j)
      out[j] = static_cast<float>(static_cast<double>(static_cast<int64_t>(acc[j])) * s);
  }
}
void EmitRow(float* out, const u128* acc, int64_t n, double s, const double* col) {
  for (int64_t j = 0; j < n; ++j) {
    const double v = static_cast<double>(static_cast<i128>(acc[j]));
    out[j] = static_cast<float>(v * (col ? s * col[j] : s));
  }
}

IMUNPACK_MULTIVERSION
void EmitPlainRow(float* out, const int32_t* p, int64_t n, double s, const double* col) {
  if (col) {
    for (int64_t j = 0; j < n; ++j) out[j] = static_cast<float>(static_cast<double>(p[j]) * (s * col[j]));
  } else {
    for (int64_t j = 0; j < n; ++j) out[j] = static_cast<float>(static_cast<double>(p[j]) * s);
  }
}

template <typename Acc>
void AddShifted(Acc* acc, const int32_t* p, int64_t n, int sh) {
  if (sh >= kAccBits<Acc>) return;
  if constexpr (!std::is_same_v<Acc, u128>) {
    AddShiftedRow(acc, p, n, sh);
  } else {
    for (int64_t j = 0; j < n; ++j) acc[j] += Shl<Acc>(p[j], sh);
  }
}

// acc[j] += row[c]·2^sh over the row's columns mapped to output columns:
// base columns in place, extra columns onto their origin (with their own
// exponent).
template <typename Acc>
void AddRow(const UnpackedGemm& u, const int32_t* row, LineSet cols, int sh,
            int db, Acc* acc) {
  if (cols != LineSet::kExtra) AddShifted(acc, row, u.n, sh);
  if (cols != LineSet::kBase) {
    const int64_t off = cols == LineSet::kAll ? u.n : 0;
    const int64_t ne = u.cols.count();
    for (int64_t c = 0; c < ne; ++c)
      acc[u.cols.origin[c]] += Shl<Acc>(row[off + c], sh + u.cols.exponent[c] * db);
  }
}

bool IsBaseProduct(const PartialProduct& p) {
  return p.exponent == 0 && p.rows == LineSet::kBase && p.cols == LineSet::kBase;
}

// Calls emit(i, acc) with the exact C_int row i (mod 2^bits of Acc).
template <typename Acc, typename Emit>
void ForEachRow(const UnpackedGemm& u, const Products& pr, Emit emit) {
  const int db = u.bits - 1;
  const int64_t nu = u.n + u.cols.count();
  const bool init_from_first = !pr.parts.empty() && IsBaseProduct(pr.parts[0]);
#pragma omp parallel
  {
    std::vector<Acc> acc(u.n);
    std::vector<int32_t> tmp(pr.fused_groups.empty() ? 0 : nu);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < u.m; ++i) {
      size_t first = 0;
      if (init_from_first) {
        const int32_t* p0 = pr.parts[0].p.data() + i * u.n;
        if constexpr (!std::is_same_v<Acc, u128>) {
          InitRow(acc.data(), p0, u.n);
        } else {
          for (int64_t j = 0; j < u.n; ++j) acc[j] = Shl<Acc>(p0[j], 0);
        }
        first = 1;
      } else {
        std::fill(acc.begin(), acc.end(), Acc{0});
      }
      for (size_t pi = first; pi < pr.parts.size(); ++pi) {
        const PartialProduct& p = pr.parts[pi];
        auto row_of = [&p](int64_t local) { return p.p.data() + local * p.cols_n; };
        if (p.rows != LineSet::kExtra)
          AddRow<Acc>(u, row_of(i), p.cols, p.exponent * db, db, acc.data());
        if (p.rows != LineSet::kBase) {
          const int64_t off = p.rows == LineSet::kAll ? u.m : 0;
          for (int64_t r = u.rows.begin[i]; r < u.rows.begin[i + 1]; ++r) {
            AddRow<Acc>(u, row_of(off + r), p.cols,
                        (p.exponent + u.rows.exponent[r]) * db, db, acc.data());
          }
        }
      }
      for (int gi : pr.fused_groups) {
        const InnerGroup& g = u.groups[gi];
        // Row `local` of the group's P, computed from the int8 pieces.
        auto fused_row = [&](int64_t local, int a) {
          const int8_t* arow = g.a.data() + local * g.k;
          const int sh = (g.exponent + a) * db;
          if constexpr (std::is_same_v<Acc, uint32_t>) {
            // No extra columns: multiply-add straight into the accumulator.
            if (u.cols.count() == 0) {
              if (sh >= 32) return;
              for (int64_t t = 0; t < g.k; ++t) {
                if (arow[t] != 0)
                  MulAddRow(acc.data(), static_cast<uint32_t>(static_cast<int32_t>(arow[t])) << sh,
                            g.b.data() + t * nu, u.n);
              }
              return;
            }
          }
          std::fill(tmp.begin(), tmp.end(), 0);
          for (int64_t t = 0; t < g.k; ++t) {
            if (arow[t] != 0) MulAddRow(tmp.data(), arow[t], g.b.data() + t * nu, nu);
          }
          AddRow<Acc>(u, tmp.data(), LineSet::kAll, sh, db, acc.data());
        };
        fused_row(i, 0);
        for (int64_t r = u.rows.begin[i]; r < u.rows.begin[i + 1]; ++r)
          fused_row(u.m + r, u.rows.exponent[r]);
      }
      emit(i, acc.data());
    }
  }
}

template <typename Acc>
void DequantizeRows(const UnpackedGemm& u, const Products& pr, const double* col,
                    const std::function<double(int64_t)>& row_scale, float* o) {
  ForEachRow<Acc>(u, pr, [&](int64_t i, const Acc* acc) {
    EmitRow(o + i * u.n, acc, u.n, row_scale(i), col);
  });
}

void Dequantize(const UnpackedGemm& u, const Products& pr, AccumulatorWidth width,
                const std::vector<double>& inv_a, const std::vector<double>& inv_b,
                Matrix<float>* out) {
  const int64_t n = u.n;
  const double* col = inv_b.size() > 1 ? inv_b.data() : nullptr;
  std::function<double(int64_t)> row_scale = [&](int64_t i) {
    const double ra = inv_a.size() > 1 ? inv_a[i] : inv_a[0];
    return col ? ra : ra * inv_b[0];
  };
  float* o = out->data();
  if (width != AccumulatorWidth::k128 && pr.parts.size() == 1 &&
      IsBaseProduct(pr.parts[0]) && pr.fused_groups.empty()) {
    const int32_t* p = pr.parts[0].p.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < u.m; ++i) EmitPlainRow(o + i * n, p + i * n, n, row_scale(i), col);
    return;
  }
  switch (width) {
    case AccumulatorWidth::k32:
      return DequantizeRows<uint32_t>(u, pr, col, row_scale, o);
    case AccumulatorWidth::k64:
      return DequantizeRows<uint64_t>(u, pr, col, row_scale, o);
    case AccumulatorWidth::k128:
      return DequantizeRows<u128>(u, pr, col, row_scale, o);
  }
}

}  // namespace

AccumulatorWidth ChooseAccumulator(uint32_t max_abs_a, uint32_t max_abs_b, int64_t k) {
  const u128 bound = static_cast<u128>(max_abs_a) * max_abs_b * static_cast<u128>(k);
  if (bound < (static_cast<u128>(1) << 31)) return AccumulatorWidth::k32;
  if (bound < (static_cast<u128>(1) << 63)) return AccumulatorWidth::k64;
  return AccumulatorWidth::k128;
}

StatusOr<Matrix<int64_t>> ReassembleInt(const UnpackedGemm& u,
                                         const Products& products,
                                         AccumulatorWidth width) {
  Matrix<int64_t> out(u.m, u.n);
  int64_t* o = out.data();
  const int64_t n = u.n;
  if (width == AccumulatorWidth::k32) {
    ForEachRow<uint32_t>(u, products, [&](int64_t i, const uint32_t* acc) {
      for (int64_t j = 0; j < n; ++j) o[i * n + j] = static_cast<int32_t>(acc[j]);
    });
    return out;
  }
  if (width == AccumulatorWidth::k64) {
    ForEachRow<uint64_t>(u, products, [&](int64_t i, const uint64_t* acc) {
      for (int64_t j = 0; j < n; ++j) o[i * n + j] = static_cast<int64_t>(acc[j]);
    });
    return out;
  }
  int64_t bad = -1;  // first element (row-major) that overflows int64
  ForEachRow<u128>(u, products, [&](int64_t i, const u128* acc) {
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

Matrix<float> ReassembleFloat(const UnpackedGemm& u, const Products& products,
                              AccumulatorWidth width,
                              const std::vector<double>& inv_a,
                              const std::vector<double>& inv_b) {
  Matrix<float> out(u.m, u.n);
  Dequantize(u, products, width, inv_a, inv_b, &out);
  return out;
}

}  // namespace imunpack
