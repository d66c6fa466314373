# raft-rpc: framing, protobuf mapping, and the TCP transport.
pontoon_test(frame_test SOURCES frame_test.cc LIBS raft-rpc LABELS unit)
pontoon_test(tcp_transport_test SOURCES tcp_transport_test.cc LIBS raft-rpc LABELS unit)
