#include "api/http_server.h"

// False positives of g++ 12 with sanitizers on Boost 1.74: Beast's parser (maybe-uninitialized)
// and Asio's coroutine frame allocator (mismatched-new-delete).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>
#include <utility>

#include "api/fake_engine_service.h"
#include "api/json_mapping.h"
#include "client/log_stream_client.h"

namespace dblab {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Response = http::response<http::string_body>;

constexpr const char* kToken = "tok";

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(ApiOptions options) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.token = kToken;
    server_ = std::make_unique<HttpServer>(engine_, options);
    Status status = server_->Start();
    ASSERT_TRUE(status.ok()) << status.error().message;
    ASSERT_NE(server_->Port(), 0);
  }

  tcp::socket Connect() {
    tcp::socket socket(io_);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->Port()));
    return socket;
  }

  static Response Send(tcp::socket& socket, http::verb method, const std::string& target,
                       const std::string& body = "", bool keep_alive = true) {
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.set("Verification-Token", kToken);
    request.keep_alive(keep_alive);
    if (!body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = body;
    }
    request.prepare_payload();
    http::write(socket, request);
    beast::flat_buffer buffer;
    Response response;
    http::read(socket, buffer, response);
    return response;
  }

  // True when the peer closed the connection (read returns EOF) within the socket's lifetime.
  static bool PeerClosed(tcp::socket& socket) {
    char byte;
    beast::error_code ec;
    socket.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  asio::io_context io_;
  FakeEngineService engine_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesRoutesOverKeepAliveConnection) {
  StartServer({});
  tcp::socket socket = Connect();

  Response health = Send(socket, http::verb::get, "/healthz");
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(Json::parse(health.body())["edition"], "community");
  EXPECT_EQ(health[http::field::content_type], "application/json");
  EXPECT_EQ(health["X-Content-Type-Options"], "nosniff");
  EXPECT_TRUE(health.keep_alive());

  // Same socket: the connection stayed open.
  Response created = Send(socket, http::verb::post, "/api/clone",
                          R"({"id":"c1","db":{"username":"u","password":"p"}})");
  EXPECT_EQ(created.result_int(), 201) << created.body();
  Response clone = Send(socket, http::verb::get, "/clone/c1");
  EXPECT_EQ(clone.result_int(), 200);
  EXPECT_EQ(Json::parse(clone.body())["id"], "c1");

  Response closing = Send(socket, http::verb::get, "/clones", "", /*keep_alive=*/false);
  EXPECT_EQ(closing.result_int(), 200);
  EXPECT_FALSE(closing.keep_alive());
  EXPECT_TRUE(PeerClosed(socket));
}

TEST_F(HttpServerTest, IdleAndSlowClientsDoNotBlockOthers) {
  ApiOptions options;
  options.threads = 1;  // the harshest case: one thread for everyone
  StartServer(options);
  tcp::socket idle = Connect();  // connected, sends nothing
  tcp::socket slow = Connect();  // sends half a request and stalls
  asio::write(slow, asio::buffer(std::string("GET /clones HTTP/1.1\r\nHost: x\r\n")));

  auto started = std::chrono::steady_clock::now();
  tcp::socket other = Connect();
  Response response = Send(other, http::verb::get, "/healthz");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));

  // The slow client is still served once it finishes its request.
  asio::write(slow, asio::buffer(std::string("Verification-Token: tok\r\n\r\n")));
  beast::flat_buffer buffer;
  Response slow_response;
  http::read(slow, buffer, slow_response);
  EXPECT_EQ(slow_response.result_int(), 200);
}

TEST_F(HttpServerTest, ReadsAreAnsweredWhileAChangeIsStillWorking) {
  ApiOptions options;
  options.threads = 1;  // one I/O thread: a create handled on it would stall every read
  std::promise<void> create_entered;
  std::promise<void> release_create;
  std::shared_future<void> released = release_create.get_future().share();
  engine_.before_create = [&] {
    create_entered.set_value();
    released.wait_for(std::chrono::seconds(10));
  };
  StartServer(options);
  auto create = std::async(std::launch::async, [this] {
    tcp::socket socket = Connect();
    return Send(socket, http::verb::post, "/clone",
                R"({"id":"slow","db":{"username":"u","password":"p"}})");
  });
  ASSERT_EQ(create_entered.get_future().wait_for(std::chrono::seconds(5)),
            std::future_status::ready);

  auto status = std::async(std::launch::async, [this] {
    tcp::socket socket = Connect();
    return Send(socket, http::verb::get, "/status");
  });
  bool answered = status.wait_for(std::chrono::seconds(3)) == std::future_status::ready;
  release_create.set_value();
  ASSERT_TRUE(answered) << "GET /status waited for the create";
  EXPECT_EQ(status.get().result_int(), 200);
  EXPECT_EQ(create.get().result_int(), 201);
}

