// Test double of PoolBackend: plain directories under a temp root, copied (not thin), with a
// fault hook that fails a chosen operation on a chosen name, and a log of what ran. No root.
#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "storage/backend.h"

namespace dblab {

class FakePool : public PoolBackend {
 public:
  explicit FakePool(std::string root) : root_(std::move(root)) {
    for (const char* dir : {"/data", "/snapshots", "/clones"}) {
      std::filesystem::create_directories(root_ + dir);
    }
  }

  // Called before every change with the operation ("CreateClone", "DestroyClone",
  // "RenameClone", "CreateSnapshot", "CreateSnapshotOfClone", "DestroySnapshot") and its
  // target name; a non-ok status fails the operation before it does anything.
  std::function<Status(const std::string& op, const std::string& name)> fault;
  // "op name" per change, in order.
  std::vector<std::string> Ran() {
    std::lock_guard lock(mutex_);
    return ran_;
  }

  // Whether a snapshot of a running clone is consistent by itself (btrfs, zfs) or needs the
  // clone's server stopped first (the default here, as on copy and overlay).
  bool atomic_snapshot_of_clone = false;
  bool SnapshotOfCloneIsAtomic() const override { return atomic_snapshot_of_clone; }

  std::string Name() const override { return "fake_pool"; }
  std::string Mode() const override { return "fake"; }
  bool IsThin() const override { return true; }
  std::string MainDataPath() const override { return root_ + "/data"; }
  Status CreateSnapshot(const std::string& name) override {
    DBLAB_TRY(Enter("CreateSnapshot", name));
    return Copy(MainDataPath(), SnapshotPath(name));
  }
  Status CreateSnapshotOfClone(const std::string& clone, const std::string& name) override {
    DBLAB_TRY(Enter("CreateSnapshotOfClone", name));
    return Copy(ClonePath(clone), SnapshotPath(name));
  }
  Status DestroySnapshot(const std::string& name) override {
    DBLAB_TRY(Enter("DestroySnapshot", name));
    if (!std::filesystem::exists(SnapshotPath(name))) {
      return NotFound("snapshot " + name + " not found");
    }
    std::filesystem::remove_all(SnapshotPath(name));
    return OkStatus();
  }
  Result<std::vector<std::string>> ListSnapshots() override { return List(root_ + "/snapshots"); }
  std::string SnapshotPath(const std::string& name) const override {
    return root_ + "/snapshots/" + name;
  }
  Result<std::string> CreateClone(const std::string& snapshot, const std::string& clone) override {
    DBLAB_TRY(Enter("CreateClone", clone));
    if (!std::filesystem::exists(SnapshotPath(snapshot))) {
      return NotFound("snapshot " + snapshot + " not found");
    }
    DBLAB_TRY(Copy(SnapshotPath(snapshot), ClonePath(clone)));
    return ClonePath(clone);
  }
  Status DestroyClone(const std::string& clone) override {
    DBLAB_TRY(Enter("DestroyClone", clone));
    std::filesystem::remove_all(ClonePath(clone));
    return OkStatus();
  }
  Status RenameClone(const std::string& from, const std::string& to) override {
    DBLAB_TRY(Enter("RenameClone", from + " " + to));
    if (!std::filesystem::exists(ClonePath(from))) return NotFound("clone " + from + " not found");
    if (std::filesystem::exists(ClonePath(to))) return Conflict("clone " + to + " exists");
    std::filesystem::rename(ClonePath(from), ClonePath(to));
    return OkStatus();
  }
  Result<std::vector<std::string>> ListClones() override { return List(root_ + "/clones"); }
  std::string ClonePath(const std::string& clone) const override {
    return root_ + "/clones/" + clone;
  }
  Result<StorageUsage> Usage() override { return StorageUsage{100 << 20, 90 << 20, 10 << 20}; }
  Result<int64_t> CloneOwnBytes(const std::string& clone) override {
    if (!std::filesystem::exists(ClonePath(clone))) return NotFound("clone " + clone);
    return int64_t{0};
  }
  Result<int64_t> SnapshotOwnBytes(const std::string& snapshot) override {
    if (!std::filesystem::exists(SnapshotPath(snapshot))) return NotFound("snapshot " + snapshot);
    return int64_t{0};
  }

 private:
  Status Enter(const std::string& op, const std::string& name) {
    {
      std::lock_guard lock(mutex_);
      ran_.push_back(op + " " + name);
    }
    if (fault) return fault(op, name);
    return OkStatus();
  }
  static Status Copy(const std::string& from, const std::string& to) {
    std::error_code error;
    if (std::filesystem::exists(to)) return Conflict(to + " exists");
    std::filesystem::copy(from, to, std::filesystem::copy_options::recursive, error);
    if (error) return Internal("copy " + from + " to " + to + ": " + error.message());
    return OkStatus();
  }
  static Result<std::vector<std::string>> List(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  std::string root_;
  std::mutex mutex_;
  std::vector<std::string> ran_;
};

}  // namespace dblab
