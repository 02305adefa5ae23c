#include "platform/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace dblab {
namespace {

TEST(FilesTest, AtomicWriteReplacesContentWithTheRequestedModeAndNoTempLeft) {
  char dir[] = "/tmp/dblab-files-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/token";
  ASSERT_TRUE(WriteFileAtomically(path, "old\n", 0644).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "new\n", 0600).ok());
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "new");
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_NE(access((path + ".tmp").c_str(), F_OK), 0);
  EXPECT_FALSE(WriteFileAtomically(std::string(dir) + "/missing/dir/file", "x", 0600).ok());
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace dblab
