// Small durable file writes. Thread-safe for different paths.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace dblab {

// Writes `content` to `path` with `mode` atomically: a temp file beside it, fsync, rename, so a
// reader or a crash sees either the old or the new file, never a partial one.
Status WriteFileAtomically(const std::string& path, const std::string& content, mode_t mode);

}  // namespace dblab
