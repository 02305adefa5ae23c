#include "storage/pool_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dblab {

namespace {
constexpr size_t kMaxNameLength = 128;
}  // namespace

Status ValidateStorageName(const std::string& kind, const std::string& name) {
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  bool valid = !name.empty() && name.size() <= kMaxNameLength &&
               std::all_of(name.begin(), name.end(), allowed) && name.front() != '_' &&
               name.front() != '.' && name.front() != '-' && name.find("..") == std::string::npos;
  if (valid) return OkStatus();
  return BadRequest("invalid " + kind + " name \"" + name + "\": use 1-" +
                    std::to_string(kMaxNameLength) +
                    " letters, digits, '_', '.' or '-', starting with a letter or digit, "
                    "without \"..\"");
}

Status MakeDirectory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return OkStatus();
  int error = errno;
  struct stat st {};
  if (error == EEXIST && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return OkStatus();
  }
  return Internal("cannot create directory " + path + ": " + std::strerror(error));
}

Status SetMainDataOwner(const std::string& data, uid_t owner, gid_t group) {
  struct stat st {};
  if (::stat(data.c_str(), &st) != 0) {
    return Internal("cannot stat main data " + data + ": " + std::strerror(errno));
  }
  if ((st.st_uid != owner || st.st_gid != group) && ::chown(data.c_str(), owner, group) != 0) {
    return Internal("cannot chown main data " + data + " to " + std::to_string(owner) + ":" +
                    std::to_string(group) + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 07777) != 0700 && ::chmod(data.c_str(), 0700) != 0) {
    return Internal("cannot chmod 0700 main data " + data + ": " + std::strerror(errno));
  }
  return OkStatus();
}

}  // namespace dblab
