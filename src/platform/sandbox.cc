#include "platform/sandbox.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

namespace dblab {

namespace {

using Kind = SandboxStep::Kind;

bool IsUnder(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         (dir == "/" || path[dir.size()] == '/'));
}

std::string Parent(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

class PlanBuilder {
 public:
  explicit PlanBuilder(std::string staging) { plan_.staging_dir = std::move(staging); }

  void Add(Kind kind, const std::string& source, const std::string& path) {
    plan_.steps.push_back({kind, source, plan_.staging_dir + path});
  }

  // Mount points for `path`: every missing ancestor directory in the new root, then the
  // directory or file itself. Inside a tree that is already bound, the host's copy of the
  // directory is there already.
  void MakeMountPoint(const std::string& path, bool is_dir) {
    for (const auto& bound : bound_trees_) {
      if (IsUnder(path, bound)) return;
    }
    std::string parent = Parent(path);
    if (parent != "/" && !made_.count(parent)) MakeMountPoint(parent, true);
    if (made_.insert(path).second) Add(is_dir ? Kind::kMkdir : Kind::kTouch, "", path);
  }

  void Bind(const std::string& path, bool writable, bool is_dir) {
    MakeMountPoint(path, is_dir);
    Add(writable ? Kind::kBind : Kind::kBindReadOnly, path, path);
    bound_trees_.push_back(path);
  }

  void Symlink(const std::string& path, const std::string& value) {
    std::string parent = Parent(path);
    if (parent != "/") MakeMountPoint(parent, true);
    if (made_.insert(path).second) Add(Kind::kSymlink, value, path);
  }

  // A spec path: bound at the same path; a symlink is recreated and its target bound.
  Status AddPath(const std::string& path, bool writable) {
    if (path.empty() || path[0] != '/') return BadRequest("sandbox path must be absolute: " + path);
    struct stat link_info;
    if (lstat(path.c_str(), &link_info) != 0) {
      return NotFound("sandbox path " + path + " does not exist");
    }
    if (S_ISLNK(link_info.st_mode)) {
      char value[PATH_MAX];
      ssize_t n = readlink(path.c_str(), value, sizeof value - 1);
      char real[PATH_MAX];
      if (n <= 0 || realpath(path.c_str(), real) == nullptr) {
        return NotFound("sandbox path " + path + " is a dangling symlink");
      }
      value[n] = '\0';
      DBLAB_TRY(AddPath(real, writable));
      Symlink(path, value);
      return OkStatus();
    }
    Bind(path, writable, S_ISDIR(link_info.st_mode));
    return OkStatus();
  }

  void Hide(const std::string& path) {
    struct stat info;
    if (lstat(path.c_str(), &info) != 0 || S_ISLNK(info.st_mode)) return;
    bool visible = false;
    for (const auto& bound : bound_trees_) visible = visible || IsUnder(path, bound);
    // Inside a directory hidden already (the config file in /etc/dblab) there is nothing left.
    for (const auto& hidden : hidden_dirs_) visible = visible && !IsUnder(path, hidden);
    if (!visible) return;
    Add(Kind::kHide, S_ISDIR(info.st_mode) ? "" : "/dev/null", path);
    if (S_ISDIR(info.st_mode)) hidden_dirs_.push_back(path);
  }

  void MarkBound(const std::string& tree) { bound_trees_.push_back(tree); }
  void MarkMade(const std::string& dir) { made_.insert(dir); }
  SandboxPlan Take() { return std::move(plan_); }

 private:
  SandboxPlan plan_;
  std::vector<std::string> bound_trees_;
  std::vector<std::string> hidden_dirs_;
  std::set<std::string> made_;
};

}  // namespace

Result<SandboxPlan> MakeSandboxPlan(const SandboxSpec& spec) {
  if (spec.staging_dir.empty() || spec.staging_dir[0] != '/') {
    return BadRequest("sandbox staging directory must be absolute");
  }
  if (mkdir(spec.staging_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Internal("cannot create " + spec.staging_dir + ": " + std::strerror(errno));
  }
  PlanBuilder builder(spec.staging_dir);
  // The system, read-only: programs, libraries, the dynamic loader's cache, users, time zones.
  for (const char* tree : {"/usr", "/etc"}) builder.Bind(tree, /*writable=*/false, true);
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    struct stat info;
    if (lstat(top, &info) != 0) continue;
    if (S_ISLNK(info.st_mode)) {
      char value[PATH_MAX];
      ssize_t n = readlink(top, value, sizeof value - 1);
      if (n <= 0) continue;
      value[n] = '\0';
      builder.Symlink(top, value);
    } else if (S_ISDIR(info.st_mode)) {
      builder.Bind(top, /*writable=*/false, true);
    }
  }
  // A /dev with the harmless nodes only, a private /dev/shm, /tmp and a /proc of its own.
  builder.Add(Kind::kMkdir, "", "/dev");
  builder.Add(Kind::kTmpfs, "mode=0755,size=64k", "/dev");
  builder.MarkBound("/dev");
  for (const char* node : {"null", "zero", "full", "random", "urandom"}) {
    builder.Add(Kind::kTouch, "", std::string("/dev/") + node);
    builder.Add(Kind::kBind, std::string("/dev/") + node, std::string("/dev/") + node);
  }
  builder.Add(Kind::kSymlink, "/proc/self/fd", "/dev/fd");
  builder.Add(Kind::kSymlink, "/proc/self/fd/0", "/dev/stdin");
  builder.Add(Kind::kSymlink, "/proc/self/fd/1", "/dev/stdout");
  builder.Add(Kind::kSymlink, "/proc/self/fd/2", "/dev/stderr");
  builder.Add(Kind::kMkdir, "", "/dev/shm");
  builder.Add(Kind::kTmpfs, "mode=1777", "/dev/shm");
  builder.Add(Kind::kMkdir, "", "/proc");
  builder.Add(Kind::kProc, "", "/proc");
  builder.MarkBound("/proc");
  builder.Add(Kind::kMkdir, "", "/tmp");
  builder.Add(Kind::kTmpfs, "mode=1777", "/tmp");
  builder.MarkMade("/tmp");
  for (const auto& path : spec.writable_paths) DBLAB_TRY(builder.AddPath(path, true));
  for (const auto& path : spec.readable_paths) DBLAB_TRY(builder.AddPath(path, false));
  for (const auto& path : spec.hidden_paths) builder.Hide(path);
  builder.Add(Kind::kMkdir, "", "/.oldroot");
  SandboxPlan plan = builder.Take();
  plan.cgroup_procs_files = spec.cgroup_procs_files;
  return plan;
}

std::string DescribeSandboxStep(const SandboxPlan& plan, int index) {
  if (index < 0) return "joining its cgroups and namespaces, or preparing " + plan.staging_dir;
  if (index >= static_cast<int>(plan.steps.size())) return "switching to the new root";
  const SandboxStep& step = plan.steps[static_cast<size_t>(index)];
  switch (step.kind) {
    case Kind::kMkdir:
      return "mkdir " + step.target;
    case Kind::kTouch:
      return "create " + step.target;
    case Kind::kBind:
      return "bind " + step.source + " at " + step.target;
    case Kind::kBindReadOnly:
      return "bind " + step.source + " read-only at " + step.target;
    case Kind::kSymlink:
      return "symlink " + step.target + " -> " + step.source;
    case Kind::kTmpfs:
      return "tmpfs at " + step.target;
    case Kind::kProc:
      return "proc at " + step.target;
    case Kind::kHide:
      return "hide " + step.target;
  }
  return "?";
}

namespace {

int RunStep(const SandboxStep& step) {
  const char* target = step.target.c_str();
  constexpr unsigned long kBindFlags = MS_BIND | MS_REC;
  switch (step.kind) {
    case Kind::kMkdir:
      return mkdir(target, 0755) == 0 || errno == EEXIST ? 0 : errno;
    case Kind::kTouch: {
      int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) return errno;
      close(fd);
      return 0;
    }
    case Kind::kBind:
      if (mount(step.source.c_str(), target, nullptr, kBindFlags, nullptr) != 0) return errno;
      // No setuid programs in the sandbox: su/sudo could otherwise become root in it.
      return mount(nullptr, target, nullptr, MS_BIND | MS_REMOUNT | MS_NOSUID, nullptr) == 0
                 ? 0
                 : errno;
    case Kind::kBindReadOnly:
      if (mount(step.source.c_str(), target, nullptr, kBindFlags, nullptr) != 0) return errno;
      return mount(nullptr, target, nullptr,
                   MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) == 0
                 ? 0
                 : errno;
    case Kind::kSymlink:
      return symlink(step.source.c_str(), target) == 0 || errno == EEXIST ? 0 : errno;
    case Kind::kTmpfs:
      return mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, step.source.c_str()) == 0
                 ? 0
                 : errno;
    case Kind::kProc:
      return mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0 ? 0
                                                                                           : errno;
    case Kind::kHide:
      if (step.source.empty()) {
        return mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     "size=4k,mode=0555") == 0
                   ? 0
                   : errno;
      }
      if (mount(step.source.c_str(), target, nullptr, MS_BIND, nullptr) != 0) return errno;
      return mount(nullptr, target, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0
                 ? 0
                 : errno;
  }
  return EINVAL;
}

