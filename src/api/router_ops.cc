// Operations routes of the Router: retrieval state, Prometheus metrics, admin, observation and
// the live log's tokens (the stream itself is HttpServer's). Kept apart from router.cc so the
// clone routes and these evolve separately.
#include "api/router_ops.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "api/retrieval_json.h"
#include "api/router.h"
#include "ops/admin_config.h"
#include "ops/observer.h"

namespace dblab {
namespace {

struct OpsRoute {
  std::string_view name;   // "instance/retrieval"; "{}" stands for one path segment
  std::string_view allow;  // methods
  bool needs_token;
};

constexpr OpsRoute kOpsRoutes[] = {
    {"instance/retrieval", "GET", true},
    {"metrics", "GET", false},  // DLE: no Verification-Token, so Prometheus scrapes it as is
    {"observation/start", "POST", true},
    {"observation/stop", "POST", true},
    {"observation/summary/{}/{}", "GET", true},
    {"observation/download", "GET", true},
    {"admin/config", "GET, POST", true},
    {"admin/config.yaml", "GET", true},
    {"admin/test-db-source", "POST", true},
    {"admin/probe-source", "POST", true},
    {"admin/ws-auth", "GET, POST", true},  // DLE's UI GETs it; its OpenAPI file says POST
};

std::string_view Trim(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return path;
}

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return parts;
    path.remove_prefix(slash + 1);
  }
}

// The route `path` matches, and the segments that stood for "{}".
const OpsRoute* FindOpsRoute(std::string_view path, std::vector<std::string_view>* params) {
  auto segments = Split(Trim(path));
  for (const OpsRoute& route : kOpsRoutes) {
    auto pattern = Split(route.name);
    if (pattern.size() != segments.size()) continue;
    params->clear();
    bool match = true;
    for (size_t i = 0; i < pattern.size() && match; ++i) {
      if (pattern[i] == "{}") {
        params->push_back(segments[i]);
      } else {
        match = pattern[i] == segments[i];
      }
    }
    if (match) return &route;
  }
  return nullptr;
}

std::optional<uint64_t> ParseSessionId(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t next = value * 10 + static_cast<uint64_t>(c - '0');
    if (next < value) return std::nullopt;
    value = next;
  }
  return value;
}

ApiResponse BadCloneId() {
  return ErrorResponse(
      BadRequest("invalid clone id: it must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ and have at most 64 "
                 "characters"));
}

ApiResponse Json200(const Json& json) { return ApiResponse{200, "application/json", json.dump()}; }

}  // namespace

