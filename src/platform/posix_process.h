// The real ProcessRunner: fork/execve with everything prepared before fork (safe in a threaded
// daemon). Thread-safe. Children get a clean signal mask and their own process group.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "platform/process.h"

namespace dblab {

struct OsUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::vector<gid_t> groups;
};

// kNotFound when the user does not exist.
Result<OsUser> LookupOsUser(const std::string& name);

class PosixProcessRunner : public ProcessRunner {
 public:
  Result<RunResult> Run(const std::vector<std::string>& argv,
                        const RunOptions& options = {}) override;
  Result<pid_t> SpawnDetached(const std::vector<std::string>& argv,
                              const SpawnOptions& options) override;
};

}  // namespace dblab
