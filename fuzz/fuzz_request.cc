// libFuzzer target: the server's request path. Bytes are parsed as each
// request message the service takes, then decoded and validated exactly as
// the handlers do (DecodeFloat/DecodeInt32, DecodeConfig, ValidateGemm,
// CheckWork) under small limits; requests that pass run through the kernels.
// The first byte picks the message type. Must never crash, hang, or accept
// a request whose data does not match its claimed shape. A fourth kind
// checks proto/wire.h's Parse (what the client runs on a server's reply)
// against protobuf's own parser on the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <google/protobuf/stubs/logging.h>

#include "imunpack/v1/imunpack.pb.h"
#include "kernels/pipeline.h"
#include "proto/wire.h"
#include "server/convert.h"

namespace {

using namespace imunpack;

server::Limits SmallLimits() {
  server::Limits l;
  l.max_dim = 64;
  l.max_work = 64 * 64 * 64;
  return l;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzGemm(const v1::GemmRequest& req) {
  const server::Limits limits = SmallLimits();
  StatusOr<MatrixView<float>> a = server::DecodeFloat(req.a(), "a", limits);
  if (!a.ok()) return;
  Check(a->rows * a->cols == (req.a().raw().empty() ? req.a().values_size()
                                                     : static_cast<int64_t>(req.a().raw().size() / 4)));
  if (req.b_source_case() != v1::GemmRequest::kB) return;
  StatusOr<MatrixView<float>> b = server::DecodeFloat(req.b(), "b", limits);
  if (!b.ok()) return;
  StatusOr<GemmConfig> cfg =
      server::DecodeConfig(req.bits(), req.strategy(), req.a_quant(), req.b_quant(), false);
  if (!cfg.ok()) return;
  if (!ValidateGemm(a->rows, a->cols, b->rows, b->cols, *cfg).ok()) return;
  if (!server::CheckWork(a->rows, a->cols, b->cols, limits).ok()) return;
  cfg->threads = 1;
  StatusOr<Matrix<float>> c = FloatGemm(*a, *b, *cfg);
  // Only non-finite input may be refused at this point.
  if (!c.ok()) Check(c.status().code() == StatusCode::kInvalidArgument);
}

void FuzzIntGemm(const v1::IntGemmRequest& req) {
  const server::Limits limits = SmallLimits();
  StatusOr<MatrixView<int32_t>> a = server::DecodeInt32(req.a(), "a", limits);
  StatusOr<MatrixView<int32_t>> b = server::DecodeInt32(req.b(), "b", limits);
  if (!a.ok() || !b.ok()) return;
  StatusOr<GemmConfig> cfg = server::DecodeConfig(req.bits(), req.strategy(), v1::QuantConfig(),
                                                  v1::QuantConfig(), false);
  if (!cfg.ok() || !ValidateGemm(a->rows, a->cols, b->rows, b->cols, *cfg).ok()) return;
  if (!server::CheckWork(a->rows, a->cols, b->cols, limits).ok()) return;
  cfg->threads = 1;
  StatusOr<Matrix<int64_t>> c = IntGemm(*a, *b, *cfg);
  if (!c.ok()) Check(c.status().code() == StatusCode::kOutOfRange);
}

void FuzzUpload(const v1::UploadMatrixRequest& req) {
  const server::Limits limits = SmallLimits();
  StatusOr<MatrixView<float>> m = server::DecodeFloat(req.matrix(), "matrix", limits);
  StatusOr<QuantConfig> q = server::DecodeQuant(req.quant(), "quant");
  if (!m.ok() || !q.ok()) return;
  StatusOr<GemmConfig> st = server::DecodeConfig(req.bits() == 0 ? 8 : req.bits(), req.strategy(),
                                                 v1::QuantConfig(), v1::QuantConfig(), false);
  if (!st.ok()) return;
  StatusOr<std::shared_ptr<const PreparedB>> pb = PrepareB(*m, *q, st->bits, st->strategy);
  if (pb.ok()) Check((*pb)->rows() == m->rows && (*pb)->cols() == m->cols);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in string fields is logged by protobuf and refused; the
  // log lines are noise at millions of inputs.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

// wire::Parse agrees with protobuf's own parser on everything protobuf
// accepts: the same fields, the sink holding what protobuf puts in c.raw
// (a second copy of c.raw, which wire::Parse refuses, is checked on the
// canonical encoding instead). Bytes protobuf refuses may be accepted (it
// re-encodes the tags of fields it does not know) but must be read safely.
void FuzzWireParse(const uint8_t* data, size_t size) {
  auto parse = [](const std::string& bytes, v1::GemmResponse* out, std::string* sunk) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buf(&slice, 1);
    return wire::Parse(
        &buf, out, {v1::GemmResponse::kCFieldNumber},
        [sunk](int, size_t n) -> void* {
          if (n > 4096) return nullptr;  // declined: stays in the message
          sunk->assign(n, '\0');
          return sunk->data();
        },
        "GemmResponse");
  };
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  v1::GemmResponse plain, framed;
  std::string sunk;
  const bool wire_ok = parse(bytes, &framed, &sunk).ok();
  if (!plain.ParseFromString(bytes)) return;
  if (!wire_ok) {
    framed.Clear();
    sunk.clear();
    Check(parse(plain.SerializeAsString(), &framed, &sunk).ok());
  }
  if (!sunk.empty()) framed.mutable_c()->set_raw(sunk);  // raw occurs once
  Check(framed.c().raw() == plain.c().raw());
  framed.DiscardUnknownFields();
  plain.DiscardUnknownFields();
  Check(framed.SerializeAsString() == plain.SerializeAsString());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t kind = data[0] % 4;
  ++data;
  --size;
  if (kind == 0) {
    v1::GemmRequest req;
    if (req.ParseFromArray(data, static_cast<int>(size))) FuzzGemm(req);
  } else if (kind == 1) {
    v1::IntGemmRequest req;
    if (req.ParseFromArray(data, static_cast<int>(size))) FuzzIntGemm(req);
  } else if (kind == 2) {
    v1::UploadMatrixRequest req;
    if (req.ParseFromArray(data, static_cast<int>(size))) FuzzUpload(req);
  } else {
    FuzzWireParse(data, size);
  }
  return 0;
}
