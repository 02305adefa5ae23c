#include "api/http_server.h"

// False positives of g++ 12 with sanitizers on Boost 1.74: Beast's parser (maybe-uninitialized)
// and Asio's coroutine frame allocator (mismatched-new-delete).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// <utility> must precede the Asio coroutine headers with Boost 1.74.
// clang-format off
#include <utility>
// clang-format on

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/json_mapping.h"
#include "api/router.h"
#include "api/router_ops.h"
#include "common/version.h"

namespace dblab {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

constexpr uint32_t kHeaderLimitBytes = 16 * 1024;
// How long Stop() lets requests in progress finish before it cuts them off.
constexpr auto kStopGrace = std::chrono::seconds(5);
// After a refused request we read and discard what the client still sends (up to these limits)
// so that closing does not reset the connection before the client has read our answer.
constexpr auto kDrainTimeout = std::chrono::seconds(2);
constexpr size_t kDrainMaxBytes = 64 << 20;

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool busy = false;  // a request is being handled; only touched on the stream's strand
  // Once the connection became a log stream: the WebSocket (which took over `stream`) and the
  // timer its writer sleeps on until lines arrive. Only touched on the stream's strand.
  std::unique_ptr<websocket::stream<beast::tcp_stream>> websocket;
  std::unique_ptr<asio::steady_timer> wake_timer;
  bool writing = false;  // a log line is being written to the WebSocket
};

// Cancels whatever the connection waits for: Stop() and dropped log streams use it.
void CancelConnection(Connection& connection) {
  if (connection.websocket) {
    beast::get_lowest_layer(*connection.websocket).cancel();
    if (connection.wake_timer) connection.wake_timer->cancel();
  } else if (!connection.busy) {
    connection.stream.cancel();
  }
}

bool IsLogStreamPath(std::string_view path) {
  if (path.starts_with("/api/")) path.remove_prefix(4);
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path == "/instance/logs";
}

bool IsQuietDisconnect(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout ||
         ec == asio::error::operation_aborted || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == http::error::partial_message;
}

http::response<http::string_body> ToBeastResponse(const ApiResponse& api, unsigned version,
                                                  bool keep_alive) {
  http::response<http::string_body> response{static_cast<http::status>(api.status), version};
  response.set(http::field::server, fmt::format("dblab/{}", kVersion));
  response.set(http::field::content_type, api.content_type);
  for (const auto& [name, value] : SecurityHeaders()) {
    response.set(beast::string_view(name.data(), name.size()),
                 beast::string_view(value.data(), value.size()));
  }
  if (!api.retry_after.empty()) response.set(http::field::retry_after, api.retry_after);
  if (api.content_type == "application/json") response.set(http::field::cache_control, "no-store");
  if (!api.allow.empty()) response.set(http::field::allow, api.allow);
  response.keep_alive(keep_alive);
  response.body() = api.body;
  response.prepare_payload();
  return response;
}

// The wrong-token throttle's key: an IPv4 address, or an IPv6 /64 (one host usually holds a
// whole /64, so per-address records would let it rotate through 2^64 of them).
std::string ThrottleKey(const tcp::socket& socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "";
  asio::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  if (address.is_v4()) return address.to_string();
  auto bytes = address.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace

struct HttpServer::Impl {
  Impl(EngineService& engine, ApiOptions opts)
      : options(std::move(opts)),
        router(engine, RouterOptions{options.token,
                                     options.ui_dir,
                                     options.max_body_bytes,
                                     options.auth_throttle,
                                     {},
                                     options.log_hub ? &log_stream_tokens : nullptr}) {}

  asio::awaitable<void> Listen();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> connection, uint64_t id);
  // Runs on `workers`: see Serve.
  asio::awaitable<ApiResponse> HandleOnWorker(ApiRequest request);
  // Answers an unreadable request with `error`, then closes (draining first, see kDrainTimeout).
  asio::awaitable<void> Refuse(Connection& connection, const Error& error);
  // /instance/logs: checks the one-time token, upgrades to a WebSocket and streams the backlog,
  // then (unless ?follow=0) live lines until either side closes. The connection ends with it.
  asio::awaitable<void> ServeLogStream(std::shared_ptr<Connection> connection,
                                       http::request<http::string_body> request);
  void Unregister(uint64_t id);

  const ApiOptions options;
  LogStreamTokens log_stream_tokens;  // before router, which issues them
  const Router router;
  asio::io_context io_context;
  asio::thread_pool workers{static_cast<size_t>(std::max(1, options.worker_threads))};
  std::optional<tcp::acceptor> acceptor;  // bound to its own strand
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<uint16_t> port{0};
  bool started = false;
  bool stopped = false;  // a stopped server cannot start again

  std::mutex mutex;  // guards connections and next_id
  std::condition_variable connections_closed;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections;
  uint64_t next_id = 0;
};

