#include "config/yaml_reader.h"

#include <algorithm>
#include <limits>

#include "config/ascii.h"

namespace dblab {
namespace {

std::optional<int64_t> ParseInt(const std::string& text) {
  if (text.empty()) return std::nullopt;
  size_t i = (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (i == text.size()) return std::nullopt;
  int64_t value = 0;
  for (; i < text.size(); ++i) {
    if (!IsDigit(text[i])) return std::nullopt;
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, text[i] - '0', &value)) {
      return std::nullopt;
    }
  }
  return text[0] == '-' ? -value : value;
}

}  // namespace

std::string JoinKeyPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

const YamlEntry* YamlMapping::Take(std::string_view key) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].key == key) {
      used_[i] = true;
      return &entries_[i];
    }
  }
  return nullptr;
}

std::vector<const YamlEntry*> YamlMapping::Unused() const {
  std::vector<const YamlEntry*> out;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!used_[i]) out.push_back(&entries_[i]);
  }
  return out;
}

YamlReader::YamlReader(std::string origin, const VariableLookup& variables,
                       YamlReaderOptions options)
    : origin_(std::move(origin)), variables_(variables), options_(std::move(options)) {}

Error YamlReader::Fail(const std::string& path, const std::string& message,
                       const YAML::Node& node) const {
  int line = -1;
  if (node.IsDefined() && !node.Mark().is_null()) {
    line = node.Mark().line + 1;
  } else if (auto it = lines_.find(path); it != lines_.end()) {
    line = it->second;
  }
  std::string where = line > 0 ? origin_ + ": line " + std::to_string(line) : origin_;
  return BadRequest(where + ": " + (path.empty() ? "" : path + ": ") + message);
}

Error YamlReader::FailYaml(const YAML::Exception& e) const {
  std::string where =
      e.mark.is_null() ? origin_ : origin_ + ": line " + std::to_string(e.mark.line + 1);
  return BadRequest(where + ": invalid YAML: " + e.msg);
}

Result<YamlMapping> YamlReader::Map(const YAML::Node& node, const std::string& path, int depth) {
  if (depth > kMaxMergeDepth) {
    return Fail(path, "`<<` merges nested too deeply (an anchor that includes itself?)", node);
  }
  std::vector<YamlEntry> entries;
  if (!node.IsDefined() || node.IsNull()) return YamlMapping(path, {});
  if (!node.IsMap()) return Fail(path, "expected a mapping (key: value lines)", node);
  std::vector<YAML::Node> merge_sources;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) return Fail(path, "keys must be plain strings", it->first);
    std::string key = it->first.Scalar();
    // A quoted "<<" (tag "!") is an ordinary key; a plain one is a merge.
    if (key == "<<" && it->first.Tag() != "!") {
      merge_sources.push_back(it->second);
      continue;
    }
    for (const YamlEntry& existing : entries) {
      if (existing.key == key) {
        return Fail(JoinKeyPath(path, key),
                    "duplicate key (first at line " +
                        std::to_string(existing.key_node.Mark().line + 1) + ")",
                    it->first);
      }
    }
    entries.push_back(YamlEntry{key, it->first, it->second, false});
  }
  for (const YAML::Node& source : merge_sources) {
    std::vector<YAML::Node> maps;
    if (source.IsMap()) {
      maps.push_back(source);
    } else if (source.IsSequence()) {
      for (const YAML::Node& item : source) {
        if (!item.IsMap()) {
          return Fail(path, "`<<` list items must be mappings (e.g. *anchor)", item);
        }
        maps.push_back(item);
      }
    } else if (!source.IsNull()) {
      return Fail(path, "`<<` needs a mapping or a list of mappings (e.g. *anchor)", source);
    }
    for (const YAML::Node& map : maps) {
      DBLAB_ASSIGN_OR_RETURN(YamlMapping merged, Map(map, path, depth + 1));
      for (const YamlEntry& entry : merged.entries()) {
        bool present = std::any_of(entries.begin(), entries.end(),
                                   [&](const YamlEntry& e) { return e.key == entry.key; });
        if (!present) entries.push_back(YamlEntry{entry.key, entry.key_node, entry.value, true});
      }
    }
  }
  return YamlMapping(path, std::move(entries));
}

