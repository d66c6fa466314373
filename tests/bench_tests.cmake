# raft-bench (benchmarks/): its command line (unit) and short runs in each topology and
# workload that check the JSON it writes (bench-smoke; functional, not a performance test).
add_test(NAME raft_bench_bad_flags
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/raft_bench_flags_test.sh $<TARGET_FILE:raft-bench>)
set_tests_properties(raft_bench_bad_flags PROPERTIES LABELS unit TIMEOUT 60)

foreach(topology in-process processes)
  add_test(NAME raft_bench_smoke_${topology}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/raft_bench_smoke_test.sh $<TARGET_FILE:raft-bench>
            ${topology})
  set_tests_properties(raft_bench_smoke_${topology} PROPERTIES LABELS bench-smoke TIMEOUT 60)
endforeach()

pontoon_test(raft_bench_parts_test
  SOURCES raft_bench_parts_test.cc
  LIBS raft-bench-parts raft-storage
  LABELS unit)
