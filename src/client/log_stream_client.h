// Reads the engine's live log (DLE's WebSocket /instance/logs) for `dblab instance logs` and the
// end-to-end tests. Plain ws:// only: the engine serves no TLS itself; behind a TLS proxy, read
// the log there. Blocking; one call per stream; no shared state.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/result.h"

namespace dblab {

struct LogStreamRequest {
  std::string api_url;  // the API's URL as the CLI has it: http://host:port[/prefix]
  std::string token;    // from GET /admin/ws-auth (ApiClient::LogStreamToken)
  bool follow = false;  // false: the engine sends its recent lines and closes
  // Connect and handshake limit; also the limit for the whole stream unless `follow`.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // With `follow`: stop (kUnavailable) when this passes; nullopt: read until the engine closes.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// Calls `on_line` for each line, oldest first, until the engine closes the stream (OK), or
// `on_line` returns false (OK). Errors: kBadRequest for a URL that is not http://, kUnauthorized
// when the engine refuses the token, kUnavailable when it cannot be reached, the stream breaks
// or the deadline passes.
Status ReadLogStream(const LogStreamRequest& request,
                     const std::function<bool(const std::string& line)>& on_line);

}  // namespace dblab
