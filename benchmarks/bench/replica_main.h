// `raft-bench replica ...`: the body of a replica process (--topology processes).
//
// Protocol with the driver (ReplicaProcess), one line each on stdout/stdin:
//   replica -> driver  "LISTEN <port>"            once its transport listens on 127.0.0.1
//   driver  -> replica "PEERS ip:port,ip:port..."  every replica's address, in index order
//   replica -> driver  "READY"                    once its groups have started
// Then the replica serves (Raft and the bench service) until its stdin reaches EOF, shuts its
// nodes and transport down and exits 0. A startup failure is one line on stderr and exit 1;
// a bad command line exit 2.
#pragma once

namespace bench {

// argv[0] is the program, argv[1] "replica".
int run_replica_process(int argc, char** argv);

}  // namespace bench
