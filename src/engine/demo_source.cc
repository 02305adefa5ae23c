#include "engine/demo_source.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cloning/validation.h"
#include "platform/files.h"
#include "platform/posix_process.h"
#include "postgres/pq.h"
#include "retrieval/logical_retrieval.h"

namespace dblab {

namespace fs = std::filesystem;

namespace {

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::string value;
  std::getline(in, value);
  return value;
}

// A libpq password file entry for every host, port, database and user, escaping ':' and '\'.
std::string PassfileLine(const std::string& password) {
  std::string line = "*:*:*:*:";
  for (char c : password) {
    if (c == ':' || c == '\\') line += '\\';
    line += c;
  }
  return line + "\n";
}

const char* kDemoSql = R"sql(
CREATE TABLE users (
  id bigint PRIMARY KEY,
  full_name text NOT NULL,
  email text NOT NULL UNIQUE,
  phone text NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO users
SELECT i,
       (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','John','Radia','Ken'])[1 + i % 10]
         || ' ' ||
       (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Backus','Perlman','Thompson'])[1 + (i / 10) % 10],
       'person' || i || '@' || (ARRAY['mail.example','corp.example','home.example'])[1 + i % 3],
       '+1-555-' || lpad((i % 10000000)::text, 7, '0'),
       now() - (i || ' minutes')::interval
FROM generate_series(1, :users) AS i;
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users(id),
  amount_cents integer NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO orders
SELECT i, 1 + (i * 7919::bigint) % :users, (i * 31::bigint) % 100000, now() - (i || ' seconds')::interval
FROM generate_series(1, :users * 2) AS i;
CREATE INDEX orders_user_id ON orders (user_id);
ANALYZE;
)sql";

}  // namespace

Status StopDemoSource(PostgresControl& postgres, const std::string& dir) {
  return postgres.Stop(dir + "/data", std::chrono::seconds(60));
}

Result<DemoSource> EnsureDemoSource(ProcessRunner& runner, PostgresControl& postgres,
                                    const DemoSourceOptions& options) {
  DBLAB_ASSIGN_OR_RETURN(OsUser user, LookupOsUser(options.os_user));
  DBLAB_ASSIGN_OR_RETURN(std::string bin_dir, FindPostgresBinDir(15));
  std::string data = options.dir + "/data";
  std::string socket_dir = options.dir + "/run";
  std::error_code error;
  fs::create_directories(socket_dir, error);
  chmod(options.dir.c_str(), 0711);
  if (chown(socket_dir.c_str(), user.uid, user.gid) != 0) {
    return Internal("cannot prepare " + socket_dir + ": " + strerror(errno));
  }
  chmod(socket_dir.c_str(), 0700);
  // SCRAM on the socket too: the demo data is unmasked, and trust on the socket would give it
  // to any process running as the postgres OS user (every clone's server, issue 10).
  std::string hba = options.dir + "/pg_hba.conf";
  {
    std::ofstream out(hba, std::ios::trunc);
    out << "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n";
  }
  chmod(hba.c_str(), 0644);
  // The engine and the tools it runs (psql, pgbench) read the password from here: never argv.
  std::string passfile = options.dir + "/passfile";

  DemoSource source;
  bool fresh = !fs::exists(data + "/PG_VERSION");
  if (fresh) {
    spdlog::info("demo source: creating a PostgreSQL with generated data in {}", data);
    fs::remove_all(data, error);
    fs::create_directories(data, error);
    if (chown(data.c_str(), user.uid, user.gid) != 0) {
      return Internal("cannot chown " + data + ": " + strerror(errno));
    }
    chmod(data.c_str(), 0700);
    source.password = GenerateId(32);  // 165 bits from the OS CSPRNG
    DBLAB_TRY(WriteFileAtomically(options.dir + "/password", source.password + "\n", 0600));
    // initdb sets the superuser's password from a file only the postgres user can read.
    std::string pwfile = options.dir + "/initdb-password";
    DBLAB_TRY(WriteFileAtomically(pwfile, source.password + "\n", 0600));
    if (chown(pwfile.c_str(), user.uid, user.gid) != 0) {
      fs::remove(pwfile, error);
      return Internal("cannot chown " + pwfile + ": " + strerror(errno));
    }
    auto initdb = RunChecked(
        runner,
        {bin_dir + "/initdb", "--pgdata=" + data, "--username=postgres", "--auth=scram-sha-256",
         "--pwfile=" + pwfile, "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"},
        {.user = options.os_user});
    fs::remove(pwfile, error);
    if (!initdb.ok()) return initdb.error().Wrap("demo source initdb");
  } else {
    source.password = ReadSmallFile(options.dir + "/password");
  }
  if (source.password.empty()) {
    return Internal("demo source: no password in " + options.dir + "/password; remove " +
                    options.dir + " to create the demo source afresh");
  }
  DBLAB_TRY(WriteFileAtomically(passfile, PassfileLine(source.password), 0600));

  if (auto pid = PostgresControl::RunningPid(data)) {
    source.port = std::atoi(ReadSmallFile(options.dir + "/port").c_str());
  } else {
    int port = std::atoi(ReadSmallFile(options.dir + "/port").c_str());
    if (port <= 0) {
      DBLAB_ASSIGN_OR_RETURN(port, PickFreePort());
    }
    ServerSpec spec{.bin_dir = bin_dir,
                    .data_dir = data,
                    .port = port,
                    .listen_addresses = "127.0.0.1",
                    .socket_dir = socket_dir,
                    .hba_file = hba,
                    .settings = {{"shared_buffers", "64MB"}},
                    .log_file = options.dir + "/postgres.log",
                    .os_user = options.os_user};
    auto started = postgres.Start(spec);
    if (!started.ok()) {
      // The saved port may be taken by now: try once with a new one.
      DBLAB_ASSIGN_OR_RETURN(spec.port, PickFreePort());
      DBLAB_TRY(postgres.Start(spec));
    }
    source.port = spec.port;
    DBLAB_TRY(WriteFileAtomically(options.dir + "/port", std::to_string(spec.port) + "\n", 0600));
  }

  if (fresh) {
    auto admin = PgConnection::Connect(BuildConninfo({{"host", socket_dir},
                                                      {"port", std::to_string(source.port)},
                                                      {"user", "postgres"},
                                                      {"dbname", "postgres"},
                                                      {"passfile", passfile}}));
    if (!admin.ok()) return admin.error().Wrap("demo source");
    DBLAB_ASSIGN_OR_RETURN(std::string verifier, ScramVerifier("postgres", source.password));
    DBLAB_TRY(admin->Exec("ALTER ROLE postgres PASSWORD " + admin->QuoteLiteral(verifier)));
    DBLAB_TRY(admin->Exec("CREATE DATABASE demo"));
    std::string target = BuildConninfo({{"host", socket_dir},
                                        {"port", std::to_string(source.port)},
                                        {"user", "postgres"},
                                        {"dbname", "demo"}});
    spdlog::info("demo source: generating {} users and pgbench scale {}", options.users,
                 options.pgbench_scale);
    if (options.pgbench_scale > 0) {
      auto pgbench = RunChecked(runner,
                                {bin_dir + "/pgbench", "--initialize", "--quiet",
                                 "--scale=" + std::to_string(options.pgbench_scale), target},
                                {.env = {{"PGPASSFILE", passfile}}});
      if (!pgbench.ok()) return pgbench.error().Wrap("demo source pgbench");
    }
    // psql interpolates :users only in scripts read from a file, not in --command.
    std::string script = options.dir + "/demo.sql";
    {
      std::ofstream out(script, std::ios::trunc);
      out << kDemoSql;
    }
    chmod(script.c_str(), 0644);
    auto psql = RunChecked(
        runner,
        {bin_dir + "/psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1",
         "--set=users=" + std::to_string(options.users), "--dbname=" + target, "--file=" + script},
        {.env = {{"PGPASSFILE", passfile}}});
    if (!psql.ok()) return psql.error().Wrap("demo source data");
    fs::remove(options.dir + "/demo.sql", error);
  }
  return source;
}

}  // namespace dblab
