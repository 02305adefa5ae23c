#include "storage/extent_usage.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace dblab {

namespace {

constexpr unsigned kExtentsPerCall = 256;

// Exclusive bytes of one file; -1 when the filesystem cannot tell (no FIEMAP).
int64_t FileExclusiveBytes(int fd) {
  std::vector<char> buffer(sizeof(fiemap) + kExtentsPerCall * sizeof(fiemap_extent));
  auto* map = reinterpret_cast<fiemap*>(buffer.data());
  int64_t exclusive = 0;
  uint64_t start = 0;
  while (true) {
    std::memset(buffer.data(), 0, buffer.size());
    map->fm_start = start;
    map->fm_length = FIEMAP_MAX_OFFSET - start;
    map->fm_extent_count = kExtentsPerCall;
    if (ioctl(fd, FS_IOC_FIEMAP, map) != 0) return -1;
    if (map->fm_mapped_extents == 0) break;
    bool last = false;
    for (unsigned i = 0; i < map->fm_mapped_extents; ++i) {
      const fiemap_extent& extent = map->fm_extents[i];
      // Inline extents live in metadata that snapshots share without saying so; they are tiny.
      if (!(extent.fe_flags & (FIEMAP_EXTENT_SHARED | FIEMAP_EXTENT_DATA_INLINE))) {
        exclusive += static_cast<int64_t>(extent.fe_length);
      }
      start = extent.fe_logical + extent.fe_length;
      last |= (extent.fe_flags & FIEMAP_EXTENT_LAST) != 0;
    }
    if (last) break;
  }
  return exclusive;
}

}  // namespace

Result<int64_t> ExclusiveBytes(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code error;
  int64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(
           root, fs::directory_options::skip_permission_denied, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file(error) || it->is_symlink(error)) continue;
    // A clone's files belong to its users: a FIFO swapped in after the check must not block us.
    int fd = open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) continue;  // removed meanwhile: a live server changes its files
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      close(fd);
      continue;
    }
    int64_t bytes = FileExclusiveBytes(fd);
    close(fd);
    if (bytes < 0) return Unavailable("filesystem of " + root + " does not report extents");
    total += bytes;
  }
  if (error && error != std::errc::no_such_file_or_directory) {
    return Internal("cannot walk " + root + ": " + error.message());
  }
  return total;
}

}  // namespace dblab
