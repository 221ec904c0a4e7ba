// imunpack: command-line client of the IM-Unpack GEMM service.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <set>
#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "client/client.h"
#include "client/security_flags.h"
#include "common/npy.h"
#include "common/workload.h"
#include "common/malloc_tuning.h"
#include "kernels/pipeline.h"

namespace {

using imunpack::Status;
using imunpack::StatusCodeName;

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s: %s\n", StatusCodeName(s.code()), s.message().c_str());
  return 1;
}

imunpack::v1::Strategy ParseStrategy(const std::string& s) {
  if (s == "row") return imunpack::v1::STRATEGY_ROW;
  if (s == "column") return imunpack::v1::STRATEGY_COLUMN;
  if (s == "both") return imunpack::v1::STRATEGY_BOTH;
  return imunpack::v1::STRATEGY_AUTO;
}

const char* StrategyText(imunpack::v1::Strategy s) {
  switch (s) {
    case imunpack::v1::STRATEGY_ROW: return "row";
    case imunpack::v1::STRATEGY_COLUMN: return "column";
    case imunpack::v1::STRATEGY_BOTH: return "both";
    default: return "auto";
  }
}

nlohmann::json OverheadJson(const imunpack::v1::Overhead& o) {
  const auto& t = o.times();
  return {{"m", o.m()}, {"k", o.k()}, {"n", o.n()}, {"m_unpacked", o.m_unpacked()},
          {"k_unpacked", o.k_unpacked()}, {"n_unpacked", o.n_unpacked()},
          {"unpack_ratio", o.unpack_ratio()}, {"bits", o.bits()},
          {"strategy_used", std::string("A:") + StrategyText(o.strategy_a()) + ",B:" +
                                StrategyText(o.strategy_b())},
          {"heavy_a", o.heavy_a()}, {"heavy_b", o.heavy_b()},
          {"max_digits_a", o.max_digits_a()}, {"max_digits_b", o.max_digits_b()},
          {"clipped_a", o.clipped_a()}, {"clipped_b", o.clipped_b()},
          {"gemm_calls", o.gemm_calls()}, {"accumulator_bits", o.accumulator_bits()},
          {"decode_ms", t.decode_ms()}, {"queue_ms", t.queue_ms()}, {"select_ms", t.select_ms()},
          {"quantize_ms", t.quantize_ms()}, {"plan_ms", t.plan_ms()},
          {"unpack_ms", t.unpack_ms()}, {"gemm_ms", t.gemm_ms()},
          {"reassemble_ms", t.reassemble_ms()}, {"pipeline_ms", t.pipeline_ms()},
          {"verify_ms", t.verify_ms()},
          {"server_ms", t.server_ms()}};
}

// A response message as JSON: indented, or one line with --json.
void PrintProto(const google::protobuf::Message& msg, bool one_line) {
  std::string text;
  google::protobuf::util::JsonPrintOptions po;
  po.add_whitespace = !one_line;
  po.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(msg, &text, po);
  std::printf("%s\n", text.c_str());
}

void PrintOverhead(const imunpack::v1::Overhead& o) {
  const auto& t = o.times();
  std::printf("  overhead     unpack ratio %.4f (m' %lld, k' %lld, n' %lld), strategy A:%s,B:%s\n",
              o.unpack_ratio(), (long long)o.m_unpacked(), (long long)o.k_unpacked(),
              (long long)o.n_unpacked(), StrategyText(o.strategy_a()), StrategyText(o.strategy_b()));
  std::printf("               heavy hitters A %lld, B %lld; max digits %d/%d; clipped %lld/%lld; %d int8 GEMM calls\n",
              (long long)o.heavy_a(), (long long)o.heavy_b(), o.max_digits_a(), o.max_digits_b(),
              (long long)o.clipped_a(), (long long)o.clipped_b(), o.gemm_calls());
  std::printf("  server (ms)  decode %.2f, queue %.2f, select %.2f, quantize %.2f, plan %.2f, unpack %.2f, gemm %.2f, reassemble %.2f\n",
              t.decode_ms(), t.queue_ms(), t.select_ms(), t.quantize_ms(), t.plan_ms(), t.unpack_ms(),
              t.gemm_ms(), t.reassemble_ms());
  std::printf("               pipeline %.2f, fp32 verification %.2f, server total %.2f\n",
              t.pipeline_ms(), t.verify_ms(), t.server_ms());
}

}  // namespace