Result<YamlMapping> YamlReader::Sub(YamlMapping& map, std::string_view key) {
  const YamlEntry* entry = Take(map, key);
  std::string path = JoinKeyPath(map.path(), std::string(key));
  if (entry == nullptr) return YamlMapping(path, {});
  return Map(entry->value, path);
}

Result<std::optional<std::string>> YamlReader::Scalar(YamlMapping& map, std::string_view key) {
  const YamlEntry* entry = Take(map, key);
  if (entry == nullptr || entry->value.IsNull()) return std::optional<std::string>();
  if (!entry->value.IsScalar()) {
    return Fail(JoinKeyPath(map.path(), std::string(key)),
                "expected a single value, not a list or "
                "mapping",
                entry->value);
  }
  return std::optional<std::string>(Expand(entry->value.Scalar()));
}

Status YamlReader::String(YamlMapping& map, std::string_view key, std::string* out) {
  DBLAB_ASSIGN_OR_RETURN(std::optional<std::string> text, Scalar(map, key));
  if (text) {
    if (text->find('\0') != std::string::npos) {
      return Fail(JoinKeyPath(map.path(), std::string(key)), "must not contain NUL characters");
    }
    *out = *text;
  }
  return OkStatus();
}

Status YamlReader::Int(YamlMapping& map, std::string_view key, int64_t min, int64_t max,
                       int64_t* out) {
  DBLAB_ASSIGN_OR_RETURN(std::optional<std::string> text, Scalar(map, key));
  if (!text) return OkStatus();
  std::string path = JoinKeyPath(map.path(), std::string(key));
  std::optional<int64_t> value = ParseInt(*text);
  if (!value) return Fail(path, "expected a whole number, got '" + *text + "'");
  if (*value < min || *value > max) {
    return Fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                          ", got " + std::to_string(*value));
  }
  *out = *value;
  return OkStatus();
}

Status YamlReader::Int(YamlMapping& map, std::string_view key, int min, int max, int* out) {
  int64_t value = *out;
  DBLAB_TRY(Int(map, key, int64_t{min}, int64_t{max}, &value));
  *out = static_cast<int>(value);
  return OkStatus();
}

Status YamlReader::Bool(YamlMapping& map, std::string_view key, bool* out) {
  DBLAB_ASSIGN_OR_RETURN(std::optional<std::string> text, Scalar(map, key));
  if (!text) return OkStatus();
  std::string value = Lower(*text);
  if (value == "true" || value == "yes" || value == "on") {
    *out = true;
  } else if (value == "false" || value == "no" || value == "off") {
    *out = false;
  } else {
    return Fail(JoinKeyPath(map.path(), std::string(key)),
                "expected true or false, got '" + *text + "'");
  }
  return OkStatus();
}

Status YamlReader::StringList(YamlMapping& map, std::string_view key,
                              std::vector<std::string>* out) {
  const YamlEntry* entry = Take(map, key);
  if (entry == nullptr || entry->value.IsNull()) return OkStatus();
  std::string path = JoinKeyPath(map.path(), std::string(key));
  if (!entry->value.IsSequence()) return Fail(path, "expected a list (- item lines)", entry->value);
  out->clear();
  for (const YAML::Node& item : entry->value) {
    if (!item.IsScalar()) return Fail(path, "list items must be single values", item);
    std::string text = Expand(item.Scalar());
    if (text.empty() || HasControlBreak(text)) {
      return Fail(path, "list items must be non-empty single-line strings", item);
    }
    out->push_back(std::move(text));
  }
  return OkStatus();
}

