#include "proto/wire.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <algorithm>
#include <climits>
#include <string>

namespace imunpack::wire {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::StringOutputStream;

constexpr int kRowsField = 1, kColsField = 2, kRawField = 3;

void PutVarint(std::string* s, uint64_t v) {
  while (v >= 0x80) {
    s->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  s->push_back(static_cast<char>(v));
}

void PutTag(std::string* s, int field, WireFormatLite::WireType type) {
  PutVarint(s, WireFormatLite::MakeTag(field, type));
}

size_t VarintSize(uint64_t v) { return CodedOutputStream::VarintSize64(v); }

// One reference to keep_alive per matrix slice; gRPC deletes it when it
// drops the slice.
struct Holder {
  std::shared_ptr<const void> keep_alive;
};
void Release(void* holder) { delete static_cast<Holder*>(holder); }

// Reads one matrix message (the length is next in `in`) whose field `field`
// tag was already read, sends its raw bytes to the sink when it wants them,
// and writes the rest, re-framed, to `rest`. `seen` collects the fields
// whose raw bytes were met: a second occurrence is refused.
bool ReadMatrix(CodedInputStream* in, uint32_t tag, int field, const RawSink& sink,
                CodedOutputStream* rest, std::vector<int>* seen) {
  uint32_t len = 0;
  if (!in->ReadVarint32(&len) || static_cast<int64_t>(len) > in->BytesUntilLimit()) return false;
  const CodedInputStream::Limit limit = in->PushLimit(static_cast<int>(std::min<uint32_t>(len, INT_MAX)));
  std::string inner;
  {
    StringOutputStream inner_stream(&inner);
    CodedOutputStream inner_out(&inner_stream);
    for (uint32_t t; (t = in->ReadTag()) != 0;) {
      if (t != WireFormatLite::MakeTag(kRawField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
        if (!WireFormatLite::SkipField(in, t, &inner_out)) return false;
        continue;
      }
      uint32_t n = 0;
      if (!in->ReadVarint32(&n) || n > INT_MAX) return false;
      if (std::find(seen->begin(), seen->end(), field) != seen->end()) return false;
      seen->push_back(field);
      // Only lengths the message really holds reach the sink, which may
      // allocate that much.
      if (static_cast<int64_t>(n) > in->BytesUntilLimit()) return false;
      void* dst = n > 0 ? sink(field, n) : nullptr;
      if (dst == Discard()) {
        if (!in->Skip(static_cast<int>(n))) return false;
      } else if (dst != nullptr) {
        if (!in->ReadRaw(dst, static_cast<int>(n))) return false;
      } else {
        std::string raw;
        if (!in->ReadString(&raw, static_cast<int>(n))) return false;
        inner_out.WriteTag(t);
        inner_out.WriteVarint32(n);
        inner_out.WriteString(raw);
      }
    }
    // Ended at the matrix's own length, not early at the end of the bytes.
    if (!in->ConsumedEntireMessage() || in->BytesUntilLimit() != 0) return false;
  }
  in->PopLimit(limit);
  rest->WriteTag(tag);
  rest->WriteVarint32(static_cast<uint32_t>(inner.size()));
  rest->WriteString(inner);
  return true;
}

}  // namespace

void* Discard() {
  static char marker;
  return &marker;
}

grpc::ByteBuffer Frame(const google::protobuf::MessageLite& head,
                       const std::vector<RawMatrix>& matrices,
                       std::shared_ptr<const void> keep_alive) {
  std::vector<grpc::Slice> slices;
  std::string prefix = head.SerializeAsString();
  for (const RawMatrix& m : matrices) {
    const uint64_t rows = static_cast<uint64_t>(m.rows), cols = static_cast<uint64_t>(m.cols);
    const size_t inner = 1 + VarintSize(rows) + 1 + VarintSize(cols) + 1 + VarintSize(m.bytes) + m.bytes;
    PutTag(&prefix, m.field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
    PutVarint(&prefix, inner);
    PutTag(&prefix, kRowsField, WireFormatLite::WIRETYPE_VARINT);
    PutVarint(&prefix, rows);
    PutTag(&prefix, kColsField, WireFormatLite::WIRETYPE_VARINT);
    PutVarint(&prefix, cols);
    PutTag(&prefix, kRawField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
    PutVarint(&prefix, m.bytes);
    if (m.bytes == 0) continue;
    slices.emplace_back(prefix);  // the small head: copied
    prefix.clear();
    slices.emplace_back(const_cast<void*>(m.data), m.bytes, &Release, new Holder{keep_alive});
  }
  if (!prefix.empty()) slices.emplace_back(prefix);
  return grpc::ByteBuffer(slices.data(), slices.size());
}

Status Parse(grpc::ByteBuffer* buf, google::protobuf::MessageLite* out,
             const std::vector<int>& fields, const RawSink& sink, const char* what) {
  const Status bad = InvalidArgument(std::string(what) + ": the bytes are not a valid " +
                                     out->GetTypeName() + " message");
  grpc::ProtoBufferReader reader(buf);
  if (!reader.status().ok()) return bad;
  std::string rest;
  {
    CodedInputStream in(&reader);
    in.SetTotalBytesLimit(INT_MAX);
    if (buf->Length() > static_cast<size_t>(INT_MAX)) return bad;
    in.PushLimit(static_cast<int>(buf->Length()));  // so limits are real sizes
    StringOutputStream rest_stream(&rest);
    CodedOutputStream rest_out(&rest_stream);
    std::vector<int> seen;
    for (uint32_t tag; (tag = in.ReadTag()) != 0;) {
      const int field = WireFormatLite::GetTagFieldNumber(tag);
      const bool matrix =
          WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED &&
          std::find(fields.begin(), fields.end(), field) != fields.end();
      if (!(matrix ? ReadMatrix(&in, tag, field, sink, &rest_out, &seen)
                   : WireFormatLite::SkipField(&in, tag, &rest_out))) {
        return bad;
      }
    }
    if (!in.ConsumedEntireMessage()) return bad;
  }
  if (!out->ParseFromString(rest)) return bad;
  return Status::Ok();
}

}  // namespace imunpack::wire
