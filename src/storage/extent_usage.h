// Bytes a copy-on-write tree holds on its own: the sum of file extents that no other subvolume
// or reflinked file shares (FIEMAP without FIEMAP_EXTENT_SHARED). Works on btrfs and on XFS
// reflinks. Walks the tree: meant for periodic housekeeping, never for the clone hot path.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace dblab {

Result<int64_t> ExclusiveBytes(const std::string& root);

}  // namespace dblab
