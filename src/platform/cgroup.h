// Memory and CPU limits for one server, through the kernel's cgroups: the unified hierarchy
// (cgroup v2) where the host has it, else the v1 `memory` and `cpu` controllers (hybrid hosts).
// Each server gets `dblab/<name>` in every hierarchy a limit needs; the memory limit makes the
// kernel's OOM killer pick a process of that server only (a runaway query's backend), so other
// clones keep serving. Not thread-safe for the same name; different names are independent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace dblab {

struct ResourceLimits {
  int64_t memory_bytes = 0;  // 0: no limit
  double cpus = 0;           // CPU time per wall-clock second (1.5 = one and a half cores); 0: none
  bool any() const { return memory_bytes > 0 || cpus > 0; }
};

class Cgroups {
 public:
  // `root`: where the hierarchies are mounted (a temp dir with the same layout in tests).
  explicit Cgroups(std::string root = "/sys/fs/cgroup") : root_(std::move(root)) {}

  // "v2", "v1" or "" (no usable controllers) for this host.
  std::string Layout() const;

  // Creates dblab/<name> with `limits` and returns the cgroup.procs files a process writes its
  // PID into to join it (empty when there are no limits). Fails naming the file it could not
  // write, e.g. when the host has no memory controller.
  Result<std::vector<std::string>> Prepare(const std::string& name, const ResourceLimits& limits);

  // Removes dblab/<name> everywhere (after its processes are gone; missing is fine).
  void Remove(const std::string& name);

 private:
  std::string root_;
};

}  // namespace dblab
