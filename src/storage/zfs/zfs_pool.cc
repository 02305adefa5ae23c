#include "storage/zfs/zfs_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>
#include <utility>

#include "platform/posix_process.h"
#include "storage/pool_files.h"

namespace dblab {
namespace {

// The smallest vdev ZFS accepts (SPA_MINDEVSIZE).
constexpr int64_t kMinImageBytes = 64LL << 20;
// A zfs command that hangs (a wedged zfs-fuse daemon) must not hang the engine forever.
constexpr std::chrono::minutes kCommandTimeout{10};

const char kUnusableAdvice[] =
    "; load the ZFS kernel module (`modprobe zfs`, package zfsutils-linux) or start the zfs-fuse "
    "daemon (`zfs-fuse --pidfile /run/zfs-fuse.pid`, package zfs-fuse)";

bool Contains(const std::string& text, const char* needle) {
  return text.find(needle) != std::string::npos;
}

std::string Trimmed(const std::string& text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

// stderr (or stdout when stderr is empty) on one line, for error messages.
std::string Said(const RunResult& result) {
  std::string text = Trimmed(result.err.empty() ? result.out : result.err);
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\t', ' ');
  if (text.size() > 1500) text = "..." + text.substr(text.size() - 1500);
  return text;
}

Error CommandFailed(const std::vector<std::string>& argv, const RunResult& result) {
  std::string message = "`" + DescribeCommand(argv) + "` failed (exit " +
                        std::to_string(result.exit_code) + "): " + Said(result);
  if (ClassifyZfsFailure(result.err) == ZfsFailure::kZfsUnusable) {
    return Unavailable("ZFS is not usable: " + message + kUnusableAdvice);
  }
  return Internal(message);
}

// Runs a zfs or zpool command; an error only when it cannot run at all.
Result<RunResult> RunZfsCommand(ProcessRunner& runner, const std::vector<std::string>& argv) {
  RunOptions options;
  options.timeout = kCommandTimeout;
  auto result = runner.Run(argv, options);
  if (!result.ok()) {
    return Unavailable("cannot run `" + DescribeCommand(argv) + "`: " + result.error().message +
                       "; install zfsutils-linux (kernel ZFS) or zfs-fuse");
  }
  return result;
}

// zpool names: a letter first, then letters, digits, '_', '-', '.', ':'; nothing that could
// be read as an option, a path or a dataset.
Status ValidatePoolName(const std::string& name) {
  auto allowed = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == ':';
  };
  if (!name.empty() && name.size() <= 200 && std::isalpha(static_cast<unsigned char>(name[0])) &&
      std::all_of(name.begin(), name.end(), allowed)) {
    return OkStatus();
  }
  return BadRequest("invalid ZFS pool name \"" + name +
                    "\": use a letter, then letters, digits, '_', '-', '.' or ':'");
}

Status CreateSparseImage(const std::string& image_path, int64_t size_bytes) {
  if (size_bytes < kMinImageBytes) {
    return BadRequest("cannot create ZFS pool image " + image_path + ": size " +
                      std::to_string(size_bytes) + " bytes is below ZFS's minimum of 64 MiB; " +
                      "raise the image size");
  }
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(image_path).parent_path(), error);
  if (error) {
    return Internal("cannot create the directory of ZFS pool image " + image_path + ": " +
                    error.message());
  }
  int fd = ::open(image_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Internal("cannot create ZFS pool image " + image_path + ": " + std::strerror(errno));
  }
  int truncated = ::ftruncate(fd, size_bytes);
  int saved_errno = errno;
  ::close(fd);
  if (truncated != 0) {
    ::unlink(image_path.c_str());
    return Internal("cannot size ZFS pool image " + image_path + " to " +
                    std::to_string(size_bytes) + " bytes: " + std::strerror(saved_errno));
  }
  return OkStatus();
}

// Imports `spec.pool_name`, or creates it on a new image; a no-op when it is imported.
Status EnsureZpool(ProcessRunner& runner, const PoolSpec& spec, const std::string& pool_path) {
  const std::string& name = spec.pool_name;
  std::vector<std::string> list = {"zpool", "list", "-H", "-o", "name", name};
  DBLAB_ASSIGN_OR_RETURN(RunResult listed, RunZfsCommand(runner, list));
  if (listed.exit_code == 0) return OkStatus();
  if (ClassifyZfsFailure(listed.err) != ZfsFailure::kNotFound) return CommandFailed(list, listed);

  if (spec.image_path.empty()) {
    std::vector<std::string> import = {"zpool", "import", name};
    DBLAB_ASSIGN_OR_RETURN(RunResult imported, RunZfsCommand(runner, import));
    if (imported.exit_code == 0) return OkStatus();
    return BadRequest("zpool " + name + " is not imported and `zpool import " + name +
                      "` cannot import it (" + Said(imported) + "); create it with `zpool " +
                      "create -m " + pool_path + " " + name + " <device>` or configure a pool " +
                      "image");
  }

  struct stat image {};
  bool created_image = false;
  if (::stat(spec.image_path.c_str(), &image) == 0) {
    if (!S_ISREG(image.st_mode)) {
      return BadRequest("ZFS pool image " + spec.image_path + " exists but is not a regular file");
    }
    const std::string directory = std::filesystem::path(spec.image_path).parent_path().string();
    std::vector<std::string> import = {"zpool", "import", "-d", directory, name};
    DBLAB_ASSIGN_OR_RETURN(RunResult imported, RunZfsCommand(runner, import));
    if (imported.exit_code == 0) return OkStatus();
    if (Contains(imported.err, "'-f'")) {
      // "pool may be in use from other system": the image is a local file that only this host
      // opens, so the pool was left imported by a crash or a daemon restart.
      import.insert(import.begin() + 2, "-f");
      DBLAB_ASSIGN_OR_RETURN(imported, RunZfsCommand(runner, import));
      if (imported.exit_code == 0) return OkStatus();
    }
    // An image that holds no pool yet (say, a crash before `zpool create`) is created below;
    // zpool create refuses a file that belongs to another pool.
    if (ClassifyZfsFailure(imported.err) != ZfsFailure::kNotFound) {
      return CommandFailed(import, imported);
    }
  } else if (errno == ENOENT) {
    DBLAB_TRY(CreateSparseImage(spec.image_path, spec.image_size_bytes));
    created_image = true;
  } else {
    return Internal("cannot stat ZFS pool image " + spec.image_path + ": " + std::strerror(errno));
  }

  std::vector<std::string> create = {"zpool", "create", "-m", pool_path, name, spec.image_path};
  DBLAB_ASSIGN_OR_RETURN(RunResult created, RunZfsCommand(runner, create));
  if (created.exit_code != 0) {
    if (created_image) ::unlink(spec.image_path.c_str());
    return CommandFailed(create, created);
  }
  return OkStatus();
}

Result<std::unique_ptr<PoolBackend>> OpenZfsPool(const PoolSpec& spec,
                                                 std::shared_ptr<ProcessRunner> runner,
                                                 ProcessRunner& setup_runner) {
  DBLAB_TRY(ValidatePoolName(spec.pool_name));
  std::string pool_path = spec.pool_path;
  while (pool_path.size() > 1 && pool_path.back() == '/') pool_path.pop_back();
  if (pool_path.empty() || pool_path.front() != '/' || pool_path == "/") {
    return BadRequest("ZFS pool " + spec.pool_name + " path \"" + spec.pool_path +
                      "\" must be an absolute path below /");
  }
  if (!spec.image_path.empty() && spec.image_path.front() != '/') {
    return BadRequest("ZFS pool image path \"" + spec.image_path + "\" must be an absolute path");
  }
  DBLAB_TRY(EnsureZpool(setup_runner, spec, pool_path));
  auto pool = std::make_unique<ZfsPool>(spec.pool_name, pool_path, std::move(runner));
  DBLAB_TRY(pool->Prepare(spec.data_owner_uid, spec.data_owner_gid));
  return std::unique_ptr<PoolBackend>(std::move(pool));
}

}  // namespace

