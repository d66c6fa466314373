# raft-storage: the LogStorage contract against every implementation, the record codec,
# RaftMetaStorage, SnapshotStorage, and the FileSystem contract on the real and the simulated
# disk.
pontoon_test(log_storage_test SOURCES log_storage_test.cc LIBS raft-storage LABELS unit)
pontoon_test(meta_storage_test SOURCES meta_storage_test.cc LIBS raft-storage LABELS unit)
pontoon_test(file_system_test SOURCES file_system_test.cc LIBS raft-storage LABELS unit)
pontoon_test(file_log_storage_test SOURCES file_log_storage_test.cc LIBS raft-storage LABELS unit)
pontoon_test(snapshot_storage_test SOURCES snapshot_storage_test.cc LIBS raft-storage LABELS unit)
pontoon_test(fault_injecting_log_storage_test SOURCES fault_injecting_log_storage_test.cc LIBS raft-storage LABELS unit)
pontoon_test(group_commit_syncer_test SOURCES group_commit_syncer_test.cc LIBS raft-storage LABELS unit)
