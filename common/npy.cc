#include "common/npy.h"

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

namespace imunpack {
namespace {

struct Header {
  std::string descr;
  bool fortran = false;
  int64_t rows = 0, cols = 0;
  std::streamoff data_offset = 0;
};

StatusOr<Header> ReadHeader(std::ifstream& in, const std::string& path) {
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    return InvalidArgument(path + ": not a .npy file");
  }
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t len = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) return InvalidArgument(path + ": truncated header");
    len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) return InvalidArgument(path + ": truncated header");
    len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  } else {
    return InvalidArgument(path + ": unsupported .npy version " + std::to_string(major));
  }
  if (len > (1u << 20)) return InvalidArgument(path + ": header too large");
  std::string text(len, '\0');
  if (!in.read(text.data(), len)) return InvalidArgument(path + ": truncated header");
  Header h;
  std::smatch mt;
  if (!std::regex_search(text, mt, std::regex("'descr'\\s*:\\s*'([^']*)'"))) {
    return InvalidArgument(path + ": header has no descr");
  }
  h.descr = mt[1];
  h.fortran = std::regex_search(text, std::regex("'fortran_order'\\s*:\\s*True"));
  if (!std::regex_search(text, mt, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)"))) {
    return InvalidArgument(path + ": header has no shape");
  }
  std::vector<int64_t> dims;
  std::stringstream ss(mt[1].str());
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(" ") == std::string::npos) continue;
    dims.push_back(std::stoll(item));
  }
  if (dims.size() != 2) {
    return InvalidArgument(path + ": expected a 2-D array, got " +
                           std::to_string(dims.size()) + " dimensions");
  }
  h.rows = dims[0];
  h.cols = dims[1];
  h.data_offset = in.tellg();
  return h;
}

template <typename T>
StatusOr<Matrix<T>> ReadNpy(const std::string& path, const char* descr) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(path + ": cannot open");
  StatusOr<Header> h = ReadHeader(in, path);
  if (!h.ok()) return h.status();
  if (h->descr != descr) {
    return InvalidArgument(path + ": dtype " + h->descr + ", expected " + descr);
  }
  if (h->fortran) return InvalidArgument(path + ": Fortran order is not supported");
  if (h->rows < 0 || h->cols < 0) return InvalidArgument(path + ": bad shape");
  Matrix<T> m(h->rows, h->cols);
  const std::streamsize bytes = static_cast<std::streamsize>(m.size() * sizeof(T));
  if (bytes > 0 && !in.read(reinterpret_cast<char*>(m.data()), bytes)) {
    return InvalidArgument(path + ": file shorter than its shape says");
  }
  return m;
}

template <typename T>
Status Write(const std::string& path, const Matrix<T>& m, const char* descr) {
  std::string dict = std::string("{'descr': '") + descr +
                     "', 'fortran_order': False, 'shape': (" +
                     std::to_string(m.rows()) + ", " + std::to_string(m.cols()) + "), }";
  // Pad so the data starts on a 64-byte boundary (10-byte preamble).
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  if (!out) return InvalidArgument(path + ": cannot create");
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(dict.size());
  const char lb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(lb, 2);
  out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
  out.write(reinterpret_cast<const char*>(m.data()),
            static_cast<std::streamsize>(m.size() * sizeof(T)));
  if (!out) return Internal(path + ": write failed");
  return Status::Ok();
}

}  // namespace

StatusOr<Matrix<float>> ReadNpyFloat(const std::string& path) {
  return ReadNpy<float>(path, "<f4");
}
StatusOr<Matrix<int32_t>> ReadNpyInt32(const std::string& path) {
  return ReadNpy<int32_t>(path, "<i4");
}
Status WriteNpy(const std::string& path, const Matrix<float>& m) {
  return Write(path, m, "<f4");
}
Status WriteNpy(const std::string& path, const Matrix<int32_t>& m) {
  return Write(path, m, "<i4");
}
Status WriteNpy(const std::string& path, const Matrix<int64_t>& m) {
  return Write(path, m, "<i8");
}

}  // namespace imunpack
