#include "client/api_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <utility>

#include "branching/history.h"

namespace dblab {
namespace {

void EnsureCurlInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendToString(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

ErrorCode CodeForHttpStatus(long status) {
  switch (status) {
    case 400:
      return ErrorCode::kBadRequest;
    case 401:
    case 403:
      return ErrorCode::kUnauthorized;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kConflict;
    case 413:
      return ErrorCode::kTooLarge;
    case 429:
      return ErrorCode::kTooManyRequests;
    case 503:
      return ErrorCode::kUnavailable;
    default:
      return status >= 500 ? ErrorCode::kInternal : ErrorCode::kBadRequest;
  }
}

// The server answers {code, message}; fall back to the raw body for proxies and old servers.
Error HttpError(long status, const std::string& body) {
  std::string message;
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
    message = parsed["message"].get<std::string>();
  } else if (!body.empty() && !parsed.is_discarded()) {
    message = parsed.dump();
  } else {
    message = body.substr(0, 200);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
      message.pop_back();
    }
  }
  if (message.empty()) message = "request failed";
  return Error{CodeForHttpStatus(status), fmt::format("{} (HTTP {})", message, status)};
}

std::string StripTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

bool IsValidCloneId(const std::string& id) {
  auto alphanumeric = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (id.empty() || !alphanumeric(id[0])) return false;
  return std::all_of(id.begin(), id.end(), [&alphanumeric](char c) {
    return alphanumeric(c) || c == '_' || c == '.' || c == '-';
  });
}

ApiClient::ApiClient(ClientOptions options) : options_(std::move(options)) {
  options_.url = StripTrailingSlashes(options_.url);
  EnsureCurlInitialized();
}

Result<nlohmann::json> ApiClient::Status() { return Send("GET", "/status", nullptr); }
Result<nlohmann::json> ApiClient::Snapshots() { return Send("GET", "/snapshots", nullptr); }
Result<nlohmann::json> ApiClient::Clones() { return Send("GET", "/clones", nullptr); }
Result<nlohmann::json> ApiClient::FullRefresh() { return Send("POST", "/full-refresh", nullptr); }
bool IsValidSnapshotId(const std::string& id) {
  size_t at = id.find('@');
  return at != std::string::npos && IsValidCloneId(id.substr(0, at)) &&
         IsValidCloneId(id.substr(at + 1));
}

Result<nlohmann::json> ApiClient::DeleteSnapshot(const std::string& id) {
  if (!IsValidSnapshotId(id)) {
    return BadRequest(fmt::format(
        "invalid snapshot id \"{}\": it looks like <pool>@<name>; see dblab snapshot list", id));
  }
  return Send("DELETE", "/snapshot/" + id, nullptr);
}
Result<nlohmann::json> ApiClient::StartObservation(const nlohmann::json& body) {
  return Send("POST", "/observation/start", &body);
}

Result<nlohmann::json> ApiClient::StopObservation(const std::string& clone_id) {
  if (!IsValidCloneId(clone_id))
    return BadRequest(fmt::format("invalid clone id \"{}\"", clone_id));
  nlohmann::json body = {{"clone_id", clone_id}};
  return Send("POST", "/observation/stop", &body);
}

Result<nlohmann::json> ApiClient::SummaryObservation(const std::string& clone_id,
                                                     const std::string& session_id) {
  if (!IsValidCloneId(clone_id))
    return BadRequest(fmt::format("invalid clone id \"{}\"", clone_id));
  if (session_id.empty() || session_id.size() > 20 ||
      session_id.find_first_not_of("0123456789") != std::string::npos) {
    return BadRequest(fmt::format("invalid session id \"{}\": it is a number", session_id));
  }
  return Send("GET", "/observation/summary/" + clone_id + "/" + session_id, nullptr);
}

Result<std::string> ApiClient::DownloadObservationArtifact(const std::string& clone_id,
                                                           const std::string& session_id,
                                                           const std::string& artifact_type) {
  if (!IsValidCloneId(clone_id)) {
    return BadRequest(fmt::format("invalid clone id \"{}\"", clone_id));
  }
  if (session_id.empty() || session_id.size() > 20 ||
      session_id.find_first_not_of("0123456789") != std::string::npos) {
    return BadRequest(fmt::format("invalid session id \"{}\": it is a number", session_id));
  }
  if (artifact_type != "summary" && artifact_type != "locks" && artifact_type != "log") {
    return BadRequest(
        fmt::format("invalid artifact type \"{}\": use summary, locks or log", artifact_type));
  }
  return Perform("GET",
                 fmt::format("/observation/download?artifact_type={}&clone_id={}&session_id={}",
                             artifact_type, clone_id, session_id),
                 nullptr, true);
}

Result<nlohmann::json> ApiClient::CreateSnapshotFromClone(const std::string& clone_id,
                                                          const std::string& message) {
  if (!IsValidCloneId(clone_id)) {
    return BadRequest(fmt::format("invalid clone id \"{}\"", clone_id));
  }
  nlohmann::json body = {{"cloneID", clone_id}};
  if (!message.empty()) body["message"] = message;
  return Send("POST", "/branch/snapshot", &body);
}

namespace {
// The engine's rule (branching/history.h), so that a refused name never reaches it.
Status CheckBranchName(const std::string& name) { return ValidateBranchName(name); }
// A valid branch name may hold UTF-8 outside ASCII: percent-encoded in a path.
std::string BranchPath(const std::string& name) {
  std::string path;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '_' || c == '-') {
      path.push_back(static_cast<char>(c));
    } else {
      path += fmt::format("%{:02X}", c);
    }
  }
  return path;
}
Status CheckSnapshotId(const std::string& id) {
  if (IsValidSnapshotId(id)) return OkStatus();
  return BadRequest(fmt::format(
      "invalid snapshot id \"{}\": it looks like <pool>@<name>; see dblab snapshot list", id));
}
}  // namespace

