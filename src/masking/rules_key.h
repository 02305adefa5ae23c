// The masking key: 32 random bytes that make dblab's masking deterministic (the same original
// gives the same masked value everywhere, every refresh) without being reversible by anyone who
// lacks it. Kept in a file only root can read (0600, owned by the engine's user), generated from
// the OS CSPRNG (getrandom) the first time masking needs it. Thread-compatible: the engine's one
// retrieval thread is its only caller.
#pragma once

#include <string>

#include "common/result.h"

namespace dblab {

inline constexpr size_t kMaskingKeyBytes = 32;

// Reads the key at `path` (64 hex digits), or creates it when the file does not exist (its
// directory too, 0700). Refuses a file that others could read or that another user owns
// (kBadRequest, saying how to fix it), and a malformed one (kBadRequest: it is never replaced,
// since a new key would change every masked value).
Result<std::string> LoadOrCreateMaskingKey(const std::string& path);

}  // namespace dblab
