#include "platform/cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

namespace dblab {

namespace {

constexpr int64_t kCpuPeriodMicros = 100000;

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return OkStatus();
  return Internal("cannot create cgroup " + path + ": " + std::strerror(errno));
}

// cgroup files take one write of the whole value.
Status WriteValue(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  if (!out) {
    return Internal("cannot write '" + value + "' to " + path + ": " + std::strerror(errno) +
                    " (does the host enable this cgroup controller?)");
  }
  return OkStatus();
}

int64_t CpuQuota(double cpus) {
  return std::max<int64_t>(1000, std::llround(cpus * static_cast<double>(kCpuPeriodMicros)));
}

}  // namespace

std::string Cgroups::Layout() const {
  if (Exists(root_ + "/cgroup.controllers")) return "v2";
  if (Exists(root_ + "/memory") || Exists(root_ + "/cpu")) return "v1";
  return "";
}

Result<std::vector<std::string>> Cgroups::Prepare(const std::string& name,
                                                  const ResourceLimits& limits) {
  std::vector<std::string> procs;
  if (!limits.any()) return procs;
  std::string layout = Layout();
  if (layout.empty()) {
    return Unavailable("no cgroup hierarchy under " + root_ +
                       ": clone memory/CPU limits need cgroups (v2, or v1 memory and cpu)");
  }
  if (layout == "v2") {
    std::string parent = root_ + "/dblab";
    std::string controllers;
    if (limits.memory_bytes > 0) controllers += "+memory ";
    if (limits.cpus > 0) controllers += "+cpu ";
    controllers.pop_back();
    DBLAB_TRY(WriteValue(root_ + "/cgroup.subtree_control", controllers));
    DBLAB_TRY(MakeDir(parent));
    DBLAB_TRY(WriteValue(parent + "/cgroup.subtree_control", controllers));
    std::string group = parent + "/" + name;
    DBLAB_TRY(MakeDir(group));
    if (limits.memory_bytes > 0) {
      DBLAB_TRY(WriteValue(group + "/memory.max", std::to_string(limits.memory_bytes)));
      // Swapping would only slow a runaway query down instead of stopping it.
      if (Exists(group + "/memory.swap.max"))
        DBLAB_TRY(WriteValue(group + "/memory.swap.max", "0"));
    }
    if (limits.cpus > 0) {
      DBLAB_TRY(WriteValue(group + "/cpu.max", std::to_string(CpuQuota(limits.cpus)) + " " +
                                                   std::to_string(kCpuPeriodMicros)));
    }
    procs.push_back(group + "/cgroup.procs");
    return procs;
  }
  if (limits.memory_bytes > 0) {
    std::string group = root_ + "/memory/dblab/" + name;
    DBLAB_TRY(MakeDir(root_ + "/memory/dblab"));
    DBLAB_TRY(MakeDir(group));
    std::string bytes = std::to_string(limits.memory_bytes);
    DBLAB_TRY(WriteValue(group + "/memory.limit_in_bytes", bytes));
    if (Exists(group + "/memory.memsw.limit_in_bytes")) {
      DBLAB_TRY(WriteValue(group + "/memory.memsw.limit_in_bytes", bytes));
    }
    procs.push_back(group + "/cgroup.procs");
  }
  if (limits.cpus > 0) {
    std::string group = root_ + "/cpu/dblab/" + name;
    DBLAB_TRY(MakeDir(root_ + "/cpu/dblab"));
    DBLAB_TRY(MakeDir(group));
    DBLAB_TRY(WriteValue(group + "/cpu.cfs_period_us", std::to_string(kCpuPeriodMicros)));
    DBLAB_TRY(WriteValue(group + "/cpu.cfs_quota_us", std::to_string(CpuQuota(limits.cpus))));
    procs.push_back(group + "/cgroup.procs");
  }
  return procs;
}

void Cgroups::Remove(const std::string& name) {
  for (const char* hierarchy : {"/dblab/", "/memory/dblab/", "/cpu/dblab/"}) {
    rmdir((root_ + hierarchy + name).c_str());
  }
}

}  // namespace dblab
