#include "client/log_stream_client.h"

// See http_server.cc: g++ 12 false positives on Boost 1.74's Beast.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace dblab {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct WsTarget {
  std::string host;
  std::string port;
  std::string path_prefix;  // "" or "/prefix"
};

Result<WsTarget> ParseApiUrl(const std::string& url) {
  constexpr std::string_view kHttp = "http://";
  if (url.rfind("https://", 0) == 0) {
    return BadRequest(
        "live logs over https are not supported by this CLI; read them where TLS ends (the "
        "engine's own http address) or in the web UI's Logs page");
  }
  if (url.rfind(kHttp, 0) != 0) {
    return BadRequest(fmt::format("instance URL \"{}\" must start with http://", url));
  }
  std::string rest = url.substr(kHttp.size());
  WsTarget target;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) target.path_prefix = rest.substr(slash);
  while (!target.path_prefix.empty() && target.path_prefix.back() == '/') {
    target.path_prefix.pop_back();
  }
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string::npos) return BadRequest("malformed IPv6 address in " + url);
    target.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      target.port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    target.host = authority.substr(0, colon);
    if (colon != std::string::npos) target.port = authority.substr(colon + 1);
  }
  if (target.host.empty()) return BadRequest("no host in instance URL " + url);
  if (target.port.empty()) target.port = "80";
  return target;
}

bool IsTokenChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '_' || c == '.';
}

// Runs one asynchronous step to completion: the tcp_stream's expiry bounds it (synchronous
// Beast operations would ignore it).
template <typename Start>
beast::error_code RunStep(asio::io_context& io, Start start) {
  beast::error_code result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

}  // namespace

Status ReadLogStream(const LogStreamRequest& request,
                     const std::function<bool(const std::string& line)>& on_line) {
  DBLAB_ASSIGN_OR_RETURN(WsTarget target, ParseApiUrl(request.api_url));
  for (char c : request.token) {
    if (!IsTokenChar(c)) return BadRequest("the log stream token has unexpected characters");
  }
  asio::io_context io;
  websocket::stream<beast::tcp_stream> socket(io);
  beast::error_code ec;
  auto failed = [&](const char* step) {
    return Unavailable(fmt::format("log stream of {}: {}: {}", request.api_url, step,
                                   ec == beast::error::timeout ? "timed out" : ec.message()));
  };
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(target.host, target.port, ec);
  if (ec) return failed("resolve");
  auto& lowest = beast::get_lowest_layer(socket);
  lowest.expires_after(request.timeout);
  ec = RunStep(io, [&](auto handler) { lowest.async_connect(endpoints, std::move(handler)); });
  if (ec) return failed("connect");

  std::string path = fmt::format("{}/instance/logs?token={}&follow={}", target.path_prefix,
                                 request.token, request.follow ? 1 : 0);
  websocket::response_type response;
  std::string host_header =
      target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
  std::string host_value = host_header + ":" + target.port;
  ec = RunStep(io, [&](auto handler) {
    socket.async_handshake(response, host_value, path, std::move(handler));
  });
  if (ec) {
    if (ec == websocket::error::upgrade_declined) {
      std::string message = response.body();
      // The engine answers a refusal as JSON {code, message}; show its message.
      size_t at = message.find("\"message\":\"");
      if (at != std::string::npos) {
        message = message.substr(at + 11, message.find('"', at + 11) - at - 11);
      }
      Error error{response.result() == beast::http::status::unauthorized ? ErrorCode::kUnauthorized
                                                                         : ErrorCode::kUnavailable,
                  fmt::format("the engine refused the log stream: {} (HTTP {})", message,
                              response.result_int())};
      return error;
    }
    return failed("WebSocket handshake");
  }
  if (request.follow) {
    if (request.deadline) {
      lowest.expires_at(*request.deadline);
    } else {
      lowest.expires_never();
    }
  }
  beast::flat_buffer buffer;
  while (true) {
    buffer.clear();
    ec = RunStep(io, [&](auto handler) { socket.async_read(buffer, std::move(handler)); });
    if (ec == websocket::error::closed) {
      auto reason = socket.reason();
      if (reason.code != websocket::close_code::normal && reason.code != 0) {
        return Unavailable(fmt::format("the engine closed the log stream: {} (code {})",
                                       std::string(reason.reason.c_str()),
                                       static_cast<int>(reason.code)));
      }
      return OkStatus();
    }
    if (ec) return failed("read");
    if (!on_line(beast::buffers_to_string(buffer.data()))) {
      lowest.expires_after(std::chrono::seconds(2));
      RunStep(io, [&](auto handler) {
        socket.async_close(websocket::close_code::normal, std::move(handler));
      });
      return OkStatus();
    }
  }
}

}  // namespace dblab
