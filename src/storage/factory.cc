#include "storage/factory.h"

#include "storage/btrfs/btrfs_pool.h"
#include "storage/btrfs/loop_image.h"
#include "storage/tree/overlay_pool.h"
#include "storage/tree/tree_pool.h"
#include "storage/zfs/zfs_pool.h"

namespace dblab {
namespace {

Result<std::unique_ptr<PoolBackend>> MakeBtrfsPool(const PoolSpec& spec, ProcessRunner& runner) {
  DBLAB_ASSIGN_OR_RETURN(
      MountedImage mounted,
      EnsureBtrfsMount(runner, spec.pool_path, spec.image_path, spec.image_size_bytes));
  auto pool = std::make_unique<BtrfsPool>(spec.pool_name, mounted.mount_path);
  DBLAB_TRY(pool->Prepare(spec.data_owner_uid, spec.data_owner_gid));
  return std::unique_ptr<PoolBackend>(std::move(pool));
}

}  // namespace

Result<std::unique_ptr<PoolBackend>> MakePoolBackend(const PoolSpec& spec, ProcessRunner& runner) {
  if (spec.pool_name.empty()) return BadRequest("pool name is empty; name the pool");
  if (spec.pool_path.empty() || spec.pool_path.front() != '/') {
    return BadRequest("pool " + spec.pool_name + " path \"" + spec.pool_path +
                      "\" must be an absolute path");
  }
  if (spec.mode == "btrfs") {
    auto pool = MakeBtrfsPool(spec, runner);
    if (!pool.ok()) return pool.error().Wrap("open btrfs pool " + spec.pool_name);
    return pool;
  }
  if (spec.mode == "zfs") {
    auto pool = MakeZfsPool(spec, runner);
    if (!pool.ok()) return pool.error().Wrap("open zfs pool " + spec.pool_name);
    return pool;
  }
  if (spec.mode == "reflink" || spec.mode == "overlay" || spec.mode == "copy") {
    auto pool = spec.mode == "reflink"   ? MakeReflinkPool(spec, runner)
                : spec.mode == "overlay" ? MakeOverlayPool(spec, runner)
                                         : MakeCopyPool(spec, runner);
    if (!pool.ok()) return pool.error().Wrap("open " + spec.mode + " pool " + spec.pool_name);
    return pool;
  }
  return BadRequest("unknown storage backend \"" + spec.mode +
                    "\"; use one of btrfs, zfs, reflink, overlay, copy");
}

}  // namespace dblab
