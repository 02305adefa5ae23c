// Test double of ServerControl: "servers" are entries in a table keyed by data directory, with
// the spec they were started with; tests can make a start fail or a server die.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "postgres/server.h"

namespace dblab {

class FakeServerControl : public ServerControl {
 public:
  // A non-ok status fails the start of a server on that data directory.
  std::function<Status(const ServerSpec& spec)> start_fault;
  // A non-ok status fails a stop (the server keeps running).
  std::function<Status(const std::string& data_dir)> stop_fault;

  Result<pid_t> Start(const ServerSpec& spec) override {
    std::lock_guard lock(mutex_);
    started_.push_back(spec);
    if (start_fault) DBLAB_TRY(start_fault(spec));
    pid_t pid = next_pid_++;
    running_[Key(spec.data_dir)] = {pid, spec};
    return pid;
  }
  Status Stop(const std::string& data_dir, std::chrono::milliseconds /*timeout*/,
              bool /*require_clean*/) override {
    std::lock_guard lock(mutex_);
    stopped_.push_back(data_dir);
    if (stop_fault) DBLAB_TRY(stop_fault(data_dir));
    running_.erase(Key(data_dir));
    return OkStatus();
  }
  std::optional<pid_t> Pid(const std::string& data_dir) override {
    std::lock_guard lock(mutex_);
    auto it = running_.find(Key(data_dir));
    if (it == running_.end()) return std::nullopt;
    return it->second.pid;
  }

  // The server on `data_dir` dies (as if killed).
  void Kill(const std::string& data_dir) {
    std::lock_guard lock(mutex_);
    running_.erase(Key(data_dir));
  }
  // A server the engine finds already running (e.g. after its own restart).
  void AlreadyRunning(const ServerSpec& spec) {
    std::lock_guard lock(mutex_);
    running_[Key(spec.data_dir)] = {next_pid_++, spec};
  }
  std::optional<ServerSpec> Running(const std::string& data_dir) {
    std::lock_guard lock(mutex_);
    auto it = running_.find(Key(data_dir));
    if (it == running_.end()) return std::nullopt;
    return it->second.spec;
  }
  int RunningCount() {
    std::lock_guard lock(mutex_);
    return static_cast<int>(running_.size());
  }
  std::vector<ServerSpec> Started() {
    std::lock_guard lock(mutex_);
    return started_;
  }

 private:
  // Servers are started on the port's link to the clone's directory and looked up by the
  // directory itself, as the real one finds them by their working directory.
  static std::string Key(const std::string& data_dir) {
    std::error_code error;
    auto real = std::filesystem::canonical(data_dir, error);
    return error ? data_dir : real.string();
  }
  struct Server {
    pid_t pid;
    ServerSpec spec;
  };
  std::mutex mutex_;
  std::map<std::string, Server> running_;
  std::vector<ServerSpec> started_;
  std::vector<std::string> stopped_;
  pid_t next_pid_ = 1000;
};

}  // namespace dblab
