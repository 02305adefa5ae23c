// The residue gate's byte search: finds any of a set of needles (original values that masking
// replaced) in files, one pass per file, whatever the set's size. Pure computation over bytes;
// thread-compatible (a built scanner is immutable, Scan may run on several threads).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace dblab {

class NeedleScanner {
 public:
  // Needles shorter than kMinNeedleBytes are ignored (they would match by chance).
  static constexpr size_t kMinNeedleBytes = 4;

  explicit NeedleScanner(std::vector<std::string> needles);

  const std::vector<std::string>& needles() const { return needles_; }
  size_t max_needle_bytes() const { return max_bytes_; }

  // Adds to counts[i] (sized like needles()) each occurrence of needle i in `data` that ends
  // after byte `skip_ends_before` (so a caller scanning overlapping windows counts each once).
  void Scan(std::string_view data, std::vector<int64_t>& counts, size_t skip_ends_before = 0) const;

  // Occurrences of each needle in the file at `path`, read in chunks. kInternal if unreadable.
  Result<std::vector<int64_t>> ScanFile(const std::string& path) const;

 private:
  static uint32_t Key(const char* bytes);  // the first 4 bytes, as they lie in memory
  bool MaybeKey(uint32_t key) const {
    uint32_t bit = (key * 2654435761u) >> (32 - kFilterBits);
    return (filter_[bit >> 6] >> (bit & 63)) & 1;
  }

  static constexpr int kFilterBits = 20;  // a 128 KiB bitmap: stays in cache, few false tests
  std::vector<std::string> needles_;
  size_t max_bytes_ = 0;
  std::vector<uint64_t> filter_;
  std::unordered_map<uint32_t, std::vector<uint32_t>> by_key_;  // first 4 bytes -> needles
};

// One needle found in one file.
struct NeedleHit {
  std::string file;   // path relative to the scanned root
  size_t needle = 0;  // index into NeedleScanner::needles()
  int64_t count = 0;
};

struct TreeScan {
  std::vector<NeedleHit> hits;  // by file, then needle
  int64_t files = 0;
  int64_t bytes = 0;
};

// Scans every regular file under `root` (symbolic links are not followed; a link out of the
// tree is not part of it). Unreadable files are an error: an unscanned file proves nothing.
Result<TreeScan> ScanTree(const NeedleScanner& scanner, const std::string& root);

}  // namespace dblab
