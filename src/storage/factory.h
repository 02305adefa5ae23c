// Picks and opens the pool backend named in the configuration. The only place that knows the
// concrete backend types; everything else sees PoolBackend.
// Ownership: the caller owns the returned backend. A pool mounted here (btrfs loop image) stays
// mounted after the backend and the process are gone, so that clones survive engine restarts;
// see storage/btrfs/loop_image.h to unmount it.
// Thread-safety: MakePoolBackend may run concurrently for different pools.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "platform/process.h"
#include "storage/backend.h"

namespace dblab {

struct PoolSpec {
  std::string mode = "btrfs";  // "btrfs", "zfs", "reflink", "overlay", "copy"
  std::string pool_name;       // e.g. "dblab_pool"
  std::string pool_path;       // absolute; the pool root (btrfs: the mount point)
  // btrfs: image to create, format and loop-mount on pool_path when pool_path is not btrfs yet.
  // Empty: pool_path must already be on btrfs.
  std::string image_path;
  int64_t image_size_bytes = 0;  // size of a new image (sparse); an existing one is kept as is
  uid_t data_owner_uid = 0;      // owner of main data: the OS user postgres runs as
  gid_t data_owner_gid = 0;
};

// Mounts (if needed) and prepares the pool, so main data exists with the right owner.
// kBadRequest for an unknown or not yet implemented mode, or an unusable pool path; kInternal
// when the OS fails (mkfs, loop, mount). `runner` is used during the call only.
Result<std::unique_ptr<PoolBackend>> MakePoolBackend(const PoolSpec& spec, ProcessRunner& runner);

}  // namespace dblab