asio::awaitable<void> HttpServer::Impl::Listen() {
  while (!stopping) {
    beast::error_code ec;
    // Named local: g++ 12 double-destroys non-trivial temporaries in co_await expressions.
    auto connection_strand = asio::make_strand(io_context);
    tcp::socket socket = co_await acceptor->async_accept(
        connection_strand, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || stopping) co_return;
    if (ec) {
      // Typically EMFILE: back off instead of spinning; existing connections keep working.
      spdlog::warn("api: accept failed: {}; retrying in 100 ms", ec.message());
      auto executor = co_await asio::this_coro::executor;
      asio::steady_timer timer(executor, std::chrono::milliseconds(100));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(std::move(socket));
    uint64_t id;
    {
      std::lock_guard lock(mutex);
      id = next_id++;
      connections.emplace(id, connection);
    }
    asio::co_spawn(connection->stream.get_executor(), Serve(connection, id), asio::detached);
  }
}

asio::awaitable<ApiResponse> HttpServer::Impl::HandleOnWorker(ApiRequest request) {
  co_return router.Handle(request);
}

void HttpServer::Impl::Unregister(uint64_t id) {
  std::lock_guard lock(mutex);
  connections.erase(id);
  if (connections.empty()) connections_closed.notify_all();
}

asio::awaitable<void> HttpServer::Impl::Refuse(Connection& connection, const Error& error) {
  ApiResponse api_response = ErrorResponse(error);
  auto response = ToBeastResponse(api_response, 11, /*keep_alive=*/false);
  beast::error_code ec;
  connection.stream.expires_after(options.idle_timeout);
  co_await http::async_write(connection.stream, response,
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  connection.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::vector<char> sink(64 * 1024);
  for (size_t drained = 0; drained < kDrainMaxBytes;) {
    connection.stream.expires_after(kDrainTimeout);
    drained += co_await connection.stream.async_read_some(
        asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
}

asio::awaitable<void> HttpServer::Impl::Serve(std::shared_ptr<Connection> connection, uint64_t id) {
  struct UnregisterOnExit {
    Impl* impl;
    uint64_t id;
    ~UnregisterOnExit() { impl->Unregister(id); }
  } unregister_on_exit{this, id};
  auto& stream = connection->stream;
  beast::flat_buffer buffer;
  beast::error_code ec;
  try {
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimitBytes);
      parser.body_limit(options.max_body_bytes);
      stream.expires_after(options.idle_timeout);
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && parser.content_length() && *parser.content_length() > options.max_body_bytes) {
        ec = http::error::body_limit;
      }
      if (!ec) {
        if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
          http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
          co_await http::async_write(stream, go_on, asio::redirect_error(asio::use_awaitable, ec));
        }
      }
      if (!ec && !parser.is_done()) {
        stream.expires_after(options.idle_timeout);
        co_await http::async_read(stream, buffer, parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec && !IsQuietDisconnect(ec)) {
        Error refusal = BadRequest("malformed HTTP request: " + ec.message());
        if (ec == http::error::body_limit) {
          refusal =
              Error{ErrorCode::kTooLarge,
                    fmt::format("request body over the limit of {} bytes", options.max_body_bytes)};
        } else if (ec == http::error::header_limit) {
          refusal = Error{ErrorCode::kTooLarge,
                          fmt::format("request headers over {} bytes", kHeaderLimitBytes)};
        }
        co_await Refuse(*connection, refusal);
      }
      if (ec) break;

      connection->busy = true;
      auto started_at = std::chrono::steady_clock::now();
      http::request<http::string_body> request = parser.release();
      std::string_view target_view(request.target().data(), request.target().size());
      if (IsLogStreamPath(target_view.substr(0, target_view.find_first_of("?#")))) {
        co_await ServeLogStream(connection, std::move(request));
        break;
      }
      ApiRequest api_request;
      api_request.method = std::string(request.method_string());
      api_request.target = std::string(request.target());
      for (const auto& field : request) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        api_request.headers[name] = std::string(field.value());
      }
      api_request.body = std::move(request.body());
      api_request.remote_address = ThrottleKey(stream.socket());
      std::string method = api_request.method;
      std::string target_path = api_request.target.substr(0, api_request.target.find('?'));
      ApiResponse api_response;
      if (method == "GET" || method == "HEAD") {
        api_response = router.Handle(api_request);
      } else {
        // Changes can take milliseconds of work (password hashing, the state store's fsync, a
        // warm clone's role): they run on the worker pool, so that reads such as GET /status
        // never wait behind them on the I/O threads.
        auto work = HandleOnWorker(std::move(api_request));
        api_response =
            co_await asio::co_spawn(workers.get_executor(), std::move(work), asio::use_awaitable);
      }

      bool keep_alive = request.keep_alive() && !stopping;
      auto response = ToBeastResponse(api_response, request.version(), keep_alive);
      // Only the path: query strings may carry secrets and bodies carry passwords.
      spdlog::debug("api: {} {} -> {} in {} us", method, target_path, api_response.status,
                    std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started_at)
                        .count());
      stream.expires_after(options.idle_timeout);
      co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
      connection->busy = false;
      if (ec || !keep_alive) break;
    }
  } catch (const std::exception& e) {
    spdlog::error("api: connection failed: {}", e.what());
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.socket().close(ec);
}

