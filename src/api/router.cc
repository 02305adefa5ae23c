#include "api/router.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <fstream>
#include <sstream>
#include <system_error>

#include "api/router_ops.h"
#include "common/version.h"

namespace dblab {
namespace {

constexpr size_t kMaxCloneIdLength = 64;

// First path segments DLE uses for its API. Such paths never fall through to the web UI, so a
// DLE client calling a route dblab lacks gets a JSON 404 rather than index.html.
// (Our web UI routes in the URL's hash, so DLE's /instance/... is an API path here.)
constexpr std::array<std::string_view, 14> kApiFirstSegments = {
    "healthz",  "status", "snapshots", "snapshot", "clones",      "clone",    "full-refresh",
    "branches", "branch", "admin",     "metrics",  "observation", "webhooks", "instance"};

// Auth before routing: every API path but /healthz and /metrics (DLE's: Prometheus scrapes it
// without a token) needs the token, so that without one a client learns nothing (not even which
// routes exist) and always gets 401, never 404 or 405.
bool RouteNeedsToken(const std::vector<std::string_view>& segments) {
  return !(segments.size() == 1 && (segments[0] == "healthz" || segments[0] == "metrics"));
}

constexpr std::string_view kNoUiPage =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>dblab engine</title></head>\n"
    "<body><h1>dblab engine</h1>\n<p>dblab engine API is running; the web UI was not built (run "
    "the UI build), API at <code>/api/...</code> (for example <code>/api/healthz</code>).</p>\n"
    "</body></html>\n";

ApiResponse JsonResponse(int status, const Json& json) {
  return ApiResponse{status, "application/json", json.dump(), ""};
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return segments;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash == path.npos ? path.npos : slash - start));
    if (slash == path.npos) break;
    start = slash + 1;
  }
  return segments;
}

bool IsApiPath(std::string_view path) {
  auto segments = SplitPath(path);
  if (segments.empty()) return false;
  for (auto first : kApiFirstSegments) {
    if (segments.front() == first) return true;
  }
  return false;
}

std::string ContentTypeFor(const std::filesystem::path& file) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".wasm", "application/wasm"},
  };
  std::string extension = file.extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = kTypes.find(extension);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

bool IsWithin(const std::filesystem::path& root, const std::filesystem::path& candidate) {
  auto [root_end, candidate_it] =
      std::mismatch(root.begin(), root.end(), candidate.begin(), candidate.end());
  return root_end == root.end();
}

std::optional<std::string> ReadWholeFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(content).str();
}

