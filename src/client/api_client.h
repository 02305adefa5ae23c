// ApiClient: typed REST client for dblab-engine (and Database Lab Engine) used by the CLI and by
// end-to-end tests. Every call is one blocking HTTP request; responses are returned as the
// server's JSON, untouched. Errors: HTTP errors become Error{code from status, "<server message>
// (HTTP n)"}; a refused/failed connection or a timeout is kUnavailable. Not thread-safe: use one
// client per thread.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace dblab {

struct ClientOptions {
  std::string url;        // e.g. "http://127.0.0.1:2345"; a trailing '/' is ignored
  std::string token;      // sent as Verification-Token (not to /healthz)
  bool insecure = false;  // skip TLS certificate and host verification
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};
  // When set, receives one line per request: method, URL, HTTP status, time. Never bodies,
  // headers or the token.
  std::function<void(const std::string&)> debug_log;
};

// True for ids the engine accepts: ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$.
bool IsValidCloneId(const std::string& id);
bool IsValidSnapshotId(const std::string& id);  // <pool>@<name>, each part like a clone id

class ApiClient {
 public:
  explicit ApiClient(ClientOptions options);

  Result<nlohmann::json> Status();                                 // GET /status
  Result<nlohmann::json> Snapshots();                              // GET /snapshots
  Result<nlohmann::json> Clones();                                 // GET /clones
  Result<nlohmann::json> GetClone(const std::string& id);          // GET /clone/{id}
  Result<nlohmann::json> CreateClone(const nlohmann::json& body);  // POST /clone
  Result<nlohmann::json> UpdateClone(const std::string& id, const nlohmann::json& body);  // PATCH
  Result<nlohmann::json> ResetClone(const std::string& id, const nlohmann::json& body);
  Result<nlohmann::json> DestroyClone(const std::string& id);    // DELETE /clone/{id}
  Result<nlohmann::json> FullRefresh();                          // POST /full-refresh
  Result<nlohmann::json> CreateSnapshot();                       // POST /snapshot
  Result<nlohmann::json> DeleteSnapshot(const std::string& id);  // DELETE /snapshot/{id}
  // POST /branch/snapshot {"cloneID", "message"}
  Result<nlohmann::json> CreateSnapshotFromClone(const std::string& clone_id,
                                                 const std::string& message);
  Result<nlohmann::json> Healthz();  // GET /healthz (no token)
  // GET /admin/ws-auth: {"token"}, a one-time token for the live log stream (ReadLogStream).
  Result<nlohmann::json> LogStreamToken();
  // Observation (DLE's /observation/*): body {clone_id, config, tags, db_name}.
  Result<nlohmann::json> StartObservation(const nlohmann::json& body);
  Result<nlohmann::json> StopObservation(const std::string& clone_id);
  Result<nlohmann::json> SummaryObservation(const std::string& clone_id,
                                            const std::string& session_id);
  // GET /observation/download: the artifact as the engine sent it ("summary" and "locks" are
  // JSON, "log" is text). Ids and type are checked before sending (kBadRequest).
  Result<std::string> DownloadObservationArtifact(const std::string& clone_id,
                                                  const std::string& session_id,
                                                  const std::string& artifact_type);

  // DLE 4 branches. Branch names: letters, digits, '_' and '-' (checked before sending).
  Result<nlohmann::json> Branches();                                // GET /branches
  Result<nlohmann::json> CreateBranch(const nlohmann::json& body);  // POST /branch
  Result<nlohmann::json> DeleteBranch(const std::string& name);     // DELETE /branch/{name}
  Result<nlohmann::json> UpdateBranch(const std::string& name, const nlohmann::json& body);
  Result<nlohmann::json> BranchLog(const std::string& name);        // GET /branch/{name}/log
  Result<nlohmann::json> SnapshotDetails(const std::string& id);    // GET /branch/snapshot/{id}
  Result<nlohmann::json> BranchSnapshots(const std::string& name);  // GET /snapshots?branch=
  Result<nlohmann::json> GetSnapshot(const std::string& id);        // GET /snapshot/{id}
  Result<nlohmann::json> UpdateSnapshot(const std::string& id, const nlohmann::json& body);

  const ClientOptions& options() const { return options_; }

 private:
  // Sends one request; `body` is sent as JSON when not null. A 2xx answer with an empty body
  // yields a null json.
  Result<nlohmann::json> Send(const char* method, const std::string& path,
                              const nlohmann::json* body, bool with_token = true);
  // Sends one request and returns the 2xx answer's body as is.
  Result<std::string> Perform(const char* method, const std::string& path,
                              const nlohmann::json* body, bool with_token);
  Result<nlohmann::json> CloneRequest(const char* method, const std::string& id,
                                      const std::string& suffix, const nlohmann::json* body);

  ClientOptions options_;
};

}  // namespace dblab
