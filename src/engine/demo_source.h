// The embedded default's source database: a local PostgreSQL that the engine sets up itself
// (initdb, generated data with a `users` table of names, emails and phone numbers), so that a
// new user can try dblab without a production database. Lives in `dir`; reused across starts.
#pragma once

#include <string>

#include "common/result.h"
#include "platform/process.h"
#include "postgres/server.h"

namespace dblab {

struct DemoSource {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string username = "postgres";
  std::string password;
  std::string dbname = "demo";
};

struct DemoSourceOptions {
  std::string dir;
  std::string os_user = "postgres";
  int users = 200000;      // rows in users
  int pgbench_scale = 20;  // pgbench tables, ~15 MB per unit of scale
};

// Creates (first time) or starts (later) the demo source, and returns how to reach it.
Result<DemoSource> EnsureDemoSource(ProcessRunner& runner, PostgresControl& postgres,
                                    const DemoSourceOptions& options);

// Stops the demo source server if it runs.
Status StopDemoSource(PostgresControl& postgres, const std::string& dir);

}  // namespace dblab
