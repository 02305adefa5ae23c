// A reader for YAML configuration files: typed values out of yaml-cpp nodes, with errors that
// name the file, the line and the key path, and a warning for every key nobody read.
//
// Contract:
// - Merge keys: Map resolves `<<` (Debian's yaml-cpp 0.7 does not). Keys written in a mapping
//   win over merged ones wherever the `<<` sits; among several `<<` keys, or the items of a
//   `<<: [*a, *b]` list, the earlier wins; merged mappings resolve their own merges, at most
//   kMaxMergeDepth levels deep. Merges are shallow, as in YAML. A quoted "<<" is an ordinary key.
//   A key written twice in one mapping is an error naming both lines.
// - Values: the getters (Scalar, String, Int, Bool, StringList) read one key of a YamlMapping and
//   mark it used. An absent or null key leaves `*out` as it was (the caller's default). Text is
//   returned after `${NAME}` expansion from the VariableLookup: an unset variable is empty, and a
//   `$` that is not part of `${NAME}` stays as written. Expansion runs after YAML parsing, so a
//   variable's value is never read as YAML.
// - Errors: every error is a kBadRequest reading "ORIGIN: line N: key.path: what is wrong", the
//   line taken from the node at fault or, failing that, from where the key path was read.
// - Warnings: FinishSection reports each key of a mapping that was not read, as ignored (with a
//   reason the caller gives) or as unknown; TakeWarnings returns them in file order, one per key
//   as written (a key that reaches several mappings through an anchor is reported once).
//
// Ownership: the reader keeps a reference to the VariableLookup, which must outlive it; entries
// and mappings share yaml-cpp's nodes with the document.
// Thread-safety: none; one reader reads one document on one thread.
// Failure modes: the reader itself never throws, but yaml-cpp does (YAML::Load on a syntax error):
// callers wrap loading and reading in a try and turn a YAML::Exception into FailYaml.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace dblab {

// Looks up the variable NAME of `${NAME}`; nullopt when unset.
using VariableLookup = std::function<std::optional<std::string>(const std::string& name)>;

// "parent.key", or "key" at the top level.
std::string JoinKeyPath(const std::string& parent, const std::string& key);

// One key of a mapping after `<<` merges are resolved. `merged`: it came in through `<<`.
struct YamlEntry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
  bool merged = false;
};

// A mapping with its merge keys resolved, at a key path ("" for the top level); remembers which
// keys were read, for FinishSection.
class YamlMapping {
 public:
  YamlMapping(std::string path, std::vector<YamlEntry> entries)
      : path_(std::move(path)), entries_(std::move(entries)), used_(entries_.size(), false) {}

  const std::string& path() const { return path_; }
  // In file order, explicit keys first, then merged ones.
  const std::vector<YamlEntry>& entries() const { return entries_; }

  // The entry for `key`, marked as used; nullptr when absent. Unlike the reader's getters it
  // records no line for the key path.
  const YamlEntry* Take(std::string_view key);

  // The entries no one has taken yet.
  std::vector<const YamlEntry*> Unused() const;

 private:
  std::string path_;
  std::vector<YamlEntry> entries_;
  std::vector<bool> used_;
};

// A key that is accepted but not used. The warning reads
// "ignored [QUALIFIER ]key PATH (NOTE)", e.g. "ignored Docker-only key a.b (why)".
struct IgnoredKey {
  std::string_view key;
  std::string_view note;
  std::string_view qualifier = {};
};

class YamlReader;

struct YamlReaderOptions {
  // Keys FinishSection reports as ignored in every mapping, ahead of the section's own list.
  // The string_views must outlive the reader (literals, as a rule).
  std::vector<IgnoredKey> ignored_anywhere;
  // Called for each key FinishSection or IgnoreSection treats as ignored (after its warning; also
  // for a null key, which gets none), for a caller that still takes a hint from an ignored key,
  // such as an image tag. May call the reader's Warn.
  std::function<void(YamlReader& reader, const YamlEntry& entry, const std::string& path)>
      on_ignored;
};

class YamlReader {
 public:
  // How deep merged mappings may merge others: deeper is taken for an anchor loop.
  static constexpr int kMaxMergeDepth = 32;