TEST_F(HttpServerTest, HugeBodyIs413AndClosesTheConnection) {
  ApiOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  tcp::socket socket = Connect();
  Response response =
      Send(socket, http::verb::post, "/clone", R"({"id":")" + std::string(200000, 'x') + R"("})");
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(Json::parse(response.body())["code"], "PAYLOAD_TOO_LARGE");
  EXPECT_FALSE(response.keep_alive());
  EXPECT_FALSE(engine_.Called("CreateClone("));
}

TEST_F(HttpServerTest, ExpectContinueGetsAnInterimResponse) {
  StartServer({});
  tcp::socket socket = Connect();
  std::string body = R"({"id":"c2","db":{"username":"u","password":"p"}})";
  asio::write(socket, asio::buffer("POST /clone HTTP/1.1\r\nHost: x\r\nVerification-Token: tok\r\n"
                                   "Expect: 100-continue\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n"));
  beast::flat_buffer buffer;
  http::response<http::empty_body> interim;
  http::read(socket, buffer, interim);
  EXPECT_EQ(interim.result_int(), 100);
  asio::write(socket, asio::buffer(body));
  Response response;
  http::read(socket, buffer, response);
  EXPECT_EQ(response.result_int(), 201) << response.body();
}

TEST_F(HttpServerTest, HugeHeadersAre413) {
  StartServer({});
  tcp::socket socket = Connect();
  std::string request =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64000, 'a') + "\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  beast::flat_buffer buffer;
  Response response;
  http::read(socket, buffer, response);
  EXPECT_EQ(response.result_int(), 413);
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  StartServer({});
  tcp::socket socket = Connect();
  asio::write(socket, asio::buffer(std::string("NOT AN HTTP REQUEST\r\n\r\n")));
  beast::flat_buffer buffer;
  Response response;
  http::read(socket, buffer, response);
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(Json::parse(response.body())["code"], "BAD_REQUEST");
}

TEST_F(HttpServerTest, UnauthorizedOverTheWire) {
  StartServer({});
  tcp::socket socket = Connect();
  http::request<http::string_body> request{http::verb::get, "/api/status", 11};
  request.set(http::field::host, "x");
  http::write(socket, request);
  beast::flat_buffer buffer;
  Response response;
  http::read(socket, buffer, response);
  EXPECT_EQ(response.result_int(), 401);
  EXPECT_EQ(Json::parse(response.body())["code"], "UNAUTHORIZED");
}

// Sends `count` GETs with a wrong token on one keep-alive connection from `source` (a loopback
// address) and returns {answers with 401 (token compared), answers with 429 (refused), seconds}.
struct GuessRun {
  int compared = 0;
  int refused = 0;
  double seconds = 0;
};
GuessRun GuessTokens(asio::io_context& io, uint16_t port, const std::string& source, int count,
                     const std::string& token) {
  tcp::socket socket(io);
  socket.open(tcp::v4());
  socket.bind(tcp::endpoint(asio::ip::make_address(source), 0));
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  GuessRun run;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    http::request<http::string_body> request{http::verb::get, "/clones", 11};
    request.set(http::field::host, "127.0.0.1");
    request.set("Verification-Token", token);
    http::write(socket, request);
    beast::flat_buffer buffer;
    Response response;
    http::read(socket, buffer, response);
    run.compared += response.result_int() == 401 || response.result_int() == 200;
    run.refused += response.result_int() == 429;
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return run;
}

