// Checks and file steps every pool backend shares.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace dblab {

// Checks a snapshot or clone name: 1-128 characters of [a-zA-Z0-9_.-], starting with a letter
// or digit, without "..". `kind` ("snapshot", "clone") goes into the kBadRequest message.
Status ValidateStorageName(const std::string& kind, const std::string& name);

// Creates one directory with `mode`; succeeds when a directory (not a symlink) is already there.
Status MakeDirectory(const std::string& path, mode_t mode = 0755);

// Makes the main data directory `data` owned by `owner`:`group` with mode 0700, touching only
// the top directory (retrieval writes as the owner); no-op when it already is.
Status SetMainDataOwner(const std::string& data, uid_t owner, gid_t group);

}  // namespace dblab
