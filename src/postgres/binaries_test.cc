#include "postgres/binaries.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace dblab {
namespace {

namespace fs = std::filesystem;

// A fake installation tree: Debian's and dblab's roots in a temp dir, programs as scripts that
// answer --version like the real ones.
class BinariesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("dblab-binaries-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    search_.debian_root = root_ + "/debian";
    search_.dblab_root = root_ + "/dblab";
  }
  void TearDown() override { fs::remove_all(root_); }

  void Program(const std::string& dir, const std::string& name, const std::string& version) {
    fs::create_directories(dir);
    std::string path = dir + "/" + name;
    std::ofstream(path) << "#!/bin/sh\necho '" << name << " (PostgreSQL) " << version << "'\n";
    chmod(path.c_str(), 0755);
  }

  std::string root_;
  PostgresSearchPath search_;
};

TEST_F(BinariesTest, ServerOfAMajorComesFromDebianThenDblab) {
  Program(search_.debian_root + "/15/bin", "postgres", "15.14");
  Program(search_.debian_root + "/15/bin", "initdb", "15.14");
  Program(search_.dblab_root + "/pg/17/bin", "postgres", "17.10");
  Program(search_.dblab_root + "/pg/17/bin", "initdb", "17.10");
  EXPECT_EQ(*FindProgramsOfMajor(15, {"postgres", "initdb"}, search_),
            search_.debian_root + "/15/bin");
  EXPECT_EQ(*FindProgramsOfMajor(17, {"postgres", "initdb"}, search_),
            search_.dblab_root + "/pg/17/bin");
}

TEST_F(BinariesTest, AMissingMajorNamesItAndWhatToInstall) {
  auto missing = FindProgramsOfMajor(16, {"postgres", "initdb"}, search_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("PostgreSQL 16 programs (postgres, initdb) not found"),
            std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("install-postgres-majors.sh"), std::string::npos);
  EXPECT_NE(missing.error().message.find("provision.pgBinDir"), std::string::npos);
}

TEST_F(BinariesTest, ConfiguredDirIsUsedOnlyForTheMajorItsProgramsReport) {
  std::string own = root_ + "/own/bin";
  Program(own, "postgres", "16.4");
  Program(own, "initdb", "16.4");
  Program(search_.dblab_root + "/pg/17/bin", "postgres", "17.10");
  Program(search_.dblab_root + "/pg/17/bin", "initdb", "17.10");
  search_.configured_dir = own;
  EXPECT_EQ(*FindProgramsOfMajor(16, {"postgres", "initdb"}, search_), own);
  EXPECT_EQ(*FindProgramsOfMajor(17, {"postgres", "initdb"}, search_),
            search_.dblab_root + "/pg/17/bin");
}

TEST_F(BinariesTest, ClientProgramsAreTheOldestMajorAtLeastTheServers) {
  for (const char* name : {"pg_dump", "pg_restore", "psql"}) {
    Program(search_.debian_root + "/15/bin", name, "15.14");
    Program(search_.dblab_root + "/client/18/bin", name, "18.6");
  }
  auto for13 = FindProgramsAtLeast(13, {"pg_dump", "pg_restore"}, search_);
  ASSERT_TRUE(for13.ok());
  EXPECT_EQ(for13->major, 15);
  EXPECT_EQ(for13->dir, search_.debian_root + "/15/bin");
  auto for16 = FindProgramsAtLeast(16, {"pg_dump", "pg_restore"}, search_);
  ASSERT_TRUE(for16.ok());
  EXPECT_EQ(for16->major, 18);
  EXPECT_EQ(for16->dir, search_.dblab_root + "/client/18/bin");
  auto for19 = FindProgramsAtLeast(19, {"pg_dump"}, search_);
  ASSERT_FALSE(for19.ok());
  EXPECT_NE(for19.error().message.find("major 19 or newer"), std::string::npos);
}

TEST_F(BinariesTest, ProgramMajorReadsVersionOutput) {
  Program(root_ + "/v", "pg_dump", "18.6");
  EXPECT_EQ(ProgramMajor(root_ + "/v/pg_dump"), 18);
  EXPECT_EQ(ProgramMajor(root_ + "/v/absent"), 0);
}

TEST(ImageTagMajorTest, ReadsTheMajorOfDatabaseImageTags) {
  EXPECT_EQ(ImageTagMajor("postgresai/extended-postgres:17-0.6.2"), 17);
  EXPECT_EQ(ImageTagMajor("postgresai/extended-postgres:13"), 13);
  EXPECT_EQ(ImageTagMajor("postgres:16.4-bookworm"), 16);
  EXPECT_EQ(ImageTagMajor("registry.example:5000/team/postgres:18"), 18);
  EXPECT_EQ(ImageTagMajor("registry.example:5000/team/postgres"), 0);
  EXPECT_EQ(ImageTagMajor("postgresai/ce-ui:latest"), 0);
  EXPECT_EQ(ImageTagMajor("postgres"), 0);
  EXPECT_EQ(ImageTagMajor("postgres:170"), 0);
  EXPECT_EQ(ImageTagMajor("postgres:17beta"), 0);
}

TEST(ClientProgramTest, OnlyBareNamesOfReadingProgramsAreResolved) {
  EXPECT_TRUE(IsPostgresClientProgram("pg_basebackup"));
  EXPECT_TRUE(IsPostgresClientProgram("pg_dump"));
  EXPECT_FALSE(IsPostgresClientProgram("/usr/lib/postgresql/15/bin/pg_basebackup"));
  EXPECT_FALSE(IsPostgresClientProgram("pgbackrest"));
}

}  // namespace
}  // namespace dblab
