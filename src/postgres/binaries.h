// Finding PostgreSQL programs of each major version (docs/postgres-majors.md). A server must run
// programs of its data's major; client programs that read a server (pg_dump, pg_basebackup) must
// be at least the server's major, and pg_restore at least pg_dump's. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace dblab {

constexpr int kOldestPostgresMajor = 13;
constexpr int kNewestPostgresMajor = 18;

// Where programs are looked for, in this order, for major M:
//   configured_dir           provision.pgBinDir, used for M only when its programs say M
//   <debian_root>/M/bin      Debian's packages (postgresql-15 on Debian 12)
//   <dblab_root>/pg/M/bin    servers installed by scripts/install-postgres-majors.sh (npm)
//   <dblab_root>/client/M/bin  client tools built by the same script
struct PostgresSearchPath {
  std::string configured_dir;
  std::string debian_root = "/usr/lib/postgresql";
  std::string dblab_root = "/usr/lib/dblab";
};

// The directory holding every program in `programs` for exactly `major`; kNotFound names the
// major, the directories looked in and what to install.
Result<std::string> FindProgramsOfMajor(int major, const std::vector<std::string>& programs,
                                        const PostgresSearchPath& search);

// The directory holding every program in `programs` of the oldest major >= `major` that has
// them all (up to kNewestPostgresMajor), with that major. For client programs that must be at
// least as new as the server they read.
struct ProgramsDir {
  std::string dir;
  int major = 0;
};
Result<ProgramsDir> FindProgramsAtLeast(int major, const std::vector<std::string>& programs,
                                        const PostgresSearchPath& search);

// True for a bare name (no directory) of a PostgreSQL client program that reads a server and
// must be at least its major: pg_basebackup, pg_dump, pg_dumpall, pg_receivewal.
bool IsPostgresClientProgram(const std::string& name);

// The server binaries (postgres, initdb) of `major`.
Result<std::string> FindPostgresBinDir(int major, const std::string& configured_dir = "");

// Major version a program reports with --version ("pg_dump (PostgreSQL) 18.6" -> 18), or 0 when
// it cannot be run. Cached per path.
int ProgramMajor(const std::string& program);

// The major of a DLE image tag such as "postgresai/extended-postgres:17-0.6.2" or "postgres:16",
// or 0 when the tag does not start with one.
int ImageTagMajor(const std::string& image);

}  // namespace dblab
