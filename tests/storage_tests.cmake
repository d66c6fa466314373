# raft-storage: the LogStorage contract against every implementation, the record codec, and
# RaftMetaStorage.
pontoon_test(log_storage_test SOURCES log_storage_test.cc LIBS raft-storage LABELS unit)
pontoon_test(meta_storage_test SOURCES meta_storage_test.cc LIBS raft-storage LABELS unit)
pontoon_test(snapshot_storage_test SOURCES snapshot_storage_test.cc LIBS raft-storage
             LABELS unit)