std::string YamlReader::Expand(const std::string& text) const {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "${") == 0) {
      size_t close = text.find('}', i + 2);
      if (close != std::string::npos) {
        std::string name = text.substr(i + 2, close - i - 2);
        bool valid =
            !name.empty() && !IsDigit(name[0]) &&
            std::all_of(name.begin(), name.end(), [](char c) { return IsAlnum(c) || c == '_'; });
        if (valid) {
          out += variables_(name).value_or("");
          i = close + 1;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

void YamlReader::FinishSection(const YamlMapping& map, std::initializer_list<IgnoredKey> ignored) {
  auto named = [](const auto& rules, const YamlEntry& entry) {
    return std::find_if(std::begin(rules), std::end(rules),
                        [&](const IgnoredKey& rule) { return rule.key == entry.key; });
  };
  for (const YamlEntry* entry : map.Unused()) {
    std::string path = JoinKeyPath(map.path(), entry->key);
    const IgnoredKey* rule = nullptr;
    if (auto it = named(options_.ignored_anywhere, *entry); it != options_.ignored_anywhere.end()) {
      rule = &*it;
    } else if (auto it = named(ignored, *entry); it != ignored.end()) {
      rule = &*it;
    }
    if (rule == nullptr) {
      Warn(*entry, "unknown key " + path + " (ignored; check its spelling and indentation)");
      continue;
    }
    Ignore(*entry, path, rule->note, rule->qualifier);
    if (options_.on_ignored) options_.on_ignored(*this, *entry, path);
  }
}

void YamlReader::IgnoreSection(const YamlEntry& section, std::string_view note,
                               std::string_view qualifier) {
  if (section.value.IsMap()) {
    auto map = Map(section.value, section.key);
    if (map.ok()) {
      for (const YamlEntry& child : map->entries()) {
        std::string path = JoinKeyPath(section.key, child.key);
        Ignore(child, path, note, qualifier);
        if (options_.on_ignored) options_.on_ignored(*this, child, path);
      }
      return;
    }
  }
  Ignore(section, section.key, note, qualifier);
}

void YamlReader::Ignore(const YamlEntry& entry, const std::string& path, std::string_view note,
                        std::string_view qualifier) {
  if (entry.value.IsNull()) return;  // nothing set, nothing ignored
  std::string kind = qualifier.empty() ? "key " : std::string(qualifier) + " key ";
  Warn(entry, "ignored " + kind + path + " (" + std::string(note) + ")");
}

void YamlReader::Warn(const YamlEntry& entry, std::string text) {
  YAML::Mark mark = entry.key_node.Mark();
  std::pair<int, int> at{mark.line, mark.column};
  for (PendingWarning& warning : warnings_) {
    if (warning.at == at && !mark.is_null()) {
      if (warning.merged && !entry.merged) {
        warning.text = std::move(text);
        warning.merged = false;
      }
      return;
    }
  }
  warnings_.push_back(PendingWarning{at, std::move(text), entry.merged});
}

void YamlReader::WarnUnplaced(std::string text) {
  warnings_.push_back(PendingWarning{{std::numeric_limits<int>::max(), 0}, std::move(text)});
}

std::vector<std::string> YamlReader::TakeWarnings() {
  std::stable_sort(warnings_.begin(), warnings_.end(),
                   [](const PendingWarning& a, const PendingWarning& b) { return a.at < b.at; });
  std::vector<std::string> out;
  for (PendingWarning& warning : warnings_) out.push_back(std::move(warning.text));
  warnings_.clear();
  return out;
}

const YamlEntry* YamlReader::Take(YamlMapping& map, std::string_view key) {
  const YamlEntry* entry = map.Take(key);
  if (entry != nullptr && !entry->key_node.Mark().is_null()) {
    lines_[JoinKeyPath(map.path(), std::string(key))] = entry->key_node.Mark().line + 1;
  }
  return entry;
}

}  // namespace dblab