std::string_view HeaderValue(const ApiRequest& request, const std::string& lower_case_name) {
  auto it = request.headers.find(lower_case_name);
  return it == request.headers.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace

bool MethodAllowed(std::string_view allow, std::string_view method) {
  size_t start = 0;
  while (start <= allow.size()) {
    size_t comma = allow.find(',', start);
    std::string_view item = allow.substr(start, comma == allow.npos ? allow.npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item == method) return true;
    if (comma == allow.npos) break;
    start = comma + 1;
  }
  return false;
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
      return 400;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kTooManyRequests:
      return 429;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

ApiResponse ErrorResponse(const Error& error) {
  return JsonResponse(HttpStatusFor(error.code), ErrorToJson(error));
}

bool IsValidCloneId(std::string_view id) {
  if (id.empty() || id.size() > kMaxCloneIdLength) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(id.front())) return false;
  for (char c : id) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsValidSnapshotId(std::string_view id) {
  size_t at = id.find('@');
  return at != std::string_view::npos && IsValidCloneId(id.substr(0, at)) &&
         IsValidCloneId(id.substr(at + 1));
}

std::optional<std::string> PercentDecode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex(text[i + 1]), low = hex(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  size_t length = a.size() > b.size() ? a.size() : b.size();
  // volatile keeps the compiler from turning the loop into an early-exit memcmp.
  volatile unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < length; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    difference = difference | (x ^ y);
  }
  return difference == 0;
}

const std::vector<std::pair<std::string_view, std::string_view>>& SecurityHeaders() {
  static const std::vector<std::pair<std::string_view, std::string_view>> kHeaders = {
      // The UI is one origin's scripts and styles; the favicon is a data: URL.
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Content-Type-Options", "nosniff"},
  };
  return kHeaders;
}

Router::Router(EngineService& engine, RouterOptions options)
    : engine_(engine),
      options_(std::move(options)),
      throttle_(std::make_unique<AuthThrottle>(options_.auth_throttle, options_.clock)),
      request_metrics_(std::make_unique<RequestMetrics>()) {
  if (!options_.ui_dir.empty()) {
    std::error_code ec;
    auto root = std::filesystem::canonical(options_.ui_dir, ec);
    if (!ec && std::filesystem::is_regular_file(root / "index.html", ec)) ui_root_ = root;
  }
}

ApiResponse Router::Handle(const ApiRequest& request) const {
  ApiResponse response = Dispatch(request);
  std::string_view target = request.target;
  request_metrics_->Record(target.substr(0, target.find_first_of("?#")), request.method,
                           response.status);
  return response;
}

ApiResponse Router::Dispatch(const ApiRequest& request) const {
  std::string_view target = request.target;
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  if (path.empty() || path.front() != '/') {
    return ErrorResponse(BadRequest("request target must be an absolute path"));
  }
  try {
    if (path == "/api" || path.starts_with("/api/")) return HandleApi(request, path.substr(4));
    if (IsApiPath(path) || IsOpsApiPath(path)) return HandleApi(request, path);
    return ServeUi(request, path);
  } catch (const std::exception& e) {
    spdlog::error("api: {} {}: unexpected exception: {}", request.method, path, e.what());
    return ErrorResponse(Internal("unexpected internal error; see the engine log"));
  }
}

std::optional<ApiResponse> Router::Authenticate(const ApiRequest& request) const {
  if (!auth_enabled()) return std::nullopt;
  const std::string& address = request.remote_address;
  if (auto wait = throttle_->RetryAfter(address); wait.count() > 0) {
    auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
    ApiResponse response = ErrorResponse(Error{
        ErrorCode::kTooManyRequests,
        fmt::format("too many wrong Verification-Tokens from {}; retry in {} s with the right "
                    "token (see the engine's token file or DBLAB_VERIFICATION_TOKEN)",
                    address.empty() ? "this address" : address, seconds)});
    response.retry_after = std::to_string(seconds);
    return response;
  }
  std::string_view token = HeaderValue(request, "verification-token");
  if (!ConstantTimeEquals(token, options_.token)) {
    // A missing token is not a guess (a client without one configured): it is not counted.
    // Only lockouts are logged, so that guessing cannot flood the log.
    auto lockout = token.empty() ? std::chrono::milliseconds(0) : throttle_->RecordFailure(address);
    if (lockout.count() > 0) {
      spdlog::warn("api: repeated wrong Verification-Tokens from {}; refusing it for {} ms",
                   address.empty() ? "an unknown address" : address, lockout.count());
    }
    return ErrorResponse(Error{ErrorCode::kUnauthorized,
                               "missing or wrong Verification-Token header; check your token"});
  }
  throttle_->RecordSuccess(address);
  return std::nullopt;
}

CloneJsonContext Router::CloneContext(const std::vector<Snapshot>& snapshots,
                                      const std::string& snapshot_id,
                                      const CloningSettings& settings) const {
  CloneJsonContext context;
  for (const auto& snapshot : snapshots) {
    if (snapshot.id == snapshot_id) context.snapshot = &snapshot;
  }
  context.max_idle_minutes = settings.max_idle_minutes;
  context.protection_lease_duration_minutes = settings.protection_lease_duration_minutes;
  context.protection_max_duration_minutes = settings.protection_max_duration_minutes;
  return context;
}

ApiResponse Router::CloneResponse(int status, const Clone& clone) const {
  CloningSettings settings = engine_.GetCloningSettings();
  std::vector<Snapshot> snapshots = engine_.ListSnapshots();
  return JsonResponse(status,
                      CloneToJson(clone, CloneContext(snapshots, clone.snapshot_id, settings)));
}

ApiResponse Router::HandleApi(const ApiRequest& request, std::string_view path) const {
  auto segments = SplitPath(path);
  if (RouteNeedsToken(segments)) {
    if (auto refused = Authenticate(request)) return std::move(*refused);
  }
  if (auto response = HandleOpsApi(request, path)) return std::move(*response);
  if (auto response = HandleBranchApi(request, segments)) return std::move(*response);
  std::string_view route;  // "healthz", "clone/{id}", ...
  std::string_view allow;
  std::string_view raw_id;
  if (segments.size() == 1) {
    route = segments[0];
    if (route == "healthz") {
      allow = "GET, POST";  // DLE's UI and load balancers use either
    } else if (route == "status" || route == "clones") {
      allow = "GET";
    } else if (route == "clone" || route == "full-refresh" || route == "snapshot") {
      allow = "POST";
    }
  } else if (segments.size() == 2 && segments[0] == "clone") {
    route = "clone/{id}";
    allow = "GET, PATCH, DELETE";
    raw_id = segments[1];
  } else if (segments.size() == 3 && segments[0] == "clone" && segments[2] == "reset") {
    route = "clone/{id}/reset";
    allow = "POST";
    raw_id = segments[1];
  }
  if (allow.empty()) {
    return ErrorResponse(NotFound(fmt::format("no API route {}; see /api/status", path)));
  }
  if (!MethodAllowed(allow, request.method)) {
    ApiResponse response = JsonResponse(
        405, Json{{"code", "METHOD_NOT_ALLOWED"},
                  {"message",
                   fmt::format("{} does not accept {}; use {}", path, request.method, allow)}});
    response.allow = std::string(allow);
    return response;
  }
  std::string id;
  if (!raw_id.empty()) {
    auto decoded = PercentDecode(raw_id);
    if (!decoded || !IsValidCloneId(*decoded)) {
      return ErrorResponse(BadRequest(
          "invalid clone id: it must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ and have at most 64 "
          "characters"));
    }
    id = std::move(*decoded);
  }
  if (request.body.size() > options_.max_body_bytes) {
    return ErrorResponse(Error{ErrorCode::kTooLarge,
                               fmt::format("request body over {} bytes", options_.max_body_bytes)});
  }

  const std::string& method = request.method;
  if (route == "healthz") {
    return JsonResponse(200, Json{{"version", kVersion}, {"edition", kEdition}});
  }
  if (route == "status") {
    return JsonResponse(200, InstanceStatusToJson(engine_.GetStatus(), engine_.ListSnapshots()));
  }
  if (route == "clones") {
    std::vector<Clone> clones = engine_.ListClones();
    CloningSettings settings = engine_.GetCloningSettings();
    std::vector<Snapshot> snapshots = engine_.ListSnapshots();
    Json json = Json::array();
    for (const auto& clone : clones) {
      json.push_back(CloneToJson(clone, CloneContext(snapshots, clone.snapshot_id, settings)));
    }
    return JsonResponse(200, json);
  }
  if (route == "clone") {
    auto parsed = ParseCreateCloneRequest(request.body);
    if (!parsed) return ErrorResponse(parsed.error());
    if (!parsed->id.empty() && !IsValidCloneId(parsed->id)) {
      return ErrorResponse(BadRequest(
          "field \"id\": a clone id must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ and have at most 64 "
          "characters"));
    }
    auto clone = engine_.CreateClone(*parsed);
    if (!clone) return ErrorResponse(clone.error());
    return CloneResponse(201, *clone);
  }
  if (route == "snapshot") {
    auto snapshot = engine_.CreateSnapshot();
    if (!snapshot) return ErrorResponse(snapshot.error());
    return JsonResponse(200, SnapshotToJson(*snapshot));
  }
  if (route == "full-refresh") {
    Status status = engine_.FullRefresh();
    if (!status) return ErrorResponse(status.error());
    return JsonResponse(200, Json{{"status", "OK"}, {"message", "Full refresh started"}});
  }
  if (route == "clone/{id}/reset") {
    auto parsed = ParseResetCloneRequest(request.body);
    if (!parsed) return ErrorResponse(parsed.error());
    auto clone = engine_.ResetClone(id, *parsed);
    if (!clone) return ErrorResponse(clone.error());
    return CloneResponse(200, *clone);
  }
  // route == "clone/{id}"
  if (method == "GET") {
    auto clone = engine_.GetClone(id);
    if (!clone) return ErrorResponse(clone.error());
    return CloneResponse(200, *clone);
  }
  if (method == "PATCH") {
    auto parsed = ParseUpdateCloneRequest(request.body);
    if (!parsed) return ErrorResponse(parsed.error());
    auto clone = engine_.UpdateClone(id, *parsed);
    if (!clone) return ErrorResponse(clone.error());
    return CloneResponse(200, *clone);
  }
  Status status = engine_.DestroyClone(id);
  if (!status) return ErrorResponse(status.error());
  return JsonResponse(200, Json{{"status", "OK"}, {"message", "Clone is being deleted"}});
}

ApiResponse Router::ServeUi(const ApiRequest& request, std::string_view path) const {
  if (request.method != "GET") {
    ApiResponse response = JsonResponse(
        405, Json{{"code", "METHOD_NOT_ALLOWED"},
                  {"message", fmt::format("{} only serves the web UI; use GET", path)}});
    response.allow = "GET";
    return response;
  }
  auto decoded = PercentDecode(path);
  if (!decoded) return ErrorResponse(BadRequest("malformed percent-encoding in the path"));
  if (ui_root_.empty()) {
    if (*decoded == "/" || *decoded == "/index.html") {
      return ApiResponse{200, "text/html; charset=utf-8", std::string(kNoUiPage), ""};
    }
    return ErrorResponse(NotFound("no such page: the web UI was not built"));
  }
  auto not_found = [] { return ErrorResponse(NotFound("no such file in the web UI")); };
  std::error_code ec;
  std::filesystem::path candidate =
      std::filesystem::weakly_canonical(ui_root_ / decoded->substr(1), ec);
  if (ec || !IsWithin(ui_root_, candidate)) return not_found();
  if (std::filesystem::is_directory(candidate, ec)) candidate /= "index.html";
  if (!std::filesystem::is_regular_file(candidate, ec)) {
    // Client-side routes (/clones/x) get the app; a missing asset (/assets/x.js) is a 404.
    std::string_view last = *decoded;
    last.remove_prefix(last.rfind('/') + 1);
    if (last.find('.') != std::string_view::npos) return not_found();
    candidate = ui_root_ / "index.html";
  }
  // Re-check: index.html under a subdirectory could be a symlink leading out of the root.
  candidate = std::filesystem::canonical(candidate, ec);
  if (ec || !IsWithin(ui_root_, candidate)) return not_found();
  auto content = ReadWholeFile(candidate);
  if (!content) {
    spdlog::error("api: cannot read web UI file {}", candidate.string());
    return ErrorResponse(Internal("cannot read a web UI file; see the engine log"));
  }
  return ApiResponse{200, ContentTypeFor(candidate), std::move(*content), ""};
}

}  // namespace dblab