ZfsFailure ClassifyZfsFailure(const std::string& text) {
  if (Contains(text, "modules are not loaded") || Contains(text, "zfs-fuse daemon") ||
      Contains(text, "failed to initialize ZFS library") || Contains(text, "/dev/zfs")) {
    return ZfsFailure::kZfsUnusable;
  }
  if (Contains(text, "dependent clones")) return ZfsFailure::kHasClones;
  if (Contains(text, "already exists")) return ZfsFailure::kExists;
  if (Contains(text, "already mounted")) return ZfsFailure::kAlreadyMounted;
  if (Contains(text, "not currently mounted")) return ZfsFailure::kNotMounted;
  if (Contains(text, "does not exist") || Contains(text, "could not find any snapshots") ||
      Contains(text, "no such pool")) {
    return ZfsFailure::kNotFound;
  }
  if (Contains(text, "busy") || Contains(text, "umount failed")) return ZfsFailure::kBusy;
  return ZfsFailure::kOther;
}

Result<int64_t> ParseZfsInteger(const std::string& output) {
  std::string text = Trimmed(output);
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0) {
    return Internal("cannot parse \"" + text + "\" as a byte count from zfs -p output");
  }
  return value;
}

std::vector<std::string> ParseChildNames(const std::string& output, const std::string& prefix) {
  std::vector<std::string> names;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    line = Trimmed(line);
    if (line.size() <= prefix.size() || line.compare(0, prefix.size(), prefix) != 0) continue;
    std::string name = line.substr(prefix.size());
    if (name.find_first_of("/@") != std::string::npos) continue;
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::map<std::string, std::string> ParseSnapshotList(const std::string& output,
                                                     const std::string& pool) {
  auto is_child_of = [](const std::string& dataset, const std::string& parent) {
    return dataset.size() > parent.size() && dataset.compare(0, parent.size(), parent) == 0 &&
           dataset.find('/', parent.size()) == std::string::npos;
  };
  std::map<std::string, std::string> snapshots;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string full, deferred;
    if (!std::getline(fields, full, '\t')) continue;
    std::getline(fields, deferred);
    full = Trimmed(full);
    deferred = Trimmed(deferred);
    size_t at = full.find('@');
    if (at == std::string::npos || at + 1 == full.size() || deferred == "on" || deferred == "yes") {
      continue;
    }
    std::string dataset = full.substr(0, at);
    if (dataset != pool + "/data" && !is_child_of(dataset, pool + "/commits/")) {
      continue;
    }
    snapshots.emplace(full.substr(at + 1), full);
  }
  return snapshots;
}

