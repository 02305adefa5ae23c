#include "ops/admin_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>

namespace dblab {
namespace {

using OJson = nlohmann::ordered_json;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool IsSecretKey(const std::string& key) {
  std::string lower = Lower(key);
  for (const char* word : {"password", "secret", "token", "connectionstring", "passfile",
                           "credential", "apikey", "accesskey", "privatekey"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return lower == "key" || lower.ends_with("_key") || lower.ends_with("key_id");
}

// password=... in a conninfo, and user:password@ in a URI.
std::string MaskInlinePasswords(const std::string& value) {
  static const std::regex kConninfo(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))", std::regex::icase);
  static const std::regex kUri(R"((://[^:/@\s]+:)[^@\s]+@)");
  std::string out = std::regex_replace(value, kConninfo, std::string("$1") + kMaskedValue);
  return std::regex_replace(out, kUri, std::string("$1") + kMaskedValue + "@");
}

void MaskNode(YAML::Node node) {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
      if (IsSecretKey(key) &&
          (it->second.IsScalar() || it->second.IsSequence() || it->second.IsMap())) {
        if (!(it->second.IsScalar() && it->second.Scalar().empty())) it->second = kMaskedValue;
        continue;
      }
      MaskNode(it->second);
    }
  } else if (node.IsSequence()) {
    for (auto item : node) MaskNode(item);
  } else if (node.IsScalar()) {
    std::string masked = MaskInlinePasswords(node.Scalar());
    if (masked != node.Scalar()) node = masked;
  }
}

bool HasControl(const std::string& text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < ' '; });
}

}  // namespace

std::string ProjectedConfigJson(const EngineConfig& config,
                                const std::optional<std::string>& refresh_timetable_override,
                                const std::optional<bool>& debug_override) {
  const RetrievalConfig& retrieval = config.retrieval;
  OJson databases = OJson::object();
  for (const auto& name : retrieval.logical_dump.databases) databases[name] = OJson::object();
  const SourceConnection& source = retrieval.logical_dump.source;
  OJson connection{{"dbname", source.dbname},
                   {"host", source.host},
                   {"port", source.port},
                   {"username", source.username}};
  OJson json{
      {"databaseConfigs", OJson{{"configs", config.clone_configs}}},
      {"global", OJson{{"debug", debug_override.value_or(config.debug)}}},
      {"retrieval", OJson{{"refresh", OJson{{"timetable", refresh_timetable_override.value_or(
                                                              retrieval.refresh_timetable)}}},
                          {"jobs", retrieval.jobs}}},
  };
  if (!retrieval.physical()) {
    json["retrieval"]["spec"] = OJson{
        {"logicalDump",
         OJson{{"options", OJson{{"customOptions", retrieval.logical_dump.custom_options},
                                 {"databases", databases},
                                 {"parallelJobs", retrieval.logical_dump.parallel_jobs},
                                 {"source", OJson{{"connection", connection}}}}}}},
        {"logicalRestore",
         OJson{{"options", OJson{{"customOptions", retrieval.logical_restore.custom_options},
                                 {"parallelJobs", retrieval.logical_restore.parallel_jobs}}}}}};
  }
  return json.dump();
}

Result<std::string> MaskedConfigYaml(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return BadRequest(std::string("the config file is not valid YAML: ") + e.what());
  }
  MaskNode(root);
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

