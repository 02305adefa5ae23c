// The REST API and web UI over HTTP/1.1: Boost.Beast on an Asio thread pool, one coroutine per
// connection, so slow or idle keep-alive clients never hold a thread. Requests go to Router, but
// for the WebSocket /instance/logs, which streams the LogHub's lines.
// Start/Stop/Port may be called from any one thread (not concurrently); the server owns its
// threads and joins them in Stop() or the destructor. `engine` must outlive the server.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/auth_throttle.h"
#include "api/engine_service.h"
#include "common/result.h"
#include "ops/log_stream.h"

namespace dblab {

struct ApiOptions {
  std::string host = "127.0.0.1";       // address or name to listen on; "" = all IPv4 interfaces
  uint16_t port = 2345;                 // 0 = an ephemeral port (tests); see Port()
  std::string token;                    // Verification-Token; empty turns auth off
  std::string ui_dir;                   // built web UI; empty or without index.html: a notice page
  AuthThrottle::Options auth_throttle;  // slows wrong tokens per client address
  size_t max_body_bytes = 1 << 20;      // larger bodies get 413 and the connection is closed
  int threads = 2;                      // I/O threads; they also answer GET requests
  int worker_threads = 4;               // run the requests that change something
  // Longest wait for the next request on a keep-alive connection, and for each read or write
  // step of a request; the connection is closed when it passes.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // The engine log for the WebSocket /instance/logs (with GET /admin/ws-auth's tokens); null:
  // both answer 503. Must outlive the server.
  LogHub* log_hub = nullptr;
  // A log stream whose client reads too slowly for this long is closed.
  std::chrono::milliseconds log_stream_write_timeout = std::chrono::seconds(30);
};

class HttpServer {
 public:
  HttpServer(EngineService& engine, ApiOptions options);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. kUnavailable when the address is in use (the message
  // names host and port), kBadRequest when the host does not resolve, kConflict if started twice
  // (or after Stop: make a new server).
  Status Start();
  // The bound port (the real one when options.port was 0); 0 before Start().
  uint16_t Port() const;
  // Stops accepting, closes idle connections, lets requests in progress finish (up to a few
  // seconds), then joins the threads. Idempotent.
  void Stop();
  // False when no token is configured: the API is open to anyone who can reach it.
  bool auth_enabled() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dblab