Result<StorageUsage> ParseZfsUsage(const std::string& output) {
  std::map<std::string, std::string> values;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    size_t tab = line.find('\t');
    if (tab != std::string::npos) values[line.substr(0, tab)] = line.substr(tab + 1);
  }
  if (!values.count("used") || !values.count("available")) {
    return Internal("cannot parse pool usage from zfs output \"" + Trimmed(output) + "\"");
  }
  DBLAB_ASSIGN_OR_RETURN(int64_t used, ParseZfsInteger(values["used"]));
  DBLAB_ASSIGN_OR_RETURN(int64_t available, ParseZfsInteger(values["available"]));
  StorageUsage usage;
  usage.used = used;
  usage.free = available;
  usage.size = used + available;
  return usage;
}

Result<std::unique_ptr<PoolBackend>> MakeZfsPool(const PoolSpec& spec, ProcessRunner& runner) {
  return OpenZfsPool(spec, std::make_shared<PosixProcessRunner>(), runner);
}

Result<std::unique_ptr<PoolBackend>> MakeZfsPool(const PoolSpec& spec,
                                                 std::shared_ptr<ProcessRunner> runner) {
  ProcessRunner& setup = *runner;
  return OpenZfsPool(spec, std::move(runner), setup);
}

ZfsPool::ZfsPool(std::string pool_name, std::string pool_path,
                 std::shared_ptr<ProcessRunner> runner)
    : pool_name_(std::move(pool_name)),
      pool_path_(std::move(pool_path)),
      runner_(std::move(runner)) {
  while (pool_path_.size() > 1 && pool_path_.back() == '/') pool_path_.pop_back();
}

void ZfsPool::SetBusyRetry(int attempts, std::chrono::milliseconds delay,
                           std::function<void(std::chrono::milliseconds)> sleep) {
  busy_attempts_ = std::max(1, attempts);
  busy_delay_ = delay;
  sleep_ = std::move(sleep);
}

std::string ZfsPool::MainDataPath() const { return pool_path_ + "/data"; }
std::string ZfsPool::SnapshotPath(const std::string& name) const {
  return pool_path_ + "/data/.zfs/snapshot/" + name;
}
std::string ZfsPool::ClonePath(const std::string& clone) const {
  return pool_path_ + "/clones/" + clone;
}
std::string ZfsPool::SnapshotDataset(const std::string& name) const {
  return DataDataset() + "@" + name;
}
std::string ZfsPool::CloneDataset(const std::string& clone) const {
  return ClonesDataset() + "/" + clone;
}

