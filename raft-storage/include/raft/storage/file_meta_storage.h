// FileRaftMetaStorage: a RaftMetaStorage keeping one replica's term and vote in one small
// checksummed file.
//
//   file := magic "PNTM" | version u8 (1) | term i64 LE | vote_size u16 LE | vote (PeerId text)
//           | crc32c u32 LE of every byte before it
//
// Each update writes `path`.tmp, fsyncs it, renames it over `path` and fsyncs the directory,
// so after a crash the file holds either the old or the new values, never a mix. A file that
// fails its checksum or cannot be parsed is reported as ECORRUPTION, never silently reset:
// forgetting a vote could let this replica vote twice in one term (Raft §5.2).
//
// Thread-safety: not thread-safe; the Node calls it from its own lane.
#pragma once

#include <memory>
#include <string>

#include "raft/log_storage.h"
#include "raft/peer_id.h"
#include "raft/status.h"
#include "raft/storage/file_system.h"
#include "raft/types.h"

namespace raft {

class FileRaftMetaStorage : public RaftMetaStorage {
 public:
  // Loads `path`. A missing file is a fresh replica (term 0, no vote). ECORRUPTION if the file
  // is damaged or malformed, EIO if it cannot be read. The directory must exist.
  static Result<std::unique_ptr<FileRaftMetaStorage>> open(const std::string& path);
  // The same on `fs` (the simulation passes its simulated disk).
  static Result<std::unique_ptr<FileRaftMetaStorage>> open(std::shared_ptr<FileSystem> fs,
                                                           const std::string& path);

  Term term() const override { return term_; }
  PeerId voted_for() const override { return voted_for_; }

  // REQUIRES: term >= term(); if term == term() and a vote was cast, voted_for == voted_for()
  // (a replica never votes twice in one term, Raft §5.2). Either is checked, and a violation
  // aborts: it would be a safety bug in the caller.
  Status set_term_and_voted_for(Term term, const PeerId& voted_for) override;

  const std::string& path() const { return path_; }

 private:
  FileRaftMetaStorage(std::shared_ptr<FileSystem> fs, std::string path, Term term,
                      PeerId voted_for);

  const std::shared_ptr<FileSystem> fs_;
  const std::string path_;
  // Invariant: what `path_` holds (or term 0 and no vote if it does not exist).
  Term term_;
  PeerId voted_for_;
};

}  // namespace raft
