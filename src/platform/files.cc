#include "platform/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dblab {

Status WriteFileAtomically(const std::string& path, const std::string& content, mode_t mode) {
  std::string temp = path + ".tmp";
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Internal("cannot write " + temp + ": " + strerror(errno));
  fchmod(fd, mode);  // the umask must not widen or narrow what the caller asked for
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string error = strerror(errno);
      close(fd);
      unlink(temp.c_str());
      return Internal("cannot write " + temp + ": " + error);
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(temp.c_str());
    return Internal("cannot sync " + temp + ": " + strerror(errno));
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    std::string error = strerror(errno);
    unlink(temp.c_str());
    return Internal("cannot rename " + temp + " to " + path + ": " + error);
  }
  // The rename is durable only once the directory that holds the name is synced.
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  int dir_fd = open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || fsync(dir_fd) != 0) {
    std::string error = strerror(errno);
    if (dir_fd >= 0) close(dir_fd);
    return Internal("cannot sync directory " + dir + " after writing " + path + ": " + error);
  }
  close(dir_fd);
  return OkStatus();
}

}  // namespace dblab