  // `origin` starts every error message (usually the file name).
  YamlReader(std::string origin, const VariableLookup& variables, YamlReaderOptions options = {});

  // ---- Errors

  // kBadRequest "ORIGIN: line N: PATH: MESSAGE". The line is the node's, else the line where
  // PATH was read by a getter, else none ("ORIGIN: PATH: MESSAGE"); an empty PATH is left out.
  Error Fail(const std::string& path, const std::string& message,
             const YAML::Node& node = YAML::Node()) const;
  // kBadRequest "ORIGIN: line N: invalid YAML: ..." for what yaml-cpp threw.
  Error FailYaml(const YAML::Exception& e) const;

  // ---- Mappings

  // `node` with its `<<` merges resolved, at key path `path`. A null or absent node is an empty
  // mapping. Errors: not a mapping, a key that is not a plain string, a duplicate key, a `<<`
  // that names no mapping, merges deeper than kMaxMergeDepth.
  Result<YamlMapping> Map(const YAML::Node& node, const std::string& path, int depth = 0);
  // The mapping at `key` of `map` (empty when absent or null); marks the key used.
  Result<YamlMapping> Sub(YamlMapping& map, std::string_view key);

  // ---- Values (absent or null: nullopt or `*out` unchanged)

  // The text of a single value after `${NAME}` expansion. Errors: a list or mapping.
  Result<std::optional<std::string>> Scalar(YamlMapping& map, std::string_view key);
  // Errors: as Scalar, or a NUL character.
  Status String(YamlMapping& map, std::string_view key, std::string* out);
  // A whole decimal number (optional sign) in [min, max]. Errors name the range and the value.
  Status Int(YamlMapping& map, std::string_view key, int64_t min, int64_t max, int64_t* out);
  Status Int(YamlMapping& map, std::string_view key, int min, int max, int* out);
  // true/yes/on or false/no/off, any case.
  Status Bool(YamlMapping& map, std::string_view key, bool* out);
  // A list of non-empty single-line strings (each one argv entry or one name); replaces `*out`.
  Status StringList(YamlMapping& map, std::string_view key, std::vector<std::string>* out);

  // `${NAME}` in `text` replaced from the lookup (NAME: letters, digits and '_', not starting
  // with a digit; unset = empty); anything else stays as written.
  std::string Expand(const std::string& text) const;
  const VariableLookup& variables() const { return variables_; }

  // ---- Warnings

  // Warns about each key of `map` not read: as ignored when options.ignored_anywhere or
  // `ignored` names it (in that order), as unknown otherwise.
  void FinishSection(const YamlMapping& map, std::initializer_list<IgnoredKey> ignored = {});
  // A top-level `section` that is ignored as a whole: one warning per key in it, or one for the
  // section when it is no mapping (or its merges fail).
  void IgnoreSection(const YamlEntry& section, std::string_view note,
                     std::string_view qualifier = {});
  // "ignored [QUALIFIER ]key PATH (NOTE)" for `entry`; nothing when its value is null.
  void Ignore(const YamlEntry& entry, const std::string& path, std::string_view note,
              std::string_view qualifier = {});
  // A warning placed at `entry`'s key. Once per key as written: a later warning at the same key
  // is dropped, unless the first came through a merge and this one is where the key is written.
  void Warn(const YamlEntry& entry, std::string text);
  // A warning about no key in particular, listed after all others.
  void WarnUnplaced(std::string text);
  // The warnings so far in file order; leaves the reader without them.
  std::vector<std::string> TakeWarnings();

 private:
  struct PendingWarning {
    std::pair<int, int> at;  // line, column of the key
    std::string text;
    bool merged = false;
  };

  // map.Take(key), and remembers the line where the key path was read, for Fail.
  const YamlEntry* Take(YamlMapping& map, std::string_view key);

  std::string origin_;
  const VariableLookup& variables_;
  YamlReaderOptions options_;
  std::map<std::string, int> lines_;  // key path -> line where it was read
  std::vector<PendingWarning> warnings_;
};

}  // namespace dblab
