// Zero-copy framing of the API's big matrices.
//
// A GEMM request or response is a few hundred bytes of fields around one or
// two matrices of megabytes. Serializing it the ordinary way copies each
// matrix twice on the sending side (into the message's `raw` bytes, then into
// gRPC's buffer) and twice on the receiving side (out of gRPC's buffer, then
// out of the message). Here the sender hands gRPC the matrix's own memory as
// one slice after a small serialized head, and the receiver copies the bytes
// once, straight from gRPC's buffer to where the caller wants them.
//
// The bytes on the wire are an ordinary protobuf encoding of the message
// (fields may appear out of number order, which every parser accepts), so
// peers that use generated stubs in any language interoperate unchanged.
#ifndef IMUNPACK_PROTO_WIRE_H_
#define IMUNPACK_PROTO_WIRE_H_

#include <google/protobuf/message_lite.h>
#include <grpcpp/support/byte_buffer.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kernels/status.h"

namespace imunpack::wire {

// A matrix message (FloatMatrix, Int32Matrix, Int64Matrix: rows = 1,
// cols = 2, raw = 3) to be appended as field `field` of the outer message,
// its `raw` bytes taken from `data` without a copy.
struct RawMatrix {
  int field;
  int64_t rows;
  int64_t cols;
  const void* data;
  size_t bytes;
};

// `head` serialized, followed by each matrix. When `head` sets one of those
// fields too (without its raw bytes), parsers merge the two occurrences, as
// protobuf does for a message field that appears twice. gRPC holds a reference to `keep_alive` for as long as it
// may read any matrix's bytes and drops it afterwards (possibly after the
// call has finished, from one of its own threads); the bytes must stay
// valid and unchanged until then.
grpc::ByteBuffer Frame(const google::protobuf::MessageLite& head,
                       const std::vector<RawMatrix>& matrices,
                       std::shared_ptr<const void> keep_alive);

// Where to copy the raw bytes of matrix field `field` when they are `bytes`
// long; nullptr leaves them in the parsed message as usual. Called only for
// lengths the message really holds, so it may allocate `bytes`.
// Returning Discard() skips them without a copy (the field is then left
// with empty raw, as when they were taken).
using RawSink = std::function<void*(int field, size_t bytes)>;
void* Discard();

// Parses `buf` into `out`. The raw bytes of the matrix fields listed in
// `fields` go to wherever `sink` says (one copy, straight from gRPC's
// buffer); such a field is then left in `out` with its rows and cols but
// empty raw. Fails with INVALID_ARGUMENT, naming `what`, when the bytes
// cannot be read as the message, or when such a field's raw bytes occur twice (valid
// protobuf, where the last would win, but no encoder writes it and a sink
// cannot take it back). Everything protobuf accepts is read as protobuf
// reads it; over-long tags of fields outside the matrices, which protobuf
// refuses, are accepted (they are re-encoded).
Status Parse(grpc::ByteBuffer* buf, google::protobuf::MessageLite* out,
             const std::vector<int>& fields, const RawSink& sink, const char* what);

}  // namespace imunpack::wire

#endif  // IMUNPACK_PROTO_WIRE_H_