Result<RunResult> ZfsPool::Zfs(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"zfs"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunZfsCommand(*runner_, argv);
}

Status ZfsPool::Prepare(uid_t owner, gid_t group) {
  std::vector<std::string> get_root = {"get", "-H", "-o", "value", "mountpoint", pool_name_};
  DBLAB_ASSIGN_OR_RETURN(RunResult root, Zfs(get_root));
  if (root.exit_code != 0) {
    if (ClassifyZfsFailure(root.err) == ZfsFailure::kNotFound) {
      return Unavailable("zpool " + pool_name_ + " is not imported (" + Said(root) +
                         "); import or create it first");
    }
    return CommandFailed({"zfs", "get", "mountpoint", pool_name_}, root);
  }
  if (Trimmed(root.out) != pool_path_) {
    return BadRequest("zpool " + pool_name_ + " is mounted at " + Trimmed(root.out) + ", not " +
                      pool_path_ + "; point the pool path there or run `zfs set mountpoint=" +
                      pool_path_ + " " + pool_name_ + "`");
  }
  for (const std::string& dataset : {DataDataset(), ClonesDataset()}) {
    std::vector<std::string> create = {"create", dataset};
    DBLAB_ASSIGN_OR_RETURN(RunResult created, Zfs(create));
    if (created.exit_code != 0 && ClassifyZfsFailure(created.err) != ZfsFailure::kExists) {
      return CommandFailed({"zfs", "create", dataset}, created);
    }
  }

  // Where each filesystem is (to be) mounted, and whether it is: an import or a zfs-fuse
  // restart can leave datasets unmounted, clones included.
  std::vector<std::string> list = {"list", "-H",         "-o", "name,mountpoint,mounted",
                                   "-t",   "filesystem", "-r", pool_name_};
  DBLAB_ASSIGN_OR_RETURN(RunResult listed, Zfs(list));
  if (listed.exit_code != 0) return CommandFailed({"zfs", "list", pool_name_}, listed);
  std::map<std::string, std::pair<std::string, std::string>> filesystems;  // sorted: parents first
  std::istringstream lines(listed.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string dataset, mountpoint, mounted;
    if (std::getline(fields, dataset, '\t') && std::getline(fields, mountpoint, '\t') &&
        std::getline(fields, mounted)) {
      filesystems[dataset] = {mountpoint, mounted};
    }
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {pool_name_, pool_path_},
      {DataDataset(), MainDataPath()},
      {ClonesDataset(), pool_path_ + "/clones"}};
  for (const auto& [dataset, path] : expected) {
    if (filesystems[dataset].first != path) {
      return BadRequest("ZFS dataset " + dataset + " is mounted at \"" +
                        filesystems[dataset].first + "\", not " + path +
                        "; run `zfs inherit mountpoint " + dataset + "`");
    }
  }
  for (const auto& [dataset, state] : filesystems) {
    // Only what dblab made: other datasets in the pool are the administrator's business.
    bool ours = dataset == pool_name_ || dataset == DataDataset() || dataset == ClonesDataset() ||
                dataset.rfind(ClonesDataset() + "/", 0) == 0;
    if (!ours || state.second != "no" || state.first == "none" || state.first == "legacy") {
      continue;
    }
    DBLAB_ASSIGN_OR_RETURN(RunResult mounted, Zfs({"mount", dataset}));
    if (mounted.exit_code != 0 && ClassifyZfsFailure(mounted.err) != ZfsFailure::kAlreadyMounted) {
      return CommandFailed({"zfs", "mount", dataset}, mounted);
    }
  }

  const std::string data = MainDataPath();
  return SetMainDataOwner(data, owner, group);
}

Status ZfsPool::CreateSnapshot(const std::string& name) {
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  std::vector<std::string> args = {"snapshot", SnapshotDataset(name)};
  DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs(args));
  if (result.exit_code == 0) return OkStatus();
  switch (ClassifyZfsFailure(result.err)) {
    case ZfsFailure::kExists:
      return Conflict("snapshot " + name + " already exists in pool " + pool_name_ +
                      "; choose another name or destroy it first");
    case ZfsFailure::kNotFound:
      return Unavailable("pool " + pool_name_ + " has no main data dataset " + DataDataset() +
                         "; prepare the pool before taking snapshots");
    default:
      return CommandFailed({"zfs", "snapshot", SnapshotDataset(name)}, result);
  }
}

