# raft-rpc: framing, protobuf mapping, and the TCP transport.
pontoon_test(frame_test SOURCES frame_test.cc LIBS raft-rpc LABELS unit)
pontoon_test(raft_codec_test SOURCES raft_codec_test.cc LIBS raft-rpc LABELS unit)
pontoon_test(append_entries_wire_test SOURCES append_entries_wire_test.cc LIBS raft-rpc LABELS unit)
pontoon_test(tcp_transport_test SOURCES tcp_transport_test.cc LIBS raft-rpc LABELS unit)
pontoon_test(tcp_transport_failure_test SOURCES tcp_transport_failure_test.cc LIBS raft-rpc
             LABELS unit)
pontoon_test(fiber_threads_test SOURCES fiber_threads_test.cc LIBS raft-rpc LABELS unit)
pontoon_test(io_context_pool_test SOURCES io_context_pool_test.cc LIBS raft-rpc LABELS unit)

# raft-cli: refused command lines (unit); the CLI service on a real TCP cluster (cluster).
add_test(NAME raft_cli_bad_flags
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/raft_cli_flags_test.sh $<TARGET_FILE:raft-cli>)
set_tests_properties(raft_cli_bad_flags PROPERTIES LABELS unit TIMEOUT 60)
# SendBatchScope and Connection's collected writes (src/ headers).
pontoon_test(send_batch_test SOURCES send_batch_test.cc LIBS raft-rpc LABELS unit)
target_include_directories(send_batch_test PRIVATE ${PROJECT_SOURCE_DIR}/raft-rpc/src)
# Connection's direct, partial and queued writes (src/ headers).
pontoon_test(connection_write_test SOURCES connection_write_test.cc LIBS raft-rpc LABELS unit)
target_include_directories(connection_write_test PRIVATE ${PROJECT_SOURCE_DIR}/raft-rpc/src)