int Failure(int index, int err) { return ((index + 1) << 16) | (err & 0xffff); }

}  // namespace

int EnterSandboxRoot(const SandboxPlan& plan) {
  const char* staging = plan.staging_dir.c_str();
  // Nothing mounted here may propagate back to the host.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return Failure(-1, errno);
  if (mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") != 0) {
    return Failure(-1, errno);
  }
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    if (int err = RunStep(plan.steps[i])) return Failure(static_cast<int>(i), err);
  }
  int last = static_cast<int>(plan.steps.size());
  if (chdir(staging) != 0) return Failure(last, errno);
  if (syscall(SYS_pivot_root, ".", ".oldroot") == 0) {
    if (chdir("/") != 0) return Failure(last, errno);
    if (umount2("/.oldroot", MNT_DETACH) != 0) return Failure(last, errno);
  } else if (errno == EINVAL) {
    // The engine itself runs in a chroot (its root is no mount point): move the new root over
    // it instead. What lies below stays covered; the server cannot unmount it.
    if (mount(staging, "/", nullptr, MS_MOVE, nullptr) != 0) return Failure(last, errno);
    if (chroot(".") != 0 || chdir("/") != 0) return Failure(last, errno);
  } else {
    return Failure(last, errno);
  }
  if (rmdir("/.oldroot") != 0) return Failure(last, errno);
  // The root itself holds only mount points: read-only.
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
    return Failure(last, errno);
  }
  return 0;
}

}  // namespace dblab