void ZfsPool::SleepBeforeRetry() {
  if (sleep_) {
    sleep_(busy_delay_);
  } else {
    std::this_thread::sleep_for(busy_delay_);
  }
}

Result<RunResult> ZfsPool::RunWhileBusy(const std::vector<std::string>& args) {
  for (int attempt = 1;; ++attempt) {
    DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs(args));
    if (result.exit_code == 0 || attempt >= busy_attempts_ ||
        ClassifyZfsFailure(result.err) != ZfsFailure::kBusy) {
      return result;
    }
    SleepBeforeRetry();
  }
}

Result<RunResult> ZfsPool::Unmount(const std::string& dataset) {
  DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs({"unmount", dataset}));
  if (result.exit_code != 0 && ClassifyZfsFailure(result.err) == ZfsFailure::kNotMounted) {
    result.exit_code = 0;
  }
  return result;
}

Status ZfsPool::CreateSnapshotOfClone(const std::string& clone, const std::string& name) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  // One namespace for snapshots of main data and commits: the engine names them by name only.
  Result<std::string> existing = FindSnapshot(name);
  if (existing.ok()) {
    return Conflict("snapshot " + name + " already exists in pool " + pool_name_ + " (" +
                    *existing + "); choose another name or destroy it first");
  }
  if (existing.error().code != ErrorCode::kNotFound) return existing.error();
  const std::string taken = CloneDataset(clone) + "@" + name;
  const std::string commit = CommitDataset(name);
  DBLAB_ASSIGN_OR_RETURN(RunResult snapshot, Zfs({"snapshot", taken}));
  if (snapshot.exit_code != 0) {
    switch (ClassifyZfsFailure(snapshot.err)) {
      case ZfsFailure::kExists:
        return Conflict("snapshot " + name + " already exists in pool " + pool_name_ + " (" +
                        taken + "); choose another name or destroy it first");
      case ZfsFailure::kNotFound:
        return NotFound("clone " + clone + " not found in pool " + pool_name_ + " (" +
                        CloneDataset(clone) + ")");
      default:
        return CommandFailed({"zfs", "snapshot", taken}, snapshot);
    }
  }
  // The snapshot moves to a dataset of its own (`zfs promote` of an unmounted clone of it):
  // the clone then depends on the commit, not the other way round, so it can be reset or
  // destroyed as any clone, and nothing mounted is touched.
  std::vector<std::string> failed;
  RunResult result;
  auto run = [&](std::vector<std::string> args) -> Status {
    DBLAB_ASSIGN_OR_RETURN(result, Zfs(args));
    args.insert(args.begin(), "zfs");
    failed = std::move(args);
    return OkStatus();
  };
  DBLAB_TRY(run({"create", "-o", "mountpoint=none", CommitsDataset()}));
  if (result.exit_code == 0 || ClassifyZfsFailure(result.err) == ZfsFailure::kExists) {
    DBLAB_TRY(run({"clone", taken, commit}));
    if (result.exit_code == 0) DBLAB_TRY(run({"promote", commit}));
    if (result.exit_code == 0) return OkStatus();
  }
  Error error = CommandFailed(failed, result);
  (void)Zfs({"destroy", commit});  // not promoted: a plain clone of the snapshot
  (void)Zfs({"destroy", taken});
  return error;
}

Result<std::string> ZfsPool::FindSnapshot(const std::string& name) {
  std::vector<std::string> args = {"list", "-H",       "-o", "name,defer_destroy",
                                   "-t",   "snapshot", "-r", pool_name_};
  DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs(args));
  if (result.exit_code != 0) {
    if (ClassifyZfsFailure(result.err) != ZfsFailure::kNotFound) {
      return CommandFailed({"zfs", "list", "-t", "snapshot", pool_name_}, result);
    }
    result.out.clear();
  }
  auto snapshots = ParseSnapshotList(result.out, pool_name_);
  auto it = snapshots.find(name);
  if (it == snapshots.end()) {
    return NotFound("snapshot " + name + " not found in pool " + pool_name_ +
                    "; list the pool's snapshots and pick one");
  }
  return it->second;
}

