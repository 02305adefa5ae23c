#include "masking/scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace dblab {

namespace fs = std::filesystem;

NeedleScanner::NeedleScanner(std::vector<std::string> needles)
    : filter_(size_t{1} << (kFilterBits - 6), 0) {
  for (auto& needle : needles) {
    if (needle.size() < kMinNeedleBytes) continue;
    uint32_t key = Key(needle.data());
    uint32_t bit = (key * 2654435761u) >> (32 - kFilterBits);
    filter_[bit >> 6] |= uint64_t{1} << (bit & 63);
    by_key_[key].push_back(static_cast<uint32_t>(needles_.size()));
    max_bytes_ = std::max(max_bytes_, needle.size());
    needles_.push_back(std::move(needle));
  }
}

uint32_t NeedleScanner::Key(const char* bytes) {
  uint32_t key;
  std::memcpy(&key, bytes, sizeof key);
  return key;
}

void NeedleScanner::Scan(std::string_view data, std::vector<int64_t>& counts,
                         size_t skip_ends_before) const {
  if (needles_.empty() || data.size() < kMinNeedleBytes) return;
  counts.resize(needles_.size(), 0);
  const char* base = data.data();
  size_t last = data.size() - kMinNeedleBytes;
  for (size_t at = 0; at <= last; ++at) {
    uint32_t key = Key(base + at);
    if (!MaybeKey(key)) continue;
    auto found = by_key_.find(key);
    if (found == by_key_.end()) continue;
    for (uint32_t index : found->second) {
      const std::string& needle = needles_[index];
      size_t end = at + needle.size();
      if (end > data.size() || end <= skip_ends_before) continue;
      if (std::memcmp(base + at, needle.data(), needle.size()) == 0) ++counts[index];
    }
  }
}

Result<std::vector<int64_t>> NeedleScanner::ScanFile(const std::string& path) const {
  std::vector<int64_t> counts(needles_.size(), 0);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Internal("cannot read " + path + ": " + strerror(errno));
  size_t chunk = 4 << 20;
  struct stat info {};
  if (fstat(fd, &info) == 0 && info.st_size >= 0) {
    chunk = std::clamp<size_t>(static_cast<size_t>(info.st_size) + 1, 4096, chunk);
  }
  size_t keep = max_bytes_ > 0 ? max_bytes_ - 1 : 0;  // a needle may straddle two chunks
  std::string buffer(keep + chunk, '\0');
  size_t kept = 0;
  while (true) {
    ssize_t got = read(fd, buffer.data() + kept, chunk);
    if (got < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      close(fd);
      return Internal("cannot read " + path + ": " + strerror(saved));
    }
    if (got == 0) break;
    size_t filled = kept + static_cast<size_t>(got);
    Scan(std::string_view(buffer.data(), filled), counts, kept);
    size_t next = std::min(keep, filled);
    std::memmove(buffer.data(), buffer.data() + filled - next, next);
    kept = next;
  }
  close(fd);
  return counts;
}

Result<TreeScan> ScanTree(const NeedleScanner& scanner, const std::string& root) {
  TreeScan result;
  std::error_code error;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, error), end;
  if (error) return Internal("cannot list " + root + ": " + error.message());
  for (; it != end; it.increment(error)) {
    if (error) return Internal("cannot list " + root + ": " + error.message());
    const fs::directory_entry& entry = *it;
    if (!entry.is_regular_file(error) || entry.is_symlink(error)) continue;
    std::string relative = fs::relative(entry.path(), root, error).string();
    DBLAB_ASSIGN_OR_RETURN(std::vector<int64_t> counts, scanner.ScanFile(entry.path().string()));
    ++result.files;
    result.bytes += static_cast<int64_t>(entry.file_size(error));
    for (size_t i = 0; i < counts.size(); ++i) {
      if (counts[i] > 0) result.hits.push_back({relative, i, counts[i]});
    }
  }
  if (error) return Internal("cannot list " + root + ": " + error.message());
  return result;
}

}  // namespace dblab
