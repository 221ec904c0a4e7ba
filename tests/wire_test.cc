// proto/wire.h against protobuf's own encoder and parser: what Frame sends
// is the message a generated stub would send, and Parse reads what any
// encoder writes, with the matrix bytes landing where the caller asks.
#include "proto/wire.h"

#include <gtest/gtest.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "imunpack/v1/imunpack.pb.h"

namespace imunpack::wire {
namespace {

std::vector<float> Ramp(size_t n, float start) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

std::string Bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

std::string Flatten(const grpc::ByteBuffer& buf) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buf.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer FromString(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

v1::GemmRequest Head() {
  v1::GemmRequest head;
  head.set_request_id("req-7");
  head.set_bits(6);
  head.set_b_handle("b-0123");
  head.mutable_a_quant()->set_percentile(0.999);
  return head;
}

TEST(WireTest, FrameIsTheMessageProtobufWouldEncode) {
  const std::vector<float> a = Ramp(3 * 5, -4.5f);
  bool released = false;
  {
    std::shared_ptr<const void> keep(a.data(), [&](const void*) { released = true; });
    grpc::ByteBuffer framed =
        Frame(Head(), {{v1::GemmRequest::kAFieldNumber, 3, 5, a.data(), a.size() * 4}}, keep);
    keep.reset();
    EXPECT_FALSE(released);  // the slice still references A
    v1::GemmRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(Flatten(framed)));
    v1::GemmRequest expected = Head();
    expected.mutable_a()->set_rows(3);
    expected.mutable_a()->set_cols(5);
    expected.mutable_a()->set_raw(Bytes(a));
    EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString());
  }
  EXPECT_TRUE(released);  // the last reference went with the buffer
}

TEST(WireTest, TwoMatricesAndAnEmptyOne) {
  const std::vector<float> a = Ramp(2 * 3, 1), b = Ramp(3 * 4, 100);
  grpc::ByteBuffer framed = Frame(v1::GemmRequest(),
                                  {{v1::GemmRequest::kAFieldNumber, 2, 3, a.data(), 24},
                                   {v1::GemmRequest::kBFieldNumber, 3, 4, b.data(), 48}},
                                  nullptr);
  v1::GemmRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(Flatten(framed)));
  EXPECT_EQ(parsed.a().raw(), Bytes(a));
  EXPECT_EQ(parsed.b().raw(), Bytes(b));
  EXPECT_EQ(parsed.b().cols(), 4);

  grpc::ByteBuffer empty =
      Frame(v1::GemmRequest(), {{v1::GemmRequest::kAFieldNumber, 7, 9, nullptr, 0}}, nullptr);
  ASSERT_TRUE(parsed.ParseFromString(Flatten(empty)));
  EXPECT_EQ(parsed.a().rows(), 7);
  EXPECT_TRUE(parsed.a().raw().empty());
}