Status ZfsPool::DestroySnapshot(const std::string& name) {
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  // Most snapshots are of main data: try there first, then among the commits.
  Status destroyed = DestroySnapshotAt(name, SnapshotDataset(name));
  if (destroyed.ok() || destroyed.error().code != ErrorCode::kNotFound) return destroyed;
  Result<std::string> found = FindSnapshot(name);
  if (!found.ok()) return found.error().code == ErrorCode::kNotFound ? destroyed : found.error();
  return DestroySnapshotAt(name, *found);
}

Status ZfsPool::DestroySnapshotAt(const std::string& name, const std::string& snapshot) {
  const std::string dataset = snapshot.substr(0, snapshot.find('@'));
  DBLAB_ASSIGN_OR_RETURN(RunResult result, RunWhileBusy({"destroy", snapshot}));
  if (result.exit_code == 0) return CollectCommits(dataset);
  switch (ClassifyZfsFailure(result.err)) {
    case ZfsFailure::kNotFound:
      return NotFound("snapshot " + name + " not found in pool " + pool_name_ + " (" + snapshot +
                      ")");
    case ZfsFailure::kHasClones: {
      // zfs names every dataset that depends on it, directly or not; only clones made from it
      // keep it. Commits made on top of it (unmounted datasets) do not: then it is hidden now
      // and goes with the last of them (`zfs destroy -d`).
      std::vector<std::string> list = {"list", "-H",         "-o", "name,origin",
                                       "-t",   "filesystem", "-r", pool_name_};
      DBLAB_ASSIGN_OR_RETURN(RunResult listed, Zfs(list));
      if (listed.exit_code != 0) return CommandFailed({"zfs", "list", pool_name_}, listed);
      std::vector<std::string> clones;
      std::istringstream lines(listed.out);
      std::string line;
      const std::string prefix = ClonesDataset() + "/";
      while (std::getline(lines, line)) {
        size_t tab = line.find('\t');
        if (tab == std::string::npos || Trimmed(line.substr(tab + 1)) != snapshot) continue;
        std::string child = line.substr(0, tab);
        if (child.rfind(prefix, 0) == 0) clones.push_back(child.substr(prefix.size()));
      }
      if (clones.empty()) {
        std::vector<std::string> defer = {"destroy", "-d", snapshot};
        DBLAB_ASSIGN_OR_RETURN(RunResult deferred, RunWhileBusy(defer));
        if (deferred.exit_code == 0) return OkStatus();
        return CommandFailed({"zfs", "destroy", "-d", snapshot}, deferred);
      }
      std::sort(clones.begin(), clones.end());
      std::string names;
      for (const auto& clone : clones) names += (names.empty() ? "" : ", ") + clone;
      return Conflict("snapshot " + name + " of pool " + pool_name_ + " still has clones (" +
                      names + "); a ZFS clone depends on its snapshot: destroy the clones first");
    }
    case ZfsFailure::kBusy:
      return Conflict("snapshot " + name + " of pool " + pool_name_ + " stays busy (" +
                      Said(result) + "); stop the processes reading it and retry");
    default:
      return CommandFailed({"zfs", "destroy", snapshot}, result);
  }
}

Status ZfsPool::CollectCommits(std::string dataset) {
  const std::string commits = CommitsDataset() + "/";
  while (dataset.rfind(commits, 0) == 0) {
    std::vector<std::string> list = {"list", "-H", "-o", "name", "-t", "snapshot", "-r", dataset};
    DBLAB_ASSIGN_OR_RETURN(RunResult held, Zfs(list));
    if (held.exit_code != 0) {
      if (ClassifyZfsFailure(held.err) == ZfsFailure::kNotFound) return OkStatus();
      return CommandFailed({"zfs", "list", "-t", "snapshot", dataset}, held);
    }
    if (!Trimmed(held.out).empty()) return OkStatus();  // a snapshot hidden until its clones go
    DBLAB_ASSIGN_OR_RETURN(RunResult origin, Zfs({"get", "-H", "-o", "value", "origin", dataset}));
    if (origin.exit_code != 0) return CommandFailed({"zfs", "get", "origin", dataset}, origin);
    DBLAB_ASSIGN_OR_RETURN(RunResult destroyed, RunWhileBusy({"destroy", dataset}));
    if (destroyed.exit_code != 0 && ClassifyZfsFailure(destroyed.err) != ZfsFailure::kNotFound) {
      return CommandFailed({"zfs", "destroy", dataset}, destroyed);
    }
    // Its origin, a commit hidden until now, went with it: that may have been the last thing
    // the commit's own dataset held.
    std::string from = Trimmed(origin.out);
    dataset = from.substr(0, from.find('@'));
  }
  return OkStatus();
}

