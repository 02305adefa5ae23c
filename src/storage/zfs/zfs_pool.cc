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

Status ZfsPool::DestroySnapshot(const std::string& name) {
  DBLAB_TRY(ValidateStorageName("snapshot", name));
  const std::string dataset = SnapshotDataset(name);
  DBLAB_ASSIGN_OR_RETURN(RunResult result, RunWhileBusy({"destroy", dataset}));
  if (result.exit_code == 0) return OkStatus();
  switch (ClassifyZfsFailure(result.err)) {
    case ZfsFailure::kNotFound:
      return NotFound("snapshot " + name + " not found in pool " + pool_name_ + " (" + dataset +
                      ")");
    case ZfsFailure::kHasClones: {
      std::vector<std::string> clones = ParseChildNames(result.err, ClonesDataset() + "/");
      std::string list;
      for (const auto& clone : clones) list += (list.empty() ? "" : ", ") + clone;
      return Conflict("snapshot " + name + " of pool " + pool_name_ + " still has clones (" +
                      (list.empty() ? Said(result) : list) +
                      "); a ZFS clone depends on its snapshot: destroy the clones first");
    }
    case ZfsFailure::kBusy:
      return Conflict("snapshot " + name + " of pool " + pool_name_ + " stays busy (" +
                      Said(result) + "); stop the processes reading it and retry");
    default:
      return CommandFailed({"zfs", "destroy", dataset}, result);
  }
}

Result<std::vector<std::string>> ZfsPool::ListSnapshots() {
  std::vector<std::string> args = {"list", "-H",       "-o", "name",
                                   "-t",   "snapshot", "-r", DataDataset()};
  DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs(args));
  if (result.exit_code != 0) {
    if (ClassifyZfsFailure(result.err) == ZfsFailure::kNotFound) {
      return std::vector<std::string>{};  // not prepared yet: nothing there
    }
    return CommandFailed({"zfs", "list", "-t", "snapshot", DataDataset()}, result);
  }
  return ParseChildNames(result.out, DataDataset() + "@");
}

Result<std::string> ZfsPool::CreateClone(const std::string& snapshot, const std::string& clone) {
  DBLAB_TRY(ValidateStorageName("snapshot", snapshot));
  DBLAB_TRY(ValidateStorageName("clone", clone));
  const std::string origin = SnapshotDataset(snapshot);
  const std::string dataset = CloneDataset(clone);
  // The zfs CLI mounts the clone right after creating it, on its inherited mountpoint.
  DBLAB_ASSIGN_OR_RETURN(RunResult result, Zfs({"clone", origin, dataset}));
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
  return UsedBytes("snapshot", snapshot, SnapshotDataset(snapshot));
}

}  // namespace dblab
