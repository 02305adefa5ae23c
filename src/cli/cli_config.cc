#include "cli/cli_config.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dblab {
namespace {

std::string ScalarOr(const YAML::Node& node, const char* key, const std::string& fallback = "") {
  const YAML::Node child = node[key];
  return child && child.IsScalar() ? child.as<std::string>() : fallback;
}

Error SystemError(const std::string& what, const std::filesystem::path& path) {
  return Internal(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

// mkdir -p with mode 0700 for every directory it creates.
Status MakePrivateDirectories(const std::filesystem::path& directory) {
  if (directory.empty() || std::filesystem::is_directory(directory)) return OkStatus();
  DBLAB_TRY(MakePrivateDirectories(directory.parent_path()));
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return SystemError("cannot create config directory", directory);
  }
  return OkStatus();
}

Status WriteAll(int fd, const std::string& data, const std::filesystem::path& path) {
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SystemError("cannot write", path);
    }
    written += static_cast<size_t>(n);
  }
  return OkStatus();
}

YAML::Node EnvironmentNode(const CliEnvironment& environment) {
  YAML::Node node =
      environment.raw && environment.raw.IsMap() ? YAML::Clone(environment.raw) : YAML::Node();
  node["url"] = environment.url;
  node["token"] = environment.token;
  node["insecure"] = environment.insecure;
  node["request_timeout"] = environment.request_timeout;
  YAML::Node branching = node["branching"] && node["branching"].IsMap()
                             ? node["branching"]
                             : YAML::Node(YAML::NodeType::Map);
  branching["current_branch"] = environment.current_branch;
  node["branching"] = branching;
  return node;
}

}  // namespace

Result<std::filesystem::path> CliConfigPath(const EnvLookup& env) {
  const char* override_dir = env("DBLAB_CLI_CONFIG_DIR");
  if (override_dir != nullptr && *override_dir != '\0') {
    return std::filesystem::path(override_dir) / "cli.yml";
  }
  const char* home = env("HOME");
  if (home == nullptr || *home == '\0') {
    return BadRequest(
        "cannot locate the CLI config: HOME is not set (set HOME or DBLAB_CLI_CONFIG_DIR)");
  }
  return std::filesystem::path(home) / ".dblab" / "cli" / "cli.yml";
}

Result<CliConfig> LoadCliConfig(const std::filesystem::path& file) {
  CliConfig config;
  std::ifstream input(file);
  if (!input) {
    if (errno == ENOENT || !std::filesystem::exists(file)) return config;
    return SystemError("cannot read CLI config", file);
  }
  std::stringstream text;
  text << input.rdbuf();
  try {
    config.raw = YAML::Load(text.str());
    if (!config.raw || config.raw.IsNull()) return config;
    if (!config.raw.IsMap()) {
      return BadRequest(
          fmt::format("CLI config {} is not a YAML mapping; fix or remove it", file.string()));
    }
    config.current_environment = ScalarOr(config.raw, "current_environment");
    const YAML::Node environments = config.raw["environments"];
    if (environments && environments.IsMap()) {
      for (const auto& entry : environments) {
        const YAML::Node node = entry.second;
        if (!node.IsMap()) continue;
        CliEnvironment environment;
        environment.raw = node;
        environment.url = ScalarOr(node, "url");
        environment.token = ScalarOr(node, "token");
        environment.insecure =
            node["insecure"] && node["insecure"].IsScalar() && node["insecure"].as<bool>(false);
        environment.request_timeout = ScalarOr(node, "request_timeout");
        if (node["branching"] && node["branching"].IsMap()) {
          environment.current_branch = ScalarOr(node["branching"], "current_branch");
        }
        config.environments[entry.first.as<std::string>()] = std::move(environment);
      }
    }
  } catch (const YAML::Exception& e) {
    return BadRequest(
        fmt::format("cannot parse CLI config {}: {}; fix or remove it", file.string(), e.what()));
  }
  return config;
}

Status SaveCliConfig(const std::filesystem::path& file, const CliConfig& config) {
  const std::filesystem::path directory = file.parent_path();
  DBLAB_TRY(MakePrivateDirectories(directory));

  YAML::Node document =
      config.raw && config.raw.IsMap() ? YAML::Clone(config.raw) : YAML::Node(YAML::NodeType::Map);
  document["current_environment"] = config.current_environment;
  YAML::Node environments(YAML::NodeType::Map);
  for (const auto& [id, environment] : config.environments) {
    environments[id] = EnvironmentNode(environment);
  }
  document["environments"] = environments;
  YAML::Emitter emitter;
  emitter << document;
  const std::string text = std::string(emitter.c_str()) + "\n";

  const std::filesystem::path temp = file.string() + ".tmp";
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return SystemError("cannot create", temp);
  Status written = WriteAll(fd, text, temp);
  if (written.ok() && ::fsync(fd) != 0) written = SystemError("cannot fsync", temp);
  if (::close(fd) != 0 && written.ok()) written = SystemError("cannot close", temp);
  if (!written.ok()) {
    ::unlink(temp.c_str());
    return written.error();
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    Error error = SystemError("cannot replace", file);
    ::unlink(temp.c_str());
    return error;
  }
  int dir_fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return OkStatus();
}

}  // namespace dblab