Result<std::vector<std::string>> ZfsPool::ListSnapshots() {
  std::vector<std::string> args = {"list", "-H",       "-o", "name,defer_destroy",
                                   "-t",   "snapshot", "-r", pool_name_};
  DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs(args));
  if (result.exit_code != 0) {
    if (ClassifyZfsFailure(result.err) == ZfsFailure::kNotFound) {
      return std::vector<std::string>{};  // not prepared yet: nothing there
    }
    return CommandFailed({"zfs", "list", "-t", "snapshot", pool_name_}, result);
  }
  std::vector<std::string> names;
  for (const auto& [name, full] : ParseSnapshotList(result.out, pool_name_)) names.push_back(name);
  return names;  // sorted: map keys
}

Result<std::string> ZfsPool::CreateClone(const std::string& snapshot, const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("snapshot", snapshot));
  DBLAB_TRY(ValidateStorageName("clone", clone));
  std::string origin = SnapshotDataset(snapshot);
  const std::string dataset = CloneDataset(clone);
  // The zfs CLI mounts the clone right after creating it, on its inherited mountpoint.
  DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs({"clone", origin, dataset}));
  if (result.exit_code != 0 && ClassifyZfsFailure(result.err) == ZfsFailure::kNotFound &&
      Contains(result.err, ("'" + origin + "'").c_str())) {
    // Not of main data: a snapshot of a clone (a commit), if there is one of that name.
    if (Result<std::string> found = FindSnapshot(snapshot); found.ok()) {
      origin = *found;
      DBLAB_ASSIGN_OR_RETURN(result, Zfs({"clone", origin, dataset}));
    }
  }
  if (result.exit_code == 0) return ClonePath(clone);
  switch (ClassifyZfsFailure(result.err)) {
    case ZfsFailure::kExists:
      return Conflict("clone " + clone + " already exists in pool " + pool_name_ + " (" + dataset +
                      "); choose another name or destroy it first");
    case ZfsFailure::kNotFound:
      if (Contains(result.err, ("'" + origin + "'").c_str())) {
        return NotFound("snapshot " + snapshot + " not found in pool " + pool_name_ + " (" +
                        origin + "); list the pool's snapshots and pick one");
      }
      return CommandFailed({"zfs", "clone", origin, dataset}, result);  // no clones dataset
    default: {
      // Created but not mounted, say: do not leave a half-made clone behind.
      (void)Zfs({"destroy", "-r", dataset});
      return CommandFailed({"zfs", "clone", origin, dataset}, result);
    }
  }
}

Status ZfsPool::DestroyClone(const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  const std::string dataset = CloneDataset(clone);
  // Unmounting first: `zfs destroy` of a mounted dataset on zfs-fuse unmounts it and then finds
  // it still held ("dataset is busy"); an explicit unmount releases it.
  std::vector<std::string> failed_command;
  RunResult result;
  for (int attempt = 1; attempt <= busy_attempts_; ++attempt) {
    if (attempt > 1) SleepBeforeRetry();
    DBLAB_ASSIGN_OR_RETURN(result, Unmount(dataset));
    failed_command = {"zfs", "unmount", dataset};
    if (result.exit_code == 0) {
      DBLAB_ASSIGN_OR_RETURN(result, Zfs({"destroy", "-r", dataset}));
      failed_command = {"zfs", "destroy", "-r", dataset};
      if (result.exit_code == 0) return OkStatus();
    }
    if (ClassifyZfsFailure(result.err) != ZfsFailure::kBusy) break;
  }
  switch (ClassifyZfsFailure(result.err)) {
    case ZfsFailure::kNotFound:
      return OkStatus();
    case ZfsFailure::kBusy:
      return Conflict("clone " + clone + " in pool " + pool_name_ + " stays busy (" + Said(result) +
                      "); stop the processes using " + ClonePath(clone) + " (see `fuser -vm " +
                      ClonePath(clone) + "`) and retry");
    default:
      return CommandFailed(failed_command, result);
  }
}

