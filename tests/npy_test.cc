#include "common/npy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace imunpack {
namespace {

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/imunpack_" + name;
}

TEST(NpyTest, RoundTripsEachDtype) {
  Matrix<float> f(3, 5);
  for (int64_t i = 0; i < f.size(); ++i) f.data()[i] = 0.5f * i - 3;
  ASSERT_TRUE(WriteNpy(TempPath("f.npy"), f).ok());
  StatusOr<Matrix<float>> rf = ReadNpyFloat(TempPath("f.npy"));
  ASSERT_TRUE(rf.ok()) << rf.status().ToString();
  ASSERT_EQ(rf->rows(), 3);
  ASSERT_EQ(rf->cols(), 5);
  for (int64_t i = 0; i < f.size(); ++i) EXPECT_EQ(rf->data()[i], f.data()[i]);

  Matrix<int32_t> q(2, 2);
  q(0, 0) = INT32_MIN;
  q(0, 1) = -1;
  q(1, 0) = 7;
  q(1, 1) = INT32_MAX;
  ASSERT_TRUE(WriteNpy(TempPath("i.npy"), q).ok());
  StatusOr<Matrix<int32_t>> rq = ReadNpyInt32(TempPath("i.npy"));
  ASSERT_TRUE(rq.ok());
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(rq->data()[i], q.data()[i]);
}

TEST(NpyTest, RejectsWrongDtypeShapeAndTruncation) {
  Matrix<int32_t> q = Matrix<int32_t>::Zeros(2, 3);
  ASSERT_TRUE(WriteNpy(TempPath("q.npy"), q).ok());
  StatusOr<Matrix<float>> r = ReadNpyFloat(TempPath("q.npy"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dtype <i4"), std::string::npos);

  {
    std::ofstream out(TempPath("short.npy"), std::ios::binary);
    std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }";
    out.write("\x93NUMPY\x01\x00", 8);
    char len[2] = {static_cast<char>(h.size()), 0};
    out.write(len, 2);
    out << h;
    out.write("abcd", 4);
  }
  r = ReadNpyFloat(TempPath("short.npy"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("shorter"), std::string::npos);

  {
    std::ofstream out(TempPath("vec.npy"), std::ios::binary);
    std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
    out.write("\x93NUMPY\x01\x00", 8);
    char len[2] = {static_cast<char>(h.size()), 0};
    out.write(len, 2);
    out << h;
  }
  r = ReadNpyFloat(TempPath("vec.npy"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("2-D"), std::string::npos);
  EXPECT_FALSE(ReadNpyFloat(TempPath("missing.npy")).ok());
}

}  // namespace
}  // namespace imunpack
