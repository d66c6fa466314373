# Node and cluster tests.
add_library(pontoon-test-support STATIC
  support/cluster.cc
  support/scenarios.cc
  support/sim_cluster.cc
  support/tcp_cluster.cc
)
target_include_directories(pontoon-test-support PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(pontoon-test-support PUBLIC raft-core raft-storage raft-rpc Catch2::Catch2)

pontoon_test(node_sim_test SOURCES node_sim_test.cc LIBS pontoon-test-support LABELS sim)
pontoon_test(node_behaviour_test SOURCES node_behaviour_test.cc LIBS pontoon-test-support LABELS sim)
pontoon_test(node_io_blocked_test SOURCES node_io_blocked_test.cc LIBS pontoon-test-support LABELS unit)
pontoon_test(node_apply_io_thread_test SOURCES node_apply_io_thread_test.cc LIBS pontoon-test-support LABELS tcp)
pontoon_test(node_tcp_test SOURCES node_tcp_test.cc LIBS pontoon-test-support LABELS tcp)
pontoon_test(node_tcp_snapshot_test SOURCES node_tcp_snapshot_test.cc LIBS pontoon-test-support LABELS tcp)
pontoon_test(cli_service_test SOURCES cli_service_test.cc LIBS pontoon-test-support LABELS tcp)
pontoon_test(node_soak_test SOURCES node_soak_test.cc LIBS pontoon-test-support LABELS soak)
pontoon_test(node_snapshot_test SOURCES node_snapshot_test.cc LIBS pontoon-test-support LABELS sim)
pontoon_test(node_membership_test SOURCES node_membership_test.cc LIBS pontoon-test-support LABELS sim)
pontoon_test(node_transfer_test SOURCES node_transfer_test.cc LIBS pontoon-test-support LABELS sim)
pontoon_test(node_read_test SOURCES node_read_test.cc LIBS pontoon-test-support LABELS sim)
# Unit tests of raft-core internals (src/ headers).
pontoon_test(ballot_box_test SOURCES ballot_box_test.cc LIBS raft-core LABELS unit)
target_include_directories(ballot_box_test PRIVATE ${PROJECT_SOURCE_DIR}/raft-core/src)
pontoon_test(log_manager_test SOURCES log_manager_test.cc LIBS raft-core raft-storage LABELS unit)
pontoon_test(log_manager_deferred_sync_test SOURCES log_manager_deferred_sync_test.cc
             LIBS raft-core raft-storage LABELS unit)
target_include_directories(log_manager_deferred_sync_test PRIVATE ${PROJECT_SOURCE_DIR}/raft-core/src)
# memory_footprint() against the allocator's real per-entry cost (its own operator new).
pontoon_test(log_entry_footprint_test SOURCES log_entry_footprint_test.cc LIBS raft-core LABELS unit)
target_include_directories(log_manager_test PRIVATE ${PROJECT_SOURCE_DIR}/raft-core/src)
pontoon_test(fsm_caller_test SOURCES fsm_caller_test.cc LIBS raft-core raft-storage LABELS unit)
target_include_directories(fsm_caller_test PRIVATE ${PROJECT_SOURCE_DIR}/raft-core/src)
pontoon_test(in_process_transport_test SOURCES in_process_transport_test.cc LIBS raft-rpc LABELS unit)
pontoon_test(multi_group_test SOURCES multi_group_test.cc LIBS pontoon-test-support LABELS tcp)
# The follower's reorder window and the leader's cumulative acknowledgements (src/ headers).
pontoon_test(append_reorder_test SOURCES append_reorder_test.cc LIBS pontoon-test-support LABELS sim)
target_include_directories(append_reorder_test PRIVATE ${PROJECT_SOURCE_DIR}/raft-core/src)
pontoon_test(replication_batching_test SOURCES replication_batching_test.cc
             LIBS pontoon-test-support LABELS sim)
