# Runs imunpack-bench on a small generated problem and checks its JSON report.
execute_process(
  COMMAND ${BENCH} --m 65 --k 129 --n 63 --dist outlier-channels --reps 2
          --warmup 1 --threads 1 --json
  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "imunpack-bench exited with ${rc}: ${out}")
endif()
foreach(key m k n bits percentile_a percentile_b strategy_used unpack_ratio
        fp32_ms bf16_ms int8_raw_ms pipeline_ms select_ms quantize_ms plan_ms
        unpack_ms gemm_ms reassemble_ms exact_checked exact_mismatches)
  string(JSON value ERROR_VARIABLE err GET "${out}" ${key})
  if(err)
    message(FATAL_ERROR "key ${key} missing from the report: ${out}")
  endif()
endforeach()
string(JSON mism GET "${out}" exact_mismatches)
if(NOT mism EQUAL 0)
  message(FATAL_ERROR "pipeline not exact: ${out}")
endif()