TEST_F(HttpServerTest, WrongTokensAreSlowedPerClientAddress) {
  ApiOptions options;
  options.auth_throttle.first_lockout = std::chrono::minutes(1);  // no expiry during the test
  StartServer(options);
  // Given an address that sends 1,000 wrong tokens as fast as it can,
  GuessRun run = GuessTokens(io_, server_->Port(), "127.0.0.1", 1000, "guess");
  // then only the first 5 are compared; the rest are refused with 429 and Retry-After.
  EXPECT_EQ(run.compared, 5);
  EXPECT_EQ(run.refused, 995);
  std::printf(
      "[ measured ] 1000 wrong tokens from one address: %d compared, %d refused (429) "
      "in %.3f s\n",
      run.compared, run.refused, run.seconds);
  // The right token from another address is served meanwhile.
  GuessRun other = GuessTokens(io_, server_->Port(), "127.0.0.2", 1, kToken);
  EXPECT_EQ(other.compared, 1);
  EXPECT_EQ(other.refused, 0);
}

TEST_F(HttpServerTest, WithoutTheThrottleEveryWrongTokenIsCompared) {
  // The behaviour before the throttle, kept as the baseline of the measurement above.
  ApiOptions options;
  options.auth_throttle.free_failures = 1 << 30;
  StartServer(options);
  GuessRun run = GuessTokens(io_, server_->Port(), "127.0.0.1", 1000, "guess");
  EXPECT_EQ(run.compared, 1000);
  std::printf(
      "[ measured ] without the throttle: 1000 wrong tokens compared in %.3f s "
      "(%.0f per second)\n",
      run.seconds, 1000 / run.seconds);
}

TEST_F(HttpServerTest, SecurityHeadersOnApiAndUiResponses) {
  StartServer({});
  tcp::socket socket = Connect();
  for (const char* target : {"/healthz", "/", "/clones"}) {
    Response response = Send(socket, http::verb::get, target);
    EXPECT_EQ(response["X-Frame-Options"], "DENY") << target;
    EXPECT_EQ(response["Referrer-Policy"], "no-referrer") << target;
    EXPECT_EQ(response["X-Content-Type-Options"], "nosniff") << target;
    EXPECT_NE(response["Content-Security-Policy"].find("default-src 'self'"), std::string::npos)
        << target;
  }
}

TEST_F(HttpServerTest, IdleConnectionsAreClosedAfterTheTimeout) {
  ApiOptions options;
  options.idle_timeout = std::chrono::milliseconds(200);
  StartServer(options);
  tcp::socket socket = Connect();
  Send(socket, http::verb::get, "/healthz");
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(PeerClosed(socket));  // blocks until the server gives up on us
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

TEST_F(HttpServerTest, BusyPortIsAClearError) {
  StartServer({});
  ApiOptions options;
  options.host = "127.0.0.1";
  options.port = server_->Port();
  HttpServer second(engine_, options);
  Status status = second.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(status.error().message.find("in use"), std::string::npos) << status.error().message;
  EXPECT_NE(status.error().message.find(std::to_string(server_->Port())), std::string::npos);
}

TEST_F(HttpServerTest, UnresolvableHostIsABadRequest) {
  ApiOptions options;
  options.host = "no-such-host.invalid";
  options.port = 0;
  HttpServer server(engine_, options);
  Status status = server.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kBadRequest);
}

TEST_F(HttpServerTest, StopClosesIdleConnectionsPromptly) {
  StartServer({});
  tcp::socket idle = Connect();
  tcp::socket kept_alive = Connect();
  Send(kept_alive, http::verb::get, "/healthz");
  auto started = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_TRUE(PeerClosed(idle));
  EXPECT_TRUE(PeerClosed(kept_alive));
  server_->Stop();                      // idempotent
  EXPECT_FALSE(server_->Start().ok());  // a stopped server stays stopped
}

TEST_F(HttpServerTest, ReportsWhetherAuthIsEnabled) {
  HttpServer open(engine_, ApiOptions{});
  EXPECT_FALSE(open.auth_enabled());
  StartServer({});
  EXPECT_TRUE(server_->auth_enabled());
}