Result<LiveConfigChange> ParseLiveConfigChange(const std::string& json_text) {
  OJson json = OJson::parse(json_text, nullptr, false);
  if (!json.is_object()) return BadRequest("the body must be a JSON object (DLE's config)");
  LiveConfigChange change;
  // Walks every leaf; the two live keys are taken, any other set leaf is refused by name.
  std::function<Status(const OJson&, const std::string&)> walk =
      [&](const OJson& node, const std::string& path) -> Status {
    if (node.is_object() && !node.empty()) {
      for (const auto& [key, value] : node.items()) {
        DBLAB_TRY(walk(value, path.empty() ? key : path + "." + key));
      }
      return OkStatus();
    }
    if (node.is_null() || (node.is_object() && node.empty())) return OkStatus();
    if (path == "retrieval.refresh.timetable") {
      if (!node.is_string() || HasControl(node.get<std::string>())) {
        return BadRequest("retrieval.refresh.timetable must be a 5-field cron string or \"\"");
      }
      change.refresh_timetable = node.get<std::string>();
      return OkStatus();
    }
    if (path == "global.debug") {
      if (!node.is_boolean()) return BadRequest("global.debug must be true or false");
      change.debug = node.get<bool>();
      return OkStatus();
    }
    return BadRequest(path +
                      " cannot be changed while the engine runs; live keys are "
                      "retrieval.refresh.timetable and global.debug. Edit the config file and "
                      "restart dblab-engine for this one");
  };
  DBLAB_TRY(walk(json, ""));
  return change;
}

Result<DbSourceCandidate> ParseDbSourceCandidate(const std::string& json_text) {
  OJson json = OJson::parse(json_text, nullptr, false);
  if (!json.is_object()) return BadRequest("the body must be a JSON object");
  DbSourceCandidate candidate;
  for (const auto& [key, value] : json.items()) {
    if (value.is_null()) continue;
    if (key == "port") {
      if (value.is_number_integer()) {
        candidate.port = value.get<int>();
      } else if (value.is_string()) {
        const std::string& text = value.get<std::string>();
        if (text.empty() || text.size() > 5 ||
            !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          return BadRequest("port must be a number from 1 to 65535");
        }
        candidate.port = std::stoi(text);
      } else {
        return BadRequest("port must be a number from 1 to 65535");
      }
    } else if (key == "db_list") {
      if (!value.is_array()) return BadRequest("db_list must be a list of database names");
      for (const auto& item : value) {
        if (!item.is_string()) return BadRequest("db_list must be a list of database names");
        candidate.db_list.push_back(item.get<std::string>());
      }
    } else if (key == "host" || key == "dbname" || key == "username" || key == "password") {
      if (!value.is_string()) return BadRequest(key + " must be a string");
      std::string text = value.get<std::string>();
      if (key == "host") candidate.host = text;
      if (key == "dbname") candidate.dbname = text;
      if (key == "username") candidate.username = text;
      if (key == "password") candidate.password = text;
    } else {
      return BadRequest("unknown field \"" + key +
                        "\"; expected host, port, dbname, username, password, db_list");
    }
  }
  DBLAB_TRY(ValidateDbSourceCandidate(candidate));
  return candidate;
}

Status ValidateDbSourceCandidate(const DbSourceCandidate& candidate) {
  if (candidate.host.empty() || candidate.host.size() > 255 || HasControl(candidate.host)) {
    return BadRequest("host is required: the source's host name or address");
  }
  if (candidate.port < 1 || candidate.port > 65535) {
    return BadRequest("port must be a number from 1 to 65535");
  }
  if (candidate.username.empty() || candidate.username.size() > 63 ||
      HasControl(candidate.username)) {
    return BadRequest("username is required (at most 63 bytes)");
  }
  if (candidate.dbname.size() > 63 || HasControl(candidate.dbname)) {
    return BadRequest("dbname must be a database name of at most 63 bytes");
  }
  if (candidate.password.size() > 1024 || candidate.password.find('\0') != std::string::npos) {
    return BadRequest("password must be at most 1024 bytes");
  }
  if (candidate.db_list.size() > 1000) return BadRequest("db_list has more than 1000 names");
  for (const auto& name : candidate.db_list) {
    if (name.empty() || name.size() > 63 || HasControl(name)) {
      return BadRequest("db_list items must be database names of 1 to 63 bytes");
    }
  }
  return OkStatus();
}

}  // namespace dblab
