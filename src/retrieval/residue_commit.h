// dblab commit without residue. A clone's data as its user left it holds what the user's
// masking UPDATE replaced (dead rows, index entries, WAL with full-page images). The clone is
// snapshotted as is ("raw", never published); a temporary copy of that snapshot is scrubbed
// like a retrieval's data (masking/residue.h) against a sample of the clone's parent snapshot,
// checked by the residue gate, and only that copy becomes the snapshot users see. The clone
// itself keeps serving throughout (on btrfs it is not even paused).
// Not thread-safe: the engine runs one commit at a time.
#pragma once

#include <functional>
#include <string>

#include "common/result.h"
#include "platform/process.h"
#include "postgres/server.h"
#include "storage/backend.h"

namespace dblab {

struct CommitScrubber {
  PoolBackend& pool;
  PostgresControl& postgres;
  ProcessRunner& runner;
  std::string socket_dir, hba_file, log_dir, os_user, superuser, pg_bin_dir;
  bool gate = true;  // global.residueGate
  std::function<void(const std::string&)> progress;

  // Makes snapshot `name` from snapshot `raw` (the committed clone), scrubbed of the values of
  // snapshot `parent` the clone replaced or deleted. On error no `name` exists; `raw` is left
  // to the caller. Temporary clones are named with kCommitScrubPrefix.
  Status Scrub(const std::string& parent, const std::string& raw, const std::string& name);
};

// Prefix of the temporary snapshots and clones a commit makes (they are never published).
inline constexpr const char* kCommitScrubPrefix = "residue-";

// Removes temporary snapshots an interrupted commit left (clones are removed as orphans).
void RemoveCommitLeftovers(PoolBackend& pool);

}  // namespace dblab