asio::awaitable<void> HttpServer::Impl::ServeLogStream(std::shared_ptr<Connection> connection,
                                                       http::request<http::string_body> request) {
  beast::error_code ec;
  std::string target(request.target());
  auto refuse = [&](const Error& error) -> asio::awaitable<void> {
    auto response = ToBeastResponse(ErrorResponse(error), request.version(), false);
    connection->stream.expires_after(options.idle_timeout);
    co_await http::async_write(connection->stream, response,
                               asio::redirect_error(asio::use_awaitable, ec));
  };
  // Named errors: g++ 12 double-destroys non-trivial temporaries in co_await expressions.
  std::optional<std::string> token = QueryParam(target, "token");
  std::optional<Error> refusal;
  if (!options.log_hub) {
    refusal = Unavailable("live logs are not available in this engine");
  } else if (!websocket::is_upgrade(request)) {
    refusal = BadRequest(
        "/instance/logs is a WebSocket: get a token from GET /admin/ws-auth, then open "
        "ws://HOST:PORT/instance/logs?token=TOKEN (dblab instance logs does both)");
  } else if (!token || !log_stream_tokens.Consume(*token)) {
    refusal = Error{ErrorCode::kUnauthorized,
                    "missing, expired or already used log stream token; get a new one from "
                    "GET /admin/ws-auth (valid 60 s, for one connection)"};
  }
  if (refusal) {
    co_await refuse(*refusal);
    co_return;
  }
  std::optional<std::string> follow_value = QueryParam(target, "follow");
  const bool follow = !follow_value || (*follow_value != "0" && *follow_value != "false");

  auto executor = connection->stream.get_executor();
  connection->wake_timer = std::make_unique<asio::steady_timer>(executor);
  connection->websocket =
      std::make_unique<websocket::stream<beast::tcp_stream>>(std::move(connection->stream));
  auto& socket = *connection->websocket;
  if (stopping) co_return;
  beast::get_lowest_layer(socket).expires_never();  // the WebSocket's own timeouts apply
  // Pings every 30 s: a client that vanished without closing is noticed within a minute.
  websocket::stream_base::timeout timeouts{std::chrono::seconds(30), std::chrono::seconds(60),
                                           /*keep_alive_pings=*/true};
  socket.set_option(timeouts);
  socket.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
    response.set(http::field::server, fmt::format("dblab/{}", kVersion));
  }));
  socket.read_message_max(4096);  // clients send nothing but control frames
  socket.text(true);
  co_await socket.async_accept(request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;

  // Lines come from any thread that logs; the wake only cancels the writer's timer, on the
  // connection's strand. It must not log (it runs inside the log sink).
  std::weak_ptr<Connection> weak = connection;
  std::vector<std::string> backlog;
  // A dropped stream whose writer is stuck in a write (the client stopped reading) is cut off
  // at once; otherwise the writer sends the close frame itself.
  auto subscription = options.log_hub->Subscribe(
      [weak, executor](bool dropped) {
        asio::post(executor, [weak, dropped] {
          auto alive = weak.lock();
          if (!alive || !alive->websocket) return;
          if (alive->wake_timer) alive->wake_timer->cancel();
          if (dropped && alive->writing) beast::get_lowest_layer(*alive->websocket).cancel();
        });
      },
      &backlog);

  // The reader answers pings and notices the client's close; the writer stops when it ends.
  auto reader_done = std::make_shared<bool>(false);
  asio::co_spawn(
      executor,
      [connection, reader_done]() -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        beast::error_code read_error;
        while (!read_error) {
          buffer.clear();
          co_await connection->websocket->async_read(
              buffer, asio::redirect_error(asio::use_awaitable, read_error));
        }
        *reader_done = true;
        if (connection->wake_timer) connection->wake_timer->cancel();
      },
      asio::detached);

  // A client that does not read lets the TCP buffers fill and a write wait: it is closed when
  // the write takes longer than the timeout (or earlier, when its queue overflows).
  asio::steady_timer write_deadline(executor);
  auto write_line = [&](const std::string& line) -> asio::awaitable<bool> {
    write_deadline.expires_after(options.log_stream_write_timeout);
    write_deadline.async_wait([weak](beast::error_code wait_error) {
      if (wait_error) return;
      if (auto alive = weak.lock(); alive && alive->websocket) {
        beast::get_lowest_layer(*alive->websocket).cancel();
      }
    });
    connection->writing = true;
    co_await socket.async_write(asio::buffer(line), asio::redirect_error(asio::use_awaitable, ec));
    connection->writing = false;
    write_deadline.cancel();
    co_return !ec;
  };

  bool open = true;
  for (const auto& line : backlog) {
    if (!(open = co_await write_line(line))) break;
  }
  websocket::close_reason reason(websocket::close_code::normal);
  while (open && !stopping && !*reader_done) {
    bool dropped = false;
    std::vector<std::string> lines = subscription->Take(&dropped);
    if (dropped) {
      // 1008 (policy): the client read too slowly and lines were lost.
      reason = websocket::close_reason(websocket::close_code::policy_error,
                                       "reading too slowly: log lines were lost; reconnect");
      break;
    }
    for (const auto& line : lines) {
      if (!(open = co_await write_line(line))) break;
    }
    if (!open || !lines.empty()) continue;
    if (!follow) break;
    connection->wake_timer->expires_at(std::chrono::steady_clock::time_point::max());
    co_await connection->wake_timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  subscription.reset();
  if (open && !*reader_done && !stopping) {
    co_await socket.async_close(reason, asio::redirect_error(asio::use_awaitable, ec));
  }
  beast::get_lowest_layer(socket).socket().shutdown(tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(socket).close();
}

HttpServer::HttpServer(EngineService& engine, ApiOptions options)
    : impl_(std::make_unique<Impl>(engine, std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

bool HttpServer::auth_enabled() const { return impl_->router.auth_enabled(); }

uint16_t HttpServer::Port() const { return impl_->port; }

Status HttpServer::Start() {
  Impl& impl = *impl_;
  if (impl.started || impl.stopped) {
    return Conflict("the API server was already started; create a new HttpServer to restart");
  }
  const std::string& host = impl.options.host;
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    tcp::resolver resolver(impl.io_context);
    auto results = resolver.resolve(host, "", ec);
    if (ec || results.empty()) {
      return BadRequest(
          fmt::format("cannot resolve API host \"{}\": {}; set server.host to an "
                      "IP address or a resolvable name",
                      host, ec ? ec.message() : "no addresses"));
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, impl.options.port);
  std::string where = fmt::format("{}:{}", address.to_string(), impl.options.port);
  tcp::acceptor& acceptor = impl.acceptor.emplace(asio::make_strand(impl.io_context));
  auto fail = [&](const char* step) {
    Error error{ErrorCode::kInternal,
                fmt::format("API server: {} {}: {}", step, where, ec.message())};
    if (ec == asio::error::address_in_use) {
      error = Unavailable(fmt::format(
          "API server: cannot listen on {}: address already in use; another dblab-engine or "
          "program holds the port: stop it or change server.port",
          where));
    } else if (ec == asio::error::access_denied) {
      error.message += "; ports below 1024 need privileges, choose another server.port";
    }
    impl.acceptor.reset();
    return error;
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open socket for");
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("configure");
  acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  impl.port = acceptor.local_endpoint(ec).port();
  if (ec) return fail("read the bound port of");

  asio::co_spawn(acceptor.get_executor(), impl.Listen(), asio::detached);
  int thread_count = std::max(1, impl.options.threads);
  for (int i = 0; i < thread_count; ++i) {
    impl.threads.emplace_back([&impl] { impl.io_context.run(); });
  }
  impl.started = true;
  spdlog::debug("api: listening on {}:{}", address.to_string(), impl.port.load());
  return OkStatus();
}

void HttpServer::Stop() {
  Impl& impl = *impl_;
  if (!impl.started) return;
  impl.started = false;
  impl.stopped = true;
  impl.stopping = true;
  asio::post(impl.acceptor->get_executor(), [&impl] {
    beast::error_code ec;
    impl.acceptor->close(ec);
  });
  {
    std::unique_lock lock(impl.mutex);
    for (auto& [id, weak] : impl.connections) {
      if (auto connection = weak.lock()) {
        asio::post(connection->stream.get_executor(),
                   [connection] { CancelConnection(*connection); });
      }
    }
    impl.connections_closed.wait_for(lock, kStopGrace,
                                     [&impl] { return impl.connections.empty(); });
  }
  impl.io_context.stop();
  for (auto& thread : impl.threads) thread.join();
  impl.threads.clear();
  impl.workers.join();
  impl.acceptor.reset();
}

}  // namespace dblab