Result<nlohmann::json> ApiClient::Branches() { return Send("GET", "/branches", nullptr); }
Result<nlohmann::json> ApiClient::CreateBranch(const nlohmann::json& body) {
  return Send("POST", "/branch", &body);
}
Result<nlohmann::json> ApiClient::DeleteBranch(const std::string& name) {
  DBLAB_TRY(CheckBranchName(name));
  return Send("DELETE", "/branch/" + BranchPath(name), nullptr);
}
Result<nlohmann::json> ApiClient::UpdateBranch(const std::string& name,
                                               const nlohmann::json& body) {
  DBLAB_TRY(CheckBranchName(name));
  return Send("PATCH", "/branch/" + BranchPath(name), &body);
}
Result<nlohmann::json> ApiClient::BranchLog(const std::string& name) {
  DBLAB_TRY(CheckBranchName(name));
  return Send("GET", "/branch/" + BranchPath(name) + "/log", nullptr);
}
Result<nlohmann::json> ApiClient::SnapshotDetails(const std::string& id) {
  DBLAB_TRY(CheckSnapshotId(id));
  return Send("GET", "/branch/snapshot/" + id, nullptr);
}
Result<nlohmann::json> ApiClient::BranchSnapshots(const std::string& name) {
  DBLAB_TRY(CheckBranchName(name));
  return Send("GET", "/snapshots?branch=" + BranchPath(name), nullptr);
}
Result<nlohmann::json> ApiClient::GetSnapshot(const std::string& id) {
  DBLAB_TRY(CheckSnapshotId(id));
  return Send("GET", "/snapshot/" + id, nullptr);
}
Result<nlohmann::json> ApiClient::UpdateSnapshot(const std::string& id,
                                                 const nlohmann::json& body) {
  DBLAB_TRY(CheckSnapshotId(id));
  return Send("PATCH", "/snapshot/" + id, &body);
}

Result<nlohmann::json> ApiClient::CreateSnapshot() { return Send("POST", "/snapshot", nullptr); }
Result<nlohmann::json> ApiClient::Healthz() { return Send("GET", "/healthz", nullptr, false); }
Result<nlohmann::json> ApiClient::LogStreamToken() {
  return Send("GET", "/admin/ws-auth", nullptr);
}

