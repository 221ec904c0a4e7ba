// Reading and writing 2-D NumPy .npy files (format versions 1-3, C order,
// little-endian float32 / int32 / int64), the exchange format of the CLI and
// the benchmark with Python.
#ifndef IMUNPACK_COMMON_NPY_H_
#define IMUNPACK_COMMON_NPY_H_

#include <string>

#include "kernels/matrix.h"
#include "kernels/status.h"

namespace imunpack {

StatusOr<Matrix<float>> ReadNpyFloat(const std::string& path);
StatusOr<Matrix<int32_t>> ReadNpyInt32(const std::string& path);

Status WriteNpy(const std::string& path, const Matrix<float>& m);
Status WriteNpy(const std::string& path, const Matrix<int32_t>& m);
Status WriteNpy(const std::string& path, const Matrix<int64_t>& m);

}  // namespace imunpack

#endif  // IMUNPACK_COMMON_NPY_H_
