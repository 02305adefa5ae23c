#include "postgres/server.h"

#include <gtest/gtest.h>

namespace dblab {
namespace {

TEST(ServerTest, PreloadLibrariesThatAreNotInstalledAreDropped) {
  // plpgsql ships with every PostgreSQL; the DLE example's pg_stat_kcache usually does not.
  std::string lib_dir = "/usr/lib/postgresql/15/lib";
  EXPECT_EQ(InstalledLibraries("plpgsql, pg_stat_kcache_not_here, \"plpgsql\"", lib_dir),
            "plpgsql,plpgsql");
  EXPECT_EQ(InstalledLibraries("", lib_dir), "");
}

TEST(ServerTest, SettingsAreValidated) {
  EXPECT_TRUE(ValidateSetting("shared_buffers", "32MB").ok());
  EXPECT_FALSE(ValidateSetting("bad name", "x").ok());
  EXPECT_FALSE(ValidateSetting("work_mem", "1MB\nhba_file=/tmp/x").ok());
}

TEST(ServerTest, SettingsNewerThanTheDataAreKnown) {
  EXPECT_EQ(SettingIntroducedIn("recovery_init_sync_method"), 14);
  EXPECT_EQ(SettingIntroducedIn("shared_buffers"), 0);
}

}  // namespace
}  // namespace dblab