Status ZfsPool::RenameClone(const std::string& from, const std::string& to) {
  DBLAB_TRY(ValidateStorageName("clone", from));
  DBLAB_TRY(ValidateStorageName("clone", to));
  const std::string source = CloneDataset(from);
  const std::string target = CloneDataset(to);
  // Unmount, rename, mount: zfs-fuse refuses to rename a mounted dataset ("dataset is busy")
  // and kernel ZFS unmounts and remounts it anyway. A running server keeps the mount busy, so
  // the unmount fails and nothing changes: the clone cannot follow a new name while it runs.
  DBLAB_ASSIGN_OR_RETURN(RunResult unmounted, Unmount(source));
  if (unmounted.exit_code != 0) {
    switch (ClassifyZfsFailure(unmounted.err)) {
      case ZfsFailure::kNotFound:
        return NotFound("clone storage " + from + " does not exist");
      case ZfsFailure::kBusy:
        return Unavailable("cannot rename clone " + from + " to " + to + " in ZFS pool " +
                           pool_name_ + " while it is in use (" + Said(unmounted) +
                           "): ZFS renames only unmounted datasets, so a running server cannot "
                           "be handed over to a new name; stop the server first");
      default:
        return CommandFailed({"zfs", "unmount", source}, unmounted);
    }
  }
  // Just unmounted, zfs-fuse may still hold the dataset for a moment ("dataset is busy").
  DBLAB_ASSIGN_OR_RETURN(RunResult renamed, RunWhileBusy({"rename", source, target}));
  if (renamed.exit_code != 0) {
    (void)Zfs({"mount", source});  // put it back as it was
    switch (ClassifyZfsFailure(renamed.err)) {
      case ZfsFailure::kNotFound:
        return NotFound("clone storage " + from + " does not exist");
      case ZfsFailure::kExists:
        return Conflict("clone storage " + to + " already exists");
      default:
        return CommandFailed({"zfs", "rename", source, target}, renamed);
    }
  }
  DBLAB_ASSIGN_OR_RETURN(RunResult mounted, Zfs({"mount", target}));
  if (mounted.exit_code != 0 && ClassifyZfsFailure(mounted.err) != ZfsFailure::kAlreadyMounted) {
    return CommandFailed({"zfs", "mount", target}, mounted);
  }
  return OkStatus();
}

Result<std::vector<std::string>> ZfsPool::ListClones() {
  std::vector<std::string> args = {"list", "-H",         "-o", "name",
                                   "-t",   "filesystem", "-r", ClonesDataset()};
  DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs(args));
  if (result.exit_code != 0) {
    if (ClassifyZfsFailure(result.err) == ZfsFailure::kNotFound) {
      return std::vector<std::string>{};  // not prepared yet: nothing there
    }
    return CommandFailed({"zfs", "list", ClonesDataset()}, result);
  }
  return ParseChildNames(result.out, ClonesDataset() + "/");
}

Result<StorageUsage> ZfsPool::Usage() {
  std::vector<std::string> args = {"get",     "-Hp", "-o", "property,value", "used,available",
                                   pool_name_};
  DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs(args));
  if (result.exit_code != 0) {
    return CommandFailed({"zfs", "get", "used,available", pool_name_}, result);
  }
  return ParseZfsUsage(result.out);
}

Result<int64_t> ZfsPool::UsedBytes(const std::string& kind, const std::string& name,
                                   const std::string& dataset) {
  DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs({"get", "-Hp", "-o", "value", "used", dataset}));
  if (result.exit_code != 0) {
    if (ClassifyZfsFailure(result.err) == ZfsFailure::kNotFound) {
      return NotFound(kind + " " + name + " not found in pool " + pool_name_ + " (" + dataset +
                      ")");
    }
    return CommandFailed({"zfs", "get", "used", dataset}, result);
  }
  return ParseZfsInteger(result.out);
}

Result<int64_t> ZfsPool::CloneOwnBytes(const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("clone", clone));
  return UsedBytes("clone", clone, CloneDataset(clone));
}

Result<int64_t> ZfsPool::SnapshotOwnBytes(const std::string& snapshot) {
  DBLAB_TRY(ValidateStorageName("snapshot", snapshot));
  Result<int64_t> used = UsedBytes("snapshot", snapshot, SnapshotDataset(snapshot));
  if (used.ok() || used.error().code != ErrorCode::kNotFound) return used;
  DBLAB_ASSIGN_OR_RETURN(std::string found, FindSnapshot(snapshot));  // of a clone
  return UsedBytes("snapshot", snapshot, found);
}

}  // namespace dblab