TEST(WireTest, ParseSendsTheRawBytesToTheSinkAndTheRestToTheMessage) {
  const std::vector<float> c = Ramp(4 * 6, 0.25f);
  v1::GemmResponse sent;
  sent.set_request_id("r");
  sent.set_replica_id("replica-2");
  sent.mutable_overhead()->set_unpack_ratio(1.25);
  sent.mutable_c()->set_rows(4);
  sent.mutable_c()->set_cols(6);
  sent.mutable_c()->set_raw(Bytes(c));
  grpc::ByteBuffer buf = FromString(sent.SerializeAsString());
  std::vector<float> dst(c.size(), -1);
  int calls = 0;
  v1::GemmResponse got;
  ASSERT_TRUE(Parse(&buf, &got, {v1::GemmResponse::kCFieldNumber},
                    [&](int field, size_t bytes) -> void* {
                      ++calls;
                      EXPECT_EQ(field, v1::GemmResponse::kCFieldNumber);
                      EXPECT_EQ(bytes, c.size() * 4);
                      return dst.data();
                    },
                    "GemmResponse")
                  .ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(dst, c);
  EXPECT_TRUE(got.c().raw().empty());
  EXPECT_EQ(got.c().rows(), 4);
  EXPECT_EQ(got.c().cols(), 6);
  EXPECT_EQ(got.replica_id(), "replica-2");
  EXPECT_EQ(got.overhead().unpack_ratio(), 1.25);
}

TEST(WireTest, DiscardedBytesAreSkipped) {
  v1::GemmResponse sent;
  sent.mutable_c()->set_rows(2);
  sent.mutable_c()->set_cols(3);
  sent.mutable_c()->set_raw(std::string(24, 'c'));
  sent.set_replica_id("after-c");
  grpc::ByteBuffer buf = FromString(sent.SerializeAsString());
  v1::GemmResponse got;
  ASSERT_TRUE(Parse(&buf, &got, {v1::GemmResponse::kCFieldNumber},
                    [](int, size_t) { return Discard(); }, "GemmResponse")
                  .ok());
  EXPECT_TRUE(got.c().raw().empty());
  EXPECT_EQ(got.c().cols(), 3);
  EXPECT_EQ(got.replica_id(), "after-c");
}

TEST(WireTest, ASinkThatDeclinesLeavesTheBytesInTheMessage) {
  v1::GemmResponse sent;
  sent.mutable_c()->set_rows(1);
  sent.mutable_c()->set_cols(2);
  sent.mutable_c()->set_raw(Bytes({1.5f, -2.5f}));
  sent.mutable_c()->add_values(9);  // typed values pass through untouched
  sent.set_request_id("x");
  grpc::ByteBuffer buf = FromString(sent.SerializeAsString());
  v1::GemmResponse got;
  ASSERT_TRUE(Parse(&buf, &got, {v1::GemmResponse::kCFieldNumber},
                    [](int, size_t) -> void* { return nullptr; }, "GemmResponse")
                  .ok());
  EXPECT_EQ(got.SerializeAsString(), sent.SerializeAsString());
}

TEST(WireTest, FramedBytesParseBackThroughTheSink) {
  const std::vector<float> a = Ramp(64 * 33, -7);
  grpc::ByteBuffer framed =
      Frame(Head(), {{v1::GemmRequest::kAFieldNumber, 64, 33, a.data(), a.size() * 4}}, nullptr);
  std::vector<float> dst(a.size());
  v1::GemmRequest got;
  ASSERT_TRUE(Parse(&framed, &got, {v1::GemmRequest::kAFieldNumber},
                    [&](int, size_t) -> void* { return dst.data(); }, "GemmRequest")
                  .ok());
  EXPECT_EQ(dst, a);
  EXPECT_EQ(got.request_id(), "req-7");
  EXPECT_EQ(got.b_handle(), "b-0123");
  EXPECT_EQ(got.a().cols(), 33);
}

TEST(WireTest, MalformedBytesAreRefusedWithTheMessageType) {
  v1::GemmResponse sent;
  sent.mutable_c()->set_rows(2);
  sent.mutable_c()->set_cols(2);
  sent.mutable_c()->set_raw(std::string(16, 'x'));
  const std::string good = sent.SerializeAsString();
  for (const std::string& bad :
       {good.substr(0, good.size() - 3),    // raw cut short
        std::string("\x12\x7f\x08\x02", 4),  // matrix length past the end
        std::string("\xff\xff\xff", 3),      // truncated varint tag
        std::string("\x0b", 1)}) {           // a start-group with no end
    grpc::ByteBuffer buf = FromString(bad);
    v1::GemmResponse got;
    std::vector<char> dst(64);
    Status s = Parse(&buf, &got, {v1::GemmResponse::kCFieldNumber},
                     [&](int, size_t bytes) -> void* {
                       return bytes <= dst.size() ? dst.data() : nullptr;
                     },
                     "GemmResponse");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad.size();
    EXPECT_NE(s.message().find("imunpack.v1.GemmResponse"), std::string::npos) << s.message();
  }
}

TEST(WireTest, RawBytesTwiceAreRefused) {
  // Valid protobuf (the second c would win), but no encoder writes it, and
  // the first copy may already sit in the caller's buffer.
  v1::GemmResponse one;
  one.mutable_c()->set_rows(1);
  one.mutable_c()->set_cols(1);
  one.mutable_c()->set_raw(Bytes({3.0f}));
  const std::string twice = one.SerializeAsString() + one.SerializeAsString();
  grpc::ByteBuffer buf = FromString(twice);
  v1::GemmResponse got;
  float dst = 0;
  Status s = Parse(&buf, &got, {v1::GemmResponse::kCFieldNumber},
                   [&](int, size_t) -> void* { return &dst; }, "GemmResponse");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  // Rows and cols twice (no raw) merge as protobuf says.
  v1::GemmResponse shape;
  shape.mutable_c()->set_rows(4);
  grpc::ByteBuffer merged = FromString(shape.SerializeAsString() + one.SerializeAsString());
  ASSERT_TRUE(Parse(&merged, &got, {v1::GemmResponse::kCFieldNumber},
                    [&](int, size_t) -> void* { return &dst; }, "GemmResponse")
                  .ok());
  EXPECT_EQ(got.c().rows(), 1);
  EXPECT_EQ(dst, 3.0f);
}

}  // namespace
}  // namespace imunpack::wire