Result<nlohmann::json> ApiClient::GetClone(const std::string& id) {
  return CloneRequest("GET", id, "", nullptr);
}
Result<nlohmann::json> ApiClient::CreateClone(const nlohmann::json& body) {
  return Send("POST", "/clone", &body);
}
Result<nlohmann::json> ApiClient::UpdateClone(const std::string& id, const nlohmann::json& body) {
  return CloneRequest("PATCH", id, "", &body);
}
Result<nlohmann::json> ApiClient::ResetClone(const std::string& id, const nlohmann::json& body) {
  return CloneRequest("POST", id, "/reset", &body);
}
Result<nlohmann::json> ApiClient::DestroyClone(const std::string& id) {
  return CloneRequest("DELETE", id, "", nullptr);
}

Result<nlohmann::json> ApiClient::CloneRequest(const char* method, const std::string& id,
                                               const std::string& suffix,
                                               const nlohmann::json* body) {
  if (!IsValidCloneId(id)) {
    return BadRequest(fmt::format(
        "invalid clone id \"{}\": use letters, digits, '_', '.', '-', starting with a letter or "
        "digit",
        id));
  }
  return Send(method, "/clone/" + id + suffix, body);
}

Result<nlohmann::json> ApiClient::Send(const char* method, const std::string& path,
                                       const nlohmann::json* body, bool with_token) {
  DBLAB_ASSIGN_OR_RETURN(std::string response_body, Perform(method, path, body, with_token));
  if (response_body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return nlohmann::json(nullptr);
  }
  const std::string url = options_.url + path;
  auto parsed = nlohmann::json::parse(response_body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Internal(fmt::format("{} {} answered with a body that is not JSON: {}", method, url,
                                response_body.substr(0, 200)));
  }
  return parsed;
}

Result<std::string> ApiClient::Perform(const char* method, const std::string& path,
                                       const nlohmann::json* body, bool with_token) {
  const std::string url = options_.url + path;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Internal("cannot initialise libcurl");

  std::unique_ptr<curl_slist, HeaderListDeleter> headers;
  auto add_header = [&headers](const std::string& header) {
    headers.reset(curl_slist_append(headers.release(), header.c_str()));
  };
  add_header("Accept: application/json");
  if (with_token && !options_.token.empty()) add_header("Verification-Token: " + options_.token);

  std::string request_body;
  if (body != nullptr) {
    request_body = body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    add_header("Content-Type: application/json");
  }

  std::string response_body;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response_body);
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  if (body != nullptr) {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request_body.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(request_body.size()));
  }
  if (options_.insecure) {
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  const auto started = std::chrono::steady_clock::now();
  const CURLcode result = curl_easy_perform(handle);
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
  if (result != CURLE_OK) {
    const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(result);
    if (options_.debug_log) {
      options_.debug_log(
          fmt::format("{} {} -> failed: {} ({} ms)", method, url, detail, elapsed_ms));
    }
    if (result == CURLE_OPERATION_TIMEDOUT) {
      return Unavailable(
          fmt::format("request {} {} timed out after {} ms; is the engine overloaded? (raise "
                      "--request-timeout)",
                      method, url, options_.request_timeout.count()));
    }
    if (result == CURLE_URL_MALFORMAT || result == CURLE_UNSUPPORTED_PROTOCOL) {
      return BadRequest(
          fmt::format("invalid engine URL \"{}\": {} (check --url)", options_.url, detail));
    }
    return Unavailable(fmt::format(
        "cannot reach dblab engine at {}: {}; is it running? (check --url)", options_.url, detail));
  }

  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  if (options_.debug_log) {
    options_.debug_log(fmt::format("{} {} -> HTTP {} ({} ms)", method, url, status, elapsed_ms));
  }
  if (status < 200 || status >= 300) return HttpError(status, response_body);
  return response_body;
}

}  // namespace dblab
