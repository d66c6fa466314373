# jepsen/: the history checkers' unit tests (Python 3 standard library only).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME jepsen_checker_test
    COMMAND ${Python3_EXECUTABLE} -m unittest discover
            -s ${PROJECT_SOURCE_DIR}/jepsen/tests -t ${PROJECT_SOURCE_DIR}/jepsen
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/jepsen)
  set_tests_properties(jepsen_checker_test PROPERTIES LABELS unit TIMEOUT 120)
else()
  message(WARNING "python3 not found: jepsen_checker_test is not registered")
endif()

# The driver against real server processes (needs root for the partitions: network
# namespaces). label jepsen: one 60-second run of the counter on 3 nodes under kill, pause and
# partition faults (seed 3 draws all three, kill-all included), part of the default suite.
# label jepsen-long: 10 minutes per nemesis family, per service, on 5 nodes; they also carry
# "soak", which the default suite (scripts/test.sh: ctest -LE soak) leaves out. Run them with
# ctest -L jepsen-long; the 60-second run alone with ctest -L '^jepsen$'. skew needs Debian's
# faketime package (scripts/install-deps.sh), disk needs root (a tmpfs per node), membership
# raft-cli.
if(Python3_Interpreter_FOUND AND PONTOON_BUILD_EXAMPLES)
  set(JEPSEN_RUN ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/jepsen/run.py)
  set(JEPSEN_OUT ${CMAKE_CURRENT_BINARY_DIR}/jepsen-runs)
  add_test(NAME jepsen_counter_3_nodes_60s
    COMMAND ${JEPSEN_RUN} --service counter --nodes 3 --time-limit-s 60
            --nemesis kill,pause,partition --seed 3 --clients 30
            --bin-dir $<TARGET_FILE_DIR:counter-server> --out ${JEPSEN_OUT}/counter-3-60s)
  set_tests_properties(jepsen_counter_3_nodes_60s PROPERTIES LABELS jepsen TIMEOUT 240
                       RUN_SERIAL TRUE)
  foreach(service counter atomic)
    foreach(family kill pause partition skew disk)
      set(name jepsen_long_${service}_5_nodes_${family})
      # disk: each node's data is a 64 MiB tmpfs (below RocksDB's write-ahead log
      # preallocation, or a full disk would go unnoticed), which holds about two minutes of
      # this workload's log; a snapshot every 30 s truncates it, so the run lasts 10 minutes
      # as well (docs/jepsen.md, "Full disk").
      set(snapshot_args)
      if(family STREQUAL "disk")
        set(snapshot_args --snapshot-interval-s 30)
      endif()
      add_test(NAME ${name}
        COMMAND ${JEPSEN_RUN} --service ${service} --nodes 5 --time-limit-s 600
                --nemesis ${family} --seed 1 --clients 30 ${snapshot_args}
                --bin-dir $<TARGET_FILE_DIR:${service}-server>/..
                --out ${JEPSEN_OUT}/long-${service}-5-${family})
      set_tests_properties(${name} PROPERTIES LABELS "jepsen-long;soak" TIMEOUT 1200
                           RUN_SERIAL TRUE)
    endforeach()
  endforeach()
  # The failing disk (EIO through the servers' test hook) and membership churn (raft-cli):
  # the 60-second runs of docs/jepsen.md's results, 3 nodes, seed 11, each verified valid.
  foreach(service counter atomic)
    foreach(family disk-eio membership)
      set(name jepsen_long_${service}_3_nodes_${family}_60s)
      add_test(NAME ${name}
        COMMAND ${JEPSEN_RUN} --service ${service} --nodes 3 --time-limit-s 60
                --nemesis ${family} --seed 11 --clients 30
                --bin-dir $<TARGET_FILE_DIR:${service}-server>/.. --raft-cli $<TARGET_FILE:raft-cli>
                --out ${JEPSEN_OUT}/long-${service}-3-${family})
      set_tests_properties(${name} PROPERTIES LABELS "jepsen-long;soak" TIMEOUT 300
                           RUN_SERIAL TRUE)
    endforeach()
  endforeach()

  # Lease reads under a slow leader (nemesis slow-leader: the node restarted with the servers'
  # --clock-rate test hook, made leader, cut from its peers; docs/jepsen.md, "Lease reads and a
  # slow leader"). Three readers per replica only read, always from that replica, so the
  # cut-off leader keeps answering lease reads for as long as it believes its lease. Within
  # the drift bound (rate 0.95: 800 ms of lease last 842 ms, below the 1 s election timeout)
  # the checker must pass; far beyond it (rate 0.15, no drift allowance: 6 s, while the others
  # elect and acknowledge writes after 1-2.5 s) the run must show stale reads: it exits 0 only
  # if the checker finds the history not linearizable (--expect invalid). 30 s each, in the
  # default suite (label jepsen).
  set(lease_run --service atomic --nodes 3 --time-limit-s 30 --nemesis slow-leader --seed 1
                --clients 30 --pinned-readers 3 --keys 5 --read lease
                --bin-dir $<TARGET_FILE_DIR:atomic-server>/..
                --raft-cli $<TARGET_FILE:raft-cli>)
  add_test(NAME jepsen_lease_slow_leader_within_drift
    COMMAND ${JEPSEN_RUN} ${lease_run} --slow-leader-rate 0.95
            --out ${JEPSEN_OUT}/lease-slow-leader-within-drift)
  add_test(NAME jepsen_lease_slow_leader_beyond_drift_expect_stale
    COMMAND ${JEPSEN_RUN} ${lease_run} --slow-leader-rate 0.15 --max-clock-drift-ms 0
            --expect invalid --out ${JEPSEN_OUT}/lease-slow-leader-beyond-drift)
  set_tests_properties(jepsen_lease_slow_leader_within_drift
                       jepsen_lease_slow_leader_beyond_drift_expect_stale
                       PROPERTIES LABELS jepsen TIMEOUT 240 RUN_SERIAL TRUE)
endif()
