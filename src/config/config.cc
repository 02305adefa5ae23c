#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include "config/ascii.h"
#include "config/dle_sections.h"
#include "config/yaml_reader.h"

namespace dblab {
namespace {

constexpr const char* kDefaultPool = "dblab_pool";

}  // namespace

bool RetrievalConfig::HasJob(const std::string& job) const {
  return std::find(jobs.begin(), jobs.end(), job) != jobs.end();
}

std::string EngineConfig::PoolName() const {
  return selected_pool.empty() ? kDefaultPool : selected_pool;
}

std::string EngineConfig::PoolPath() const {
  return (mount_dir == "/" ? "" : mount_dir) + "/" + PoolName();
}

std::string EngineConfig::DumpLocation() const {
  return retrieval.logical_dump.dump_location.empty() ? PoolPath() + "/dump"
                                                      : retrieval.logical_dump.dump_location;
}

std::string EngineConfig::RestoreLocation() const {
  return retrieval.logical_restore.dump_location.empty() ? DumpLocation()
                                                         : retrieval.logical_restore.dump_location;
}

std::optional<std::string> ProcessEnvironment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<EngineConfig> ParseConfig(const std::string& yaml_text, const std::string& origin) {
  return ParseConfig(yaml_text, origin, ProcessEnvironment);
}

Result<EngineConfig> ParseConfig(const std::string& yaml_text, const std::string& origin,
                                 const EnvLookup& env) {
  int image_major = 0;
  YamlReader reader(origin, env, DleReaderOptions(&image_major));
  try {
    YAML::Node document = YAML::Load(yaml_text);
    if (document.IsDefined() && !document.IsNull() && !document.IsMap()) {
      return reader.Fail("", "the top level must be a mapping (server:, provision:, ...)",
                         document);
    }
    DBLAB_ASSIGN_OR_RETURN(YamlMapping root, reader.Map(document, ""));
    EngineConfig config;
    DBLAB_TRY(ReadDleSections(reader, root, &config));
    config.warnings = reader.TakeWarnings();
    config.retrieval.image_major = image_major;
    return config;
  } catch (const YAML::Exception& e) {
    return reader.FailYaml(e);
  }
}

Result<EngineConfig> LoadConfigFile(const std::string& path) {
  return LoadConfigFile(path, ProcessEnvironment);
}

Result<EngineConfig> LoadConfigFile(const std::string& path, const EnvLookup& env) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    int error = errno;
    std::string message = "read config " + path + ": " + std::strerror(error);
    if (error == ENOENT) return NotFound(message);
    return Internal(message);
  }
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) return Internal("read config " + path + ": read error");
  return ParseConfig(text.str(), path, env);
}

Result<int64_t> ParseByteSize(const std::string& text) {
  auto fail = [&] {
    return BadRequest("'" + text +
                      "' is not a byte size; use a whole or decimal number with an optional "
                      "unit B, K, M, G, T or P (binary: 1K = 1024), e.g. 20GB or 512MiB");
  };
  size_t i = 0;
  auto skip_spaces = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  skip_spaces();
  int64_t whole = 0;
  size_t digits = 0;
  for (; i < text.size() && IsDigit(text[i]); ++i, ++digits) {
    if (__builtin_mul_overflow(whole, 10, &whole) ||
        __builtin_add_overflow(whole, text[i] - '0', &whole)) {
      return BadRequest("'" + text + "' is too large");
    }
  }
  long double fraction = 0;
  if (i < text.size() && text[i] == '.') {
    long double scale = 0.1L;
    for (++i; i < text.size() && IsDigit(text[i]); ++i, ++digits, scale /= 10) {
      fraction += (text[i] - '0') * scale;
    }
  }
  if (digits == 0) return fail();
  skip_spaces();
  std::string unit = Lower(text.substr(i));
  while (!unit.empty() && (unit.back() == ' ' || unit.back() == '\t')) unit.pop_back();
  static const std::pair<std::string_view, int> kUnits[] = {
      {"", 0},   {"b", 0},   {"k", 1}, {"kb", 1}, {"kib", 1}, {"m", 2},
      {"mb", 2}, {"mib", 2}, {"g", 3}, {"gb", 3}, {"gib", 3}, {"t", 4},
      {"tb", 4}, {"tib", 4}, {"p", 5}, {"pb", 5}, {"pib", 5},
  };
  auto found = std::find_if(std::begin(kUnits), std::end(kUnits),
                            [&](const auto& u) { return u.first == unit; });
  if (found == std::end(kUnits)) return fail();
  int64_t multiplier = int64_t{1} << (10 * found->second);
  int64_t bytes = 0;
  if (__builtin_mul_overflow(whole, multiplier, &bytes) ||
      __builtin_add_overflow(bytes, static_cast<int64_t>(std::floor(fraction * multiplier)),
                             &bytes)) {
    return BadRequest("'" + text + "' is too large");
  }
  return bytes;
}

}  // namespace dblab
