#include "kernels/int8_gemm.h"

#include <algorithm>

#include "kernels/dnnl_matmul.h"

namespace imunpack {

int64_t MaxInnerPerCall(int bits) {
  const int64_t d = (int64_t{1} << (bits - 1)) - 1;
  return (int64_t{2147483647}) / (d * d);
}

namespace {

// C = A·B over inner chunks of at most `chunk`, one partial per chunk. With
// `packed` (B's packed form) and a single chunk, oneDNN reads B packed.
Status Chunked(const int8_t* a, const int8_t* b, int64_t rows, int64_t inner,
               int64_t cols, int64_t lda, int64_t ldb, int64_t chunk,
               int exponent, LineSet rs, LineSet cs,
               std::vector<PartialProduct>* out, const PackedInt8Weights* packed = nullptr) {
  if (rows == 0 || cols == 0 || inner == 0) return Status::Ok();
  for (int64_t k0 = 0; k0 < inner; k0 += chunk) {
    const int64_t kc = std::min(chunk, inner - k0);
    PartialProduct pp;
    pp.exponent = exponent;
    pp.rows = rs;
    pp.cols = cs;
    pp.rows_n = rows;
    pp.cols_n = cols;
    pp.p.Resize(static_cast<size_t>(rows * cols));
    if (packed && kc == inner && packed->K() == inner && packed->N() == cols && ldb == cols) {
      IMUNPACK_RETURN_IF_ERROR(DnnlMatmulPacked(a, *packed, pp.p.data(), rows, lda, cols));
      out->push_back(std::move(pp));
      continue;
    }
    IMUNPACK_RETURN_IF_ERROR(DnnlMatmul(MatmulType::kS8S8S32, a + k0,
                                        b + k0 * ldb, pp.p.data(), rows, kc,
                                        cols, lda, ldb, cols));
    out->push_back(std::move(pp));
  }
  return Status::Ok();
}

}  // namespace

Status RunInt8Gemms(const UnpackedGemm& u, int64_t max_k_per_call,
                    int64_t fused_max_k, Products* products) {
  products->parts.clear();
  products->fused_groups.clear();
  std::vector<PartialProduct>* out = &products->parts;
  const int64_t fuse = std::min(fused_max_k < 0 ? kDefaultFusedMaxK : fused_max_k,
                                MaxInnerPerCall(u.bits));
  const int64_t chunk = max_k_per_call > 0
                            ? std::min(max_k_per_call, MaxInnerPerCall(u.bits))
                            : MaxInnerPerCall(u.bits);
  const int64_t me = u.rows.count(), ne = u.cols.count();
  const int64_t m = u.m, k = u.k, n = u.n;
  using L = LineSet;
  IMUNPACK_RETURN_IF_ERROR(Chunked(u.a_base, u.b_base, m, k, n, k, n, chunk, 0,
                                   L::kBase, L::kBase, out, u.b_packed));
  IMUNPACK_RETURN_IF_ERROR(Chunked(u.a_base, u.b_extra.data(), m, k, ne, k, ne,
                                   chunk, 0, L::kBase, L::kExtra, out));
  IMUNPACK_RETURN_IF_ERROR(Chunked(u.a_extra.data(), u.b_base, me, k, n, k, n,
                                   chunk, 0, L::kExtra, L::kBase, out, u.b_packed));
  IMUNPACK_RETURN_IF_ERROR(Chunked(u.a_extra.data(), u.b_extra.data(), me, k,
                                   ne, k, ne, chunk, 0, L::kExtra, L::kExtra,
                                   out));
  for (size_t gi = 0; gi < u.groups.size(); ++gi) {
    const InnerGroup& g = u.groups[gi];
    if (g.k <= fuse) {
      products->fused_groups.push_back(static_cast<int>(gi));
      continue;
    }
    IMUNPACK_RETURN_IF_ERROR(Chunked(g.a.data(), g.b.data(), m + me, g.k,
                                     n + ne, g.k, n + ne, chunk, g.exponent,
                                     L::kAll, L::kAll, out));
  }
  return Status::Ok();
}

}  // namespace imunpack
