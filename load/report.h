// imunpack-load's output: a readable summary, JSON (everything), CSV (one
// row per level) and a gnuplot chart of a sweep.
#ifndef IMUNPACK_LOAD_REPORT_H_
#define IMUNPACK_LOAD_REPORT_H_

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/status.h"
#include "load/runner.h"

namespace imunpack::load {

// The level's load in words: "concurrency 8" or "rate 200/s (poisson)".
std::string LevelName(const RunSpec& spec);

void PrintSummary(std::FILE* out, const LevelResult& r);
// One line per level for sweeps, with a header line first.
void PrintSweepHeader(std::FILE* out);
void PrintSweepRow(std::FILE* out, const LevelResult& r);

nlohmann::json ToJson(const LevelResult& r);
std::string CsvHeader();
std::string CsvRow(const LevelResult& r);

// Latency percentiles (p50, p90, p99) against achieved throughput, one
// point per level, drawn by gnuplot into a PNG.
Status PlotSweep(const std::vector<LevelResult>& levels, const std::string& png_path,
                 const std::string& title);

}  // namespace imunpack::load

#endif  // IMUNPACK_LOAD_REPORT_H_
