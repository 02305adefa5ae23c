// Maps one HTTP request to one response: DLE's REST routes (also under /api/), token auth, error
// mapping and the static web UI. No sockets, so it is tested directly; HttpServer adds the I/O.
// Thread-safe if the EngineService is (Handle is const and keeps no per-request state). Never
// logs request bodies: they carry database passwords.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/auth_throttle.h"
#include "api/engine_service.h"
#include "api/json_mapping.h"
#include "common/result.h"
#include "ops/log_stream.h"
#include "ops/metrics.h"

namespace dblab {

struct RouterOptions {
  std::string token;   // Verification-Token; empty turns auth off
  std::string ui_dir;  // built web UI (index.html, assets/); empty: none
  size_t max_body_bytes = 1 << 20;
  AuthThrottle::Options auth_throttle;  // wrong tokens per client address, see AuthThrottle
  AuthThrottle::Clock clock;            // for the throttle; empty: steady_clock
  // Issues GET /admin/ws-auth's tokens for the log stream; null: that route answers 503.
  // Must outlive the router.
  LogStreamTokens* log_stream_tokens = nullptr;
};

struct ApiRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // raw request-target: "/api/clone/x?y=1"
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  // Who sent it, for the wrong-token throttle: an IPv4 address, or an IPv6 /64 prefix.
  std::string remote_address;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;        // for 405: the methods the path accepts
  std::string retry_after;  // for 429: seconds the client must wait
};

// Headers every response carries (HttpServer adds them): the web UI loads only its own scripts
// and styles, cannot be framed, sends no Referer and is not content-sniffed.
const std::vector<std::pair<std::string_view, std::string_view>>& SecurityHeaders();

// The one place where ErrorCode becomes an HTTP status.
int HttpStatusFor(ErrorCode code);
ApiResponse ErrorResponse(const Error& error);

// True when `id` is a valid clone id: ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$, at most 64 characters.
bool IsValidCloneId(std::string_view id);
// "<pool>@<name>", both parts like clone ids.
bool IsValidSnapshotId(std::string_view id);

// Whether `method` is in an Allow header value such as "GET, PATCH, DELETE".
bool MethodAllowed(std::string_view allow, std::string_view method);

// Decodes %XX escapes; nullopt for a malformed escape or a decoded NUL byte.
std::optional<std::string> PercentDecode(std::string_view text);

// Compares without an early exit, so timing reveals neither the mismatch position nor (beyond
// the loop over the longer input) the length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

class Router {
 public:
  // `engine` must outlive the router.
  Router(EngineService& engine, RouterOptions options);

  // Answers and counts the request (GET /metrics shows the counts).
  ApiResponse Handle(const ApiRequest& request) const;

  // False when no token is configured: every API route is open (the caller should warn).
  bool auth_enabled() const { return !options_.token.empty(); }

 private:
  ApiResponse Dispatch(const ApiRequest& request) const;
  ApiResponse HandleApi(const ApiRequest& request, std::string_view path) const;
  // Operations routes (router_ops.cc): /instance/retrieval, /metrics, /admin/*, /observation/*;
  // nullopt when `path` is none of them.
  std::optional<ApiResponse> HandleOpsApi(const ApiRequest& request, std::string_view path) const;
  ApiResponse ServeUi(const ApiRequest& request, std::string_view path) const;
  CloneJsonContext CloneContext(const std::vector<Snapshot>& snapshots,
                                const std::string& snapshot_id,
                                const CloningSettings& settings) const;
  ApiResponse CloneResponse(int status, const Clone& clone) const;

  // DLE 4's branch and snapshot routes (router_branches.cc): nullopt when `segments` is none of
  // them. Called after authentication.
  std::optional<ApiResponse> HandleBranchApi(const ApiRequest& request,
                                             const std::vector<std::string_view>& segments) const;

  // Refuses (429) or checks the Verification-Token; nullopt when the request may go on.
  std::optional<ApiResponse> Authenticate(const ApiRequest& request) const;

  EngineService& engine_;
  RouterOptions options_;
  std::unique_ptr<AuthThrottle> throttle_;           // thread-safe; Handle is const
  std::filesystem::path ui_root_;                    // canonical; empty when there is no usable UI
  std::unique_ptr<RequestMetrics> request_metrics_;  // thread-safe; Handle is const
};

}  // namespace dblab