int main(int argc, char** argv) {
  imunpack::TuneMallocForLargeMessages();
  using namespace imunpack;
  client::ClientOptions copts;
  copts.targets.clear();
  double max_message_mib = 1024;
  bool json = false;
  CLI::App app{"imunpack: client of the IM-Unpack GEMM service"};
  app.require_subcommand(1);
  app.fallthrough();  // --target, --json, ... also after the subcommand
  app.add_option("--target", copts.targets, "server host:port (repeat for round_robin)")
      ->envname("IMUNPACK_TARGET");
  app.add_option("--max-message-mib", max_message_mib, "largest message (match the server)")
      ->capture_default_str();
  app.add_option("--deadline-s", copts.deadline_s, "deadline per attempt")->capture_default_str();
  app.add_flag("--json", json, "print JSON instead of text");
  client::SecurityFlags security;
  security.Add(app);

  // gemm
  CLI::App* gemm = app.add_subcommand("gemm", "C = A·B through b-bit integer GEMMs");
  std::string a_path, b_path, b_handle, out_path, dist = "outlier-channels", strategy = "auto",
                                                   granularity = "tensor";
  int64_t m = 512, k = 1024, n = 512;
  uint64_t seed = 1;
  int bits = 8, levels = 0, levels_a = -1, levels_b = -1;
  double percentile = -1, percentile_a = 0.999, percentile_b = 1.0;
  bool verify = false, check = false, typed = false;
  gemm->add_option("--a", a_path, "A (m x k) float32 .npy");
  gemm->add_option("--b", b_path, "B (k x n) float32 .npy");
  gemm->add_option("--b-handle", b_handle, "a registered B instead of --b");
  gemm->add_option("--m", m, "rows of generated A")->capture_default_str();
  gemm->add_option("--k", k, "inner dimension of generated A, B")->capture_default_str();
  gemm->add_option("--n", n, "cols of generated B")->capture_default_str();
  gemm->add_option("--dist", dist, "gaussian | student-t | outlier-channels")->capture_default_str();
  gemm->add_option("--seed", seed, "generator seed")->capture_default_str();
  gemm->add_option("--bits", bits, "b in [2, 8]")->capture_default_str();
  gemm->add_option("--percentile", percentile, "beta of both operands");
  gemm->add_option("--percentile-a", percentile_a, "beta of A")->capture_default_str();
  gemm->add_option("--percentile-b", percentile_b, "beta of B")->capture_default_str();
  gemm->add_option("--levels", levels, "d of both operands (0: 2^b - 1)")->capture_default_str();
  gemm->add_option("--levels-a", levels_a, "d of A");
  gemm->add_option("--levels-b", levels_b, "d of B");
  gemm->add_option("--granularity", granularity, "tensor | channel")->capture_default_str();
  gemm->add_option("--strategy", strategy, "auto | row | column | both")->capture_default_str();
  gemm->add_flag("--verify", verify, "server also computes fp32 C and reports the error");
  gemm->add_flag("--check", check, "recompute C locally and require a bit-identical result");
  gemm->add_flag("--typed", typed, "send typed repeated fields instead of raw bytes");
  bool quantize_on_client = false;
  gemm->add_flag("--quantize-on-client", quantize_on_client,
                 "quantize A here and send its int8 digits + heavy hitters (about 1/4 of the "
                 "bytes; same C; not with --verify)");
  gemm->add_option("--out", out_path, "write C to this .npy file");
  int shards = 1;
  gemm->add_option("--shards", shards,
                   "split A into this many row blocks sent at once (spread over the --targets)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  // int-gemm
  CLI::App* igemm = app.add_subcommand("int-gemm", "exact int64 C = A·B of int32 .npy files");
  std::string ia_path, ib_path, iout_path;
  igemm->add_option("--a", ia_path, "A (int32 .npy)")->required();
  igemm->add_option("--b", ib_path, "B (int32 .npy)")->required();
  igemm->add_option("--bits", bits, "b in [2, 8]")->capture_default_str();
  igemm->add_option("--strategy", strategy, "auto | row | column | both")->capture_default_str();
  igemm->add_option("--out", iout_path, "write C (int64 .npy)");

  CLI::App* upload = app.add_subcommand("upload", "register a B operand (float32 .npy)");
  std::string up_path, up_name;
  upload->add_option("--b", up_path, "B (k x n) float32 .npy")->required();
  upload->add_option("--name", up_name, "label");
  upload->add_option("--bits", bits, "b in [2, 8]")->capture_default_str();
  upload->add_option("--percentile", percentile_b, "beta")->capture_default_str();
  upload->add_option("--levels", levels, "d (0: 2^b - 1)")->capture_default_str();
  upload->add_option("--strategy", strategy, "B's unpacking, fixed at upload: auto | row | column | both")
      ->capture_default_str();
  CLI::App* del = app.add_subcommand("delete", "delete a registered matrix");
  std::string del_handle;
  del->add_option("handle", del_handle, "handle")->required();
  app.add_subcommand("list", "list registered matrices");
  app.add_subcommand("info", "server version, oneDNN, workers, limits, load");
  app.add_subcommand("health", "grpc.health.v1 status; exit 0 only when SERVING");
  CLI11_PARSE(app, argc, argv);

  if (copts.targets.empty()) copts.targets = {"127.0.0.1:50051"};
  copts.max_message_bytes = static_cast<int64_t>(max_message_mib * (1 << 20));
  copts.raw_encoding = !typed;
  if (Status sec = security.Apply(&copts); !sec.ok()) return Fail(sec);
  client::Client cl(copts);
  CLI::App* sub = app.get_subcommands()[0];
  const std::string cmd = sub->get_name();

  if (cmd == "health") {
    StatusOr<std::string> h = cl.Health();
    if (!h.ok()) return Fail(h.status());
    std::printf("%s\n", h->c_str());
    return *h == "SERVING" ? 0 : 1;
  }
  if (cmd == "info") {
    StatusOr<v1::ServerInfo> info = cl.Info();
    if (!info.ok()) return Fail(info.status());
    PrintProto(*info, json);
    return 0;
  }
  if (cmd == "list") {
    StatusOr<v1::ListMatricesResponse> l = cl.List();
    if (!l.ok()) return Fail(l.status());
    PrintProto(*l, json);
    return 0;
  }
  if (cmd == "delete") {
    Status s = cl.Delete(del_handle);
    if (!s.ok()) return Fail(s);
    std::printf("deleted %s\n", del_handle.c_str());
    return 0;
  }
  if (cmd == "upload") {
    StatusOr<Matrix<float>> b = ReadNpyFloat(up_path);
    if (!b.ok()) return Fail(b.status());
    v1::QuantConfig q;
    q.set_percentile(percentile_b);
    q.set_levels(levels);
    StatusOr<v1::MatrixInfo> info = cl.Upload(*b, up_name, bits, q, false, ParseStrategy(strategy));
    if (!info.ok()) return Fail(info.status());
    std::printf("%s\n", info->handle().c_str());
    return 0;
  }
  if (cmd == "int-gemm") {
    StatusOr<Matrix<int32_t>> a = ReadNpyInt32(ia_path);
    StatusOr<Matrix<int32_t>> b = ReadNpyInt32(ib_path);
    if (!a.ok()) return Fail(a.status());
    if (!b.ok()) return Fail(b.status());
    StatusOr<client::IntGemmResult> r = cl.IntGemm(*a, *b, bits, ParseStrategy(strategy));
    if (!r.ok()) return Fail(r.status());
    if (!iout_path.empty()) {
      Status s = WriteNpy(iout_path, r->c);
      if (!s.ok()) return Fail(s);
    }
    if (json) {
      std::printf("%s\n", OverheadJson(r->overhead).dump().c_str());
    } else {
      std::printf("IntGemm %lldx%lldx%lld on %s\n", (long long)a->rows(), (long long)a->cols(),
                  (long long)b->cols(), r->replica_id.c_str());
      PrintOverhead(r->overhead);
    }
    return 0;
  }

  // gemm
  Matrix<float> a, b;
  if (!a_path.empty()) {
    StatusOr<Matrix<float>> ra = ReadNpyFloat(a_path);
    if (!ra.ok()) return Fail(ra.status());
    a = std::move(ra.value());
  } else {
    Distribution d;
    if (!ParseDistribution(dist, &d)) return Fail(InvalidArgument("--dist " + dist));
    a = Generate(d, m, k, seed, Operand::kA);
    if (b_handle.empty() && b_path.empty()) b = Generate(d, k, n, seed, Operand::kB);
  }
  if (!b_path.empty()) {
    StatusOr<Matrix<float>> rb = ReadNpyFloat(b_path);
    if (!rb.ok()) return Fail(rb.status());
    b = std::move(rb.value());
  }
  client::GemmParams p;
  p.bits = bits;
  p.strategy = ParseStrategy(strategy);
  const v1::Granularity g = granularity == "channel" ? v1::GRANULARITY_CHANNEL : v1::GRANULARITY_TENSOR;
  p.a_quant.set_percentile(percentile >= 0 ? percentile : percentile_a);
  p.a_quant.set_levels(levels_a >= 0 ? levels_a : levels);
  p.a_quant.set_granularity(g);
  p.b_quant.set_percentile(percentile >= 0 ? percentile : percentile_b);
  p.b_quant.set_levels(levels_b >= 0 ? levels_b : levels);
  p.b_quant.set_granularity(g);
  p.verify = verify;
  p.quantize_on_client = quantize_on_client;
  p.request_id = "cli";
  p.shards = shards;
  StatusOr<client::GemmResult> r =
      b_handle.empty() ? cl.Gemm(a, b, p) : cl.Gemm(a, b_handle, p);
  if (!r.ok()) return Fail(r.status());
  if (!out_path.empty()) {
    Status s = WriteNpy(out_path, r->c);
    if (!s.ok()) return Fail(s);
  }
  // --check: the same GEMM in this process must give the same bits.
  int64_t mismatches = -1;
  if (check && b_handle.empty()) {
    GemmConfig cfg;
    cfg.bits = bits;
    cfg.strategy = static_cast<Strategy>(p.strategy);
    cfg.a = {p.a_quant.percentile(), p.a_quant.levels(),
             g == v1::GRANULARITY_CHANNEL ? Granularity::kChannel : Granularity::kTensor};
    cfg.b = {p.b_quant.percentile(), p.b_quant.levels(), cfg.a.granularity};
    StatusOr<Matrix<float>> local = FloatGemm(a, b, cfg);
    if (!local.ok()) return Fail(local.status());
    mismatches = 0;
    for (int64_t i = 0; i < local->size(); ++i) mismatches += local->data()[i] != r->c.data()[i];
  }
  if (json) {
    nlohmann::json j = OverheadJson(r->overhead);
    j["blocks"] = r->blocks;
    j["replica_ids"] = r->replica_ids;
    if (verify) {
      j["max_abs_error"] = r->verification.max_abs_error();
      j["rel_fro_error"] = r->verification.rel_fro_error();
    }
    if (mismatches >= 0) j["check_mismatches"] = mismatches;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::string via;
    for (const std::string& id : std::set<std::string>(r->replica_ids.begin(), r->replica_ids.end()))
      via += (via.empty() ? "" : ", ") + id;
    std::printf("Gemm %lldx%lldx%lld, b=%d, via %s (%d block%s)\n", (long long)a.rows(),
                (long long)a.cols(), (long long)r->c.cols(), bits, via.c_str(), r->blocks,
                r->blocks == 1 ? "" : "s");
    if (mismatches >= 0) {
      std::printf("  exactness    %s: %lld of %lld elements differ from the in-process pipeline\n",
                  mismatches == 0 ? "bit-identical" : "MISMATCH", (long long)mismatches,
                  (long long)r->c.size());
    }
    if (verify) {
      std::printf("  accuracy     vs fp32: rel. Frobenius %.3e, max abs %.3e\n",
                  r->verification.rel_fro_error(), r->verification.max_abs_error());
    }
    PrintOverhead(r->overhead);
  }
  return mismatches > 0 ? 1 : 0;
}
