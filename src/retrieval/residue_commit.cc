#include "retrieval/residue_commit.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "masking/residue.h"
#include "postgres/pq.h"
#include "retrieval/preparation.h"

namespace dblab {

namespace {

// A temporary server on a temporary clone of a snapshot; stopped and destroyed on scope exit.
class TemporaryServer {
 public:
  TemporaryServer(CommitScrubber& scrubber, std::string clone)
      : scrubber_(scrubber), clone_(std::move(clone)) {}
  ~TemporaryServer() {
    (void)Stop();
    (void)scrubber_.pool.DestroyClone(clone_);
  }

  Status Start(const std::string& snapshot) {
    DBLAB_ASSIGN_OR_RETURN(std::string path, scrubber_.pool.CreateClone(snapshot, clone_));
    DBLAB_ASSIGN_OR_RETURN(int major, DataDirMajorVersion(path));
    DBLAB_ASSIGN_OR_RETURN(bin_dir_, FindPostgresBinDir(major, scrubber_.pg_bin_dir));
    DBLAB_ASSIGN_OR_RETURN(port_, PickFreePort());
    ServerSpec spec;
    spec.bin_dir = bin_dir_;
    spec.data_dir = path;
    spec.port = port_;
    spec.socket_dir = ServerSocketDir(scrubber_.socket_dir, port_);
    spec.hba_file = scrubber_.hba_file;
    spec.log_file = scrubber_.log_dir + "/commit-scrub.log";
    spec.os_user = scrubber_.os_user;
    spec.settings = ResidueServerSettings();
    auto started = scrubber_.postgres.Start(spec);
    if (!started.ok()) return started.error().Wrap("start a server on a copy of " + snapshot);
    running_ = true;
    return OkStatus();
  }
  Status Stop() {
    if (!running_) return OkStatus();
    running_ = false;
    return scrubber_.postgres.Stop(Path(), std::chrono::seconds(600), /*require_clean=*/true);
  }
  SqlConnect Connect() const {
    return ConnectToPreparationServer(ServerSocketDir(scrubber_.socket_dir, port_), port_,
                                      scrubber_.superuser);
  }
  Result<std::vector<std::string>> Databases() {
    DBLAB_ASSIGN_OR_RETURN(std::unique_ptr<SqlSession> session, Connect()("postgres"));
    DBLAB_ASSIGN_OR_RETURN(PgRows rows, session->Query("SELECT datname FROM pg_database WHERE "
                                                       "datallowconn ORDER BY datname"));
    std::vector<std::string> names;
    for (const auto& row : rows) names.push_back(row[0]);
    return names;
  }
  std::string Path() const { return scrubber_.pool.ClonePath(clone_); }
  const std::string& clone() const { return clone_; }
  const std::string& bin_dir() const { return bin_dir_; }

 private:
  CommitScrubber& scrubber_;
  std::string clone_;
  std::string bin_dir_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace

Status CommitScrubber::Scrub(const std::string& parent, const std::string& raw,
                             const std::string& name) {
  std::string prefix = kCommitScrubPrefix;
  std::optional<MaskingResidue> residue;
  {
    progress("commit " + name + ": sampling the parent snapshot " + parent);
    TemporaryServer before(*this, prefix + "parent-" + name);
    DBLAB_TRY(before.Start(parent));
    DBLAB_ASSIGN_OR_RETURN(std::vector<std::string> databases, before.Databases());
    residue.emplace(ResidueOptions{.gate = gate}, before.Connect(), databases, progress);
    DBLAB_TRY(residue->BeforeMasking());
  }
  progress("commit " + name + ": scrubbing a copy of the clone");
  TemporaryServer after(*this, prefix + "scrub-" + name);
  DBLAB_TRY(after.Start(raw));
  residue->UseServer(after.Connect());
  DBLAB_TRY(residue->AfterMasking());
  DBLAB_TRY(after.Stop());
  DBLAB_TRY(residue->AfterCleanStop(after.Path()));
  DBLAB_TRY(residue->Gate(after.Path(), "the commit " + name));
  return pool.CreateSnapshotOfClone(after.clone(), name);
}

void RemoveCommitLeftovers(PoolBackend& pool) {
  auto snapshots = pool.ListSnapshots();
  if (!snapshots.ok()) return;
  for (const auto& name : *snapshots) {
    if (name.rfind(kCommitScrubPrefix, 0) != 0) continue;
    spdlog::warn("removing {} left by an interrupted commit", name);
    (void)pool.DestroySnapshot(name);
  }
}

}  // namespace dblab