// Value of `name` in the query string of `target` (percent-decoded, '+' as a space); nullopt
// when absent or malformed.
std::optional<std::string> QueryParam(std::string_view target, std::string_view name) {
  size_t question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t equals = pair.find('=');
    if (pair.substr(0, equals) == name) {
      std::string value(equals == std::string_view::npos ? "" : pair.substr(equals + 1));
      std::replace(value.begin(), value.end(), '+', ' ');
      return PercentDecode(value);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool IsOpsApiPath(std::string_view path) {
  path = Trim(path);
  return path == "instance/retrieval" || path == "instance/logs";
}

std::optional<ApiResponse> Router::HandleOpsApi(const ApiRequest& request,
                                                std::string_view path) const {
  std::vector<std::string_view> params;
  const OpsRoute* route = FindOpsRoute(path, &params);
  if (!route) return std::nullopt;
  if (!MethodAllowed(route->allow, request.method)) {
    ApiResponse response{405, "application/json",
                         Json{{"code", "METHOD_NOT_ALLOWED"},
                              {"message", fmt::format("{} does not accept {}; use {}", path,
                                                      request.method, route->allow)}}
                             .dump()};
    response.allow = std::string(route->allow);
    return response;
  }
  if (route->needs_token) {
    if (auto refused = Authenticate(request)) return refused;
  }
  if (request.body.size() > options_.max_body_bytes) {
    return ErrorResponse(Error{ErrorCode::kTooLarge,
                               fmt::format("request body over {} bytes", options_.max_body_bytes)});
  }
  std::string_view name = route->name;
  if (name == "instance/retrieval") {
    return Json200(RetrievalToJson(engine_.GetStatus().retrieval, engine_.GetRetrievalActivity()));
  }
  if (name == "metrics") {
    std::string text = RenderInstanceMetrics(engine_.GetStatus(), engine_.ListSnapshots(),
                                             std::chrono::system_clock::now());
    text += engine_.OperationMetricsText();
    text += request_metrics_->Render();
    return ApiResponse{200, "text/plain; version=0.0.4; charset=utf-8", std::move(text)};
  }
  if (name == "observation/start") {
    auto parsed = ParseStartObservationRequest(request.body);
    if (!parsed) return ErrorResponse(parsed.error());
    if (!IsValidCloneId(parsed->clone_id)) return BadCloneId();
    auto session = engine_.StartObservation(*parsed);
    if (!session) return ErrorResponse(session.error());
    return ApiResponse{200, "application/json", ObservationSessionToJson(*session)};
  }
  if (name == "observation/stop") {
    auto parsed = ParseStopObservationRequest(request.body);
    if (!parsed) return ErrorResponse(parsed.error());
    if (!IsValidCloneId(parsed->clone_id)) return BadCloneId();
    auto session = engine_.StopObservation(parsed->clone_id, parsed->overall_error);
    if (!session) return ErrorResponse(session.error());
    return ApiResponse{200, "application/json", ObservationSessionToJson(*session)};
  }
  if (name == "observation/summary/{}/{}" || name == "observation/download") {
    std::optional<std::string> clone_id, session_text, type = std::string("summary");
    if (name == "observation/download") {
      clone_id = QueryParam(request.target, "clone_id");
      session_text = QueryParam(request.target, "session_id");
      type = QueryParam(request.target, "artifact_type");
      if (!clone_id || !session_text || !type) {
        return ErrorResponse(
            BadRequest("artifact_type, clone_id and session_id are required query parameters"));
      }
    } else {
      clone_id = PercentDecode(params[0]);
      session_text = PercentDecode(params[1]);
    }
    if (!clone_id || !IsValidCloneId(*clone_id)) return BadCloneId();
    auto session_id = session_text ? ParseSessionId(*session_text) : std::nullopt;
    if (!session_id) return ErrorResponse(BadRequest("session_id must be a positive number"));
    auto artifact = engine_.GetObservationArtifact(*clone_id, *session_id, *type);
    if (!artifact) return ErrorResponse(artifact.error());
    bool text = *type == "log";
    return ApiResponse{200, text ? "text/plain; charset=utf-8" : "application/json",
                       std::move(*artifact)};
  }
  if (name == "admin/config") {
    auto config =
        request.method == "GET" ? engine_.GetAdminConfig() : engine_.SetAdminConfig(request.body);
    if (!config) return ErrorResponse(config.error());
    return ApiResponse{200, "application/json", std::move(*config)};
  }
  if (name == "admin/ws-auth") {
    if (!options_.log_stream_tokens) {
      return ErrorResponse(Unavailable("live logs are not available in this engine"));
    }
    return Json200(Json{{"token", options_.log_stream_tokens->Issue()}});
  }
  if (name == "admin/config.yaml") {
    auto yaml = engine_.GetAdminConfigYaml();
    if (!yaml) return ErrorResponse(yaml.error());
    return ApiResponse{200, "application/yaml; charset=utf-8", std::move(*yaml)};
  }
  if (name == "admin/test-db-source" || name == "admin/probe-source") {
    auto candidate = ParseDbSourceCandidate(request.body);
    if (!candidate) return ErrorResponse(candidate.error());
    auto probe = engine_.TestDbSource(*candidate);
    if (!probe) return ErrorResponse(probe.error());
    Json json{
        {"status", probe->missing.empty() ? "ok" : "notice"},
        {"message", probe->missing.empty() ? "Source is reachable"
                                           : "Source is reachable, but some databases are missing"},
        {"version", probe->version},
        {"databases", probe->databases},
        {"dbSize", probe->size_bytes},
        {"missing", probe->missing}};
    return Json200(json);
  }
  return ErrorResponse(Internal("operations route without a handler"));
}

}  // namespace dblab