class LogStreamServerTest : public HttpServerTest {
 protected:
  void SetUp() override {
    ApiOptions options;
    options.log_hub = &hub_;
    StartServer(options);
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->Port()); }
  std::string NewToken() {
    tcp::socket socket = Connect();
    Response response = Send(socket, http::verb::get, "/api/admin/ws-auth");
    EXPECT_EQ(response.result_int(), 200u) << response.body();
    return Json::parse(response.body())["token"].get<std::string>();
  }
  LogStreamRequest Request(const std::string& token, bool follow) {
    LogStreamRequest request;
    request.api_url = Url();
    request.token = token;
    request.follow = follow;
    request.timeout = std::chrono::seconds(10);
    request.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    return request;
  }

  LogHub hub_{LogHub::Options{.subscriber_queue_lines = 100}};
};

TEST_F(LogStreamServerTest, SendsTheBacklogThenLiveLinesAndEachTokenOpensOneStream) {
  hub_.Publish("first line");
  hub_.Publish("conninfo password=hunter22");
  std::string token = NewToken();
  std::vector<std::string> lines;
  Status read = ReadLogStream(Request(token, /*follow=*/false), [&](const std::string& line) {
    lines.push_back(line);
    return true;
  });
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(lines, (std::vector<std::string>{"first line", "conninfo password=****"}));

  Status reused = ReadLogStream(Request(token, false), [](const std::string&) { return true; });
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, ErrorCode::kUnauthorized);
  Status guessed =
      ReadLogStream(Request(std::string(64, '0'), false), [](const std::string&) { return true; });
  EXPECT_EQ(guessed.error().code, ErrorCode::kUnauthorized);

  // Following: a line logged after the backlog arrives, then the client stops.
  std::string follow_token = NewToken();
  std::promise<void> backlog_seen;
  std::vector<std::string> followed;
  std::thread reader([&] {
    Status status =
        ReadLogStream(Request(follow_token, /*follow=*/true), [&](const std::string& line) {
          followed.push_back(line);
          if (followed.size() == 2) backlog_seen.set_value();
          return line != "live line";
        });
    EXPECT_TRUE(status.ok()) << status.error().message;
  });
  ASSERT_EQ(backlog_seen.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  hub_.Publish("live line");
  reader.join();
  EXPECT_EQ(followed.back(), "live line");
}

TEST_F(LogStreamServerTest, PlainGetAndMissingTokenAreRefusedBeforeAnyUpgrade) {
  tcp::socket socket = Connect();
  EXPECT_EQ(Send(socket, http::verb::get, "/instance/logs?token=x").result_int(), 400u);
  tcp::socket other = Connect();
  EXPECT_EQ(Send(other, http::verb::get, "/api/admin/ws-auth").result_int(), 200u);
  Status missing = ReadLogStream(Request("", false), [](const std::string&) { return true; });
  EXPECT_EQ(missing.error().code, ErrorCode::kUnauthorized);
}

TEST_F(LogStreamServerTest, AReaderThatStopsReadingIsDroppedAndNeverSlowsLogging) {
  std::string token = NewToken();
  beast::websocket::stream<tcp::socket> stalled(io_);
  stalled.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->Port()));
  stalled.handshake("127.0.0.1", "/instance/logs?token=" + token);
  for (int i = 0; i < 100 && hub_.subscriber_count() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(hub_.subscriber_count(), 1u);

  // 64 MB of lines: far more than the socket buffers hold, so the server's writes stall.
  const std::string line(1024, 'x');
  auto slowest = std::chrono::steady_clock::duration::zero();
  for (int i = 0; i < 64 * 1024; ++i) {
    auto started = std::chrono::steady_clock::now();
    hub_.Publish(line);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - started);
  }
  EXPECT_LT(slowest, std::chrono::seconds(1)) << "logging waited for the stalled reader";
  for (int i = 0; i < 500 && hub_.subscriber_count() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(hub_.subscriber_count(), 0u) << "the stalled stream was not closed";
}

TEST_F(LogStreamServerTest, StopEndsOpenStreamsPromptly) {
  std::string token = NewToken();
  std::thread reader([&] {
    LogStreamRequest request = Request(token, /*follow=*/true);
    request.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    Status status = ReadLogStream(request, [](const std::string&) { return true; });
    EXPECT_FALSE(status.ok()) << "the stream should break when the server stops";
  });
  for (int i = 0; i < 200 && hub_.subscriber_count() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(hub_.subscriber_count(), 1u);
  auto started = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  reader.join();
  EXPECT_EQ(hub_.subscriber_count(), 0u);
}

}  // namespace
}  // namespace dblab
