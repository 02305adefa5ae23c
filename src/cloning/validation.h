// Input validation for everything a user can name: clone ids, user names, database names,
// passwords. Each returns kBadRequest with a message that names the field and the rule.
#pragma once

#include <cstddef>
#include <string>

#include "common/random.h"
#include "common/result.h"

namespace dblab {

// ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$, at most 64 characters (DLE's rule plus a length cap).
Status ValidateCloneId(const std::string& id);
// PostgreSQL role names we create: ^[a-zA-Z_][a-zA-Z0-9_.-]*$, at most 63 bytes, not reserved.
Status ValidateUsername(const std::string& username, const std::string& reserved_superuser);
// Database names: 1-63 bytes, no NUL, no control characters.
Status ValidateDatabaseName(const std::string& name);
// 0 (empty) .. 4 (long, several character classes). A rough guard, not a promise.
int PasswordStrength(const std::string& password);
Status ValidatePassword(const std::string& password, int min_strength);
// Random ids, tokens and passwords like "d4qk1m2x0d9c...": lowercase letters and digits, the
// first a letter (so it is an identifier everywhere). Every character comes from `source`
// (DefaultRandom(): the OS CSPRNG), uniformly. kSecretIdLength characters carry >= 128 bits.
constexpr size_t kSecretIdLength = 25;
std::string GenerateId(size_t length = kSecretIdLength, RandomSource& source = DefaultRandom());
// The entropy of GenerateId(length) in bits: log2(26) + (length - 1) * log2(36).
double GeneratedIdBits(size_t length);

}  // namespace dblab
