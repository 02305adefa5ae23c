// The OS boundary around one PostgreSQL server whose superuser is not trusted (a clone's default
// user is a superuser, as in DLE): the server runs in its own mount, pid and IPC namespaces.
//
// - Mount namespace: its root is an empty read-only tmpfs holding only the system directories
//   (/usr and /etc read-only, /bin, /lib... as on the host), a private /tmp and /dev/shm, a few
//   device nodes, a /proc of its own pid namespace, and the paths of the spec at the same paths
//   as on the host (so postmaster.pid, /proc/<pid>/cwd and error messages read the same).
//   Other clones, main data, snapshots, the pool root, the engine's state and config are not
//   in it at all.
// - Pid namespace: the server sees and can signal only its own processes. A small init process
//   (pid 1, not postgres) reaps orphans; postgres is pid 2 and writes 2 into postmaster.pid.
// - IPC namespace: no System V shared memory of other servers.
// - cgroups: the server joins the cgroup.procs files given (memory and CPU limits).
//
// The plan is computed before fork() (no allocation after it) and applied in the child.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace dblab {

struct SandboxSpec {
  std::vector<std::string> writable_paths;  // directories bound read-write at the same path
  std::vector<std::string> readable_paths;  // files or directories bound read-only
  // Paths inside the visible system directories to mask (an empty directory, or /dev/null for a
  // file): the engine's config file, /etc/dblab. Missing paths are skipped.
  std::vector<std::string> hidden_paths;
  std::vector<std::string> cgroup_procs_files;  // the server's cgroups (created by the caller)
  // Where the new root is assembled (an empty directory that exists on the host; mounts there
  // happen only in the server's own mount namespace).
  std::string staging_dir = "/run/dblab-sandbox";
};

// One mount-namespace step, with its paths already prefixed by the staging directory.
struct SandboxStep {
  enum class Kind { kMkdir, kTouch, kBind, kBindReadOnly, kSymlink, kTmpfs, kProc, kHide };
  Kind kind;
  std::string source;  // bind source, symlink value, or tmpfs options
  std::string target;
};

struct SandboxPlan {
  std::string staging_dir;
  std::vector<SandboxStep> steps;
  std::vector<std::string> cgroup_procs_files;
};

// Resolves the spec against the host's filesystem (symlinks are recreated, missing optional
// paths skipped) into the steps that build the new root. Fails when a writable or readable
// path does not exist.
Result<SandboxPlan> MakeSandboxPlan(const SandboxSpec& spec);

// Describes step `index` of `plan` for an error message ("bind /a at /b").
std::string DescribeSandboxStep(const SandboxPlan& plan, int index);

// In a child after fork(), already in its new mount namespace: builds the root and pivots into
// it. Async-signal-safe. Returns 0, or (step index + 1) << 16 | errno of the failing step.
int EnterSandboxRoot(const SandboxPlan& plan);

// Sandbox failures are reported through the exec error pipe as this bit plus the value above.
inline constexpr int kSandboxErrorFlag = 1 << 30;

}  // namespace dblab
