#include "postgres/binaries.h"

#include <unistd.h>

#include <cctype>
#include <map>
#include <mutex>

#include "platform/posix_process.h"

namespace dblab {

namespace {

bool Executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

bool HasAll(const std::string& dir, const std::vector<std::string>& programs) {
  for (const auto& program : programs) {
    if (!Executable(dir + "/" + program)) return false;
  }
  return true;
}

// Candidate directories for `major`, in search order.
std::vector<std::string> Candidates(int major, const std::vector<std::string>& programs,
                                    const PostgresSearchPath& search) {
  std::string m = std::to_string(major);
  std::vector<std::string> dirs;
  if (!search.configured_dir.empty() && !programs.empty() &&
      ProgramMajor(search.configured_dir + "/" + programs.front()) == major) {
    dirs.push_back(search.configured_dir);
  }
  dirs.push_back(search.debian_root + "/" + m + "/bin");
  dirs.push_back(search.dblab_root + "/pg/" + m + "/bin");
  dirs.push_back(search.dblab_root + "/client/" + m + "/bin");
  return dirs;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string InstallHint(int major) {
  return "run scripts/install-postgres-majors.sh (installs PostgreSQL " +
         std::to_string(kOldestPostgresMajor) + "-" + std::to_string(kNewestPostgresMajor) +
         " under /usr/lib/dblab) or set provision.pgBinDir to a PostgreSQL " +
         std::to_string(major) + " bin directory";
}

}  // namespace

int ProgramMajor(const std::string& program) {
  static std::mutex mutex;
  static std::map<std::string, int> cache;
  {
    std::lock_guard lock(mutex);
    if (auto known = cache.find(program); known != cache.end()) return known->second;
  }
  int major = 0;
  if (Executable(program)) {
    PosixProcessRunner runner;
    auto result = runner.Run({program, "--version"}, {.timeout = std::chrono::seconds(10)});
    // "postgres (PostgreSQL) 17.10", "pg_dump (PostgreSQL) 18.6 (Debian 18.6-1)"
    if (result.ok() && result->exit_code == 0) {
      auto paren = result->out.find(") ");
      if (paren != std::string::npos) major = std::atoi(result->out.c_str() + paren + 2);
    }
  }
  std::lock_guard lock(mutex);
  cache[program] = major;
  return major;
}

int ImageTagMajor(const std::string& image) {
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return 0;
  std::string tag = image.substr(colon + 1);
  size_t digits = 0;
  while (digits < tag.size() && std::isdigit(static_cast<unsigned char>(tag[digits]))) ++digits;
  if (digits == 0 || digits > 2) return 0;
  if (digits < tag.size() && tag[digits] != '-' && tag[digits] != '.' && tag[digits] != '_') {
    return 0;
  }
  int major = std::stoi(tag.substr(0, digits));
  return major >= 9 ? major : 0;
}

Result<std::string> FindProgramsOfMajor(int major, const std::vector<std::string>& programs,
                                        const PostgresSearchPath& search) {
  auto dirs = Candidates(major, programs, search);
  for (const auto& dir : dirs) {
    if (HasAll(dir, programs)) return dir;
  }
  return NotFound("PostgreSQL " + std::to_string(major) + " programs (" + JoinNames(programs) +
                  ") not found in " + JoinNames(dirs) + "; " + InstallHint(major));
}

Result<ProgramsDir> FindProgramsAtLeast(int major, const std::vector<std::string>& programs,
                                        const PostgresSearchPath& search) {
  for (int candidate = major; candidate <= std::max(major, kNewestPostgresMajor); ++candidate) {
    for (const auto& dir : Candidates(candidate, programs, search)) {
      if (HasAll(dir, programs)) return ProgramsDir{dir, candidate};
    }
  }
  return NotFound("PostgreSQL client programs (" + JoinNames(programs) + ") of major " +
                  std::to_string(major) + " or newer not found; " + InstallHint(major));
}

bool IsPostgresClientProgram(const std::string& name) {
  return name == "pg_basebackup" || name == "pg_dump" || name == "pg_dumpall" ||
         name == "pg_receivewal";
}

Result<std::string> FindPostgresBinDir(int major, const std::string& configured_dir) {
  return FindProgramsOfMajor(major, {"postgres", "initdb"},
                             PostgresSearchPath{.configured_dir = configured_dir});
}

}  // namespace dblab
