#include "client/api_client.h"

#include <gtest/gtest.h>

#include "client/fake_http_server.h"

namespace dblab {
namespace {

using test_support::CannedResponse;
using test_support::FakeHttpServer;
using test_support::RecordedRequest;

ClientOptions OptionsFor(const FakeHttpServer& server) {
  ClientOptions options;
  options.url = server.url() + "/";  // a trailing slash must not double up in paths
  options.token = "tok-123";
  options.request_timeout = std::chrono::seconds(5);
  return options;
}

TEST(ClientApi, SendsTokenMethodPathAndJsonBody) {
  FakeHttpServer server([](const RecordedRequest&) {
    return CannedResponse{201, R"({"id":"c1","status":{"code":"CREATING"}})"};
  });
  ApiClient client(OptionsFor(server));

  auto created = client.CreateClone({{"id", "c1"}, {"db", {{"username", "u"}}}});

  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ((*created)["status"]["code"], "CREATING");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/clone");
  EXPECT_EQ(requests[0].Header("verification-token"), "tok-123");
  EXPECT_EQ(requests[0].Header("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(requests[0].body),
            (nlohmann::json{{"id", "c1"}, {"db", {{"username", "u"}}}}));
}

TEST(ClientApi, UsesDlePathsForEveryCall) {
  FakeHttpServer server([](const RecordedRequest&) { return CannedResponse{200, "{}"}; });
  ApiClient client(OptionsFor(server));

  ASSERT_TRUE(client.Status().ok());
  ASSERT_TRUE(client.Snapshots().ok());
  ASSERT_TRUE(client.Clones().ok());
  ASSERT_TRUE(client.GetClone("a.b-c_d").ok());
  ASSERT_TRUE(client.UpdateClone("c1", {{"protected", true}}).ok());
  ASSERT_TRUE(client.ResetClone("c1", {{"latest", true}}).ok());
  ASSERT_TRUE(client.DestroyClone("c1").ok());
  ASSERT_TRUE(client.FullRefresh().ok());
  ASSERT_TRUE(client.Healthz().ok());

  std::vector<std::string> seen;
  for (const auto& request : server.requests()) seen.push_back(request.method + " " + request.path);
  EXPECT_EQ(seen, (std::vector<std::string>{"GET /status", "GET /snapshots", "GET /clones",
                                            "GET /clone/a.b-c_d", "PATCH /clone/c1",
                                            "POST /clone/c1/reset", "DELETE /clone/c1",
                                            "POST /full-refresh", "GET /healthz"}));
  EXPECT_EQ(server.requests().back().Header("verification-token"), "");  // healthz: no token
}

TEST(ClientApi, EmptySuccessBodyIsNull) {
  FakeHttpServer server([](const RecordedRequest&) { return CannedResponse{200, ""}; });
  ApiClient client(OptionsFor(server));
  auto answer = client.DestroyClone("c1");
  ASSERT_TRUE(answer.ok());
  EXPECT_TRUE(answer->is_null());
}

TEST(ClientApi, MapsHttpErrorsToCodesAndServerMessages) {
  struct Case {
    int status;
    ErrorCode code;
  };
  for (const Case& c : {Case{400, ErrorCode::kBadRequest}, Case{401, ErrorCode::kUnauthorized},
                        Case{404, ErrorCode::kNotFound}, Case{409, ErrorCode::kConflict},
                        Case{413, ErrorCode::kTooLarge}, Case{500, ErrorCode::kInternal},
                        Case{503, ErrorCode::kUnavailable}}) {
    FakeHttpServer server([&c](const RecordedRequest&) {
      return CannedResponse{c.status, R"({"code":"X","message":"clone \"x\" not found"})"};
    });
    ApiClient client(OptionsFor(server));
    auto answer = client.GetClone("x");
    ASSERT_FALSE(answer.ok()) << c.status;
    EXPECT_EQ(answer.error().code, c.code) << c.status;
    EXPECT_EQ(answer.error().message,
              "clone \"x\" not found (HTTP " + std::to_string(c.status) + ")");
  }
}

TEST(ClientApi, NonJsonErrorBodyStillGivesAReadableMessage) {
  FakeHttpServer server([](const RecordedRequest&) {
    return CannedResponse{502, "<html>bad gateway</html>\n"};
  });
  ApiClient client(OptionsFor(server));
  auto answer = client.Status();
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kInternal);
  EXPECT_EQ(answer.error().message, "<html>bad gateway</html> (HTTP 502)");
}

TEST(ClientApi, UnreachableEngineIsUnavailableWithAHint) {
  int port = 0;
  {
    FakeHttpServer server([](const RecordedRequest&) { return CannedResponse{}; });
    port = std::stoi(server.url().substr(server.url().rfind(':') + 1));
  }  // closed: nothing listens there now
  ClientOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(port);
  ApiClient client(options);

  auto answer = client.Status();

  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(answer.error().message.rfind("cannot reach dblab engine at " + options.url + ": ", 0),
            0u)
      << answer.error().message;
  EXPECT_NE(answer.error().message.find("is it running? (check --url)"), std::string::npos);
}

TEST(ClientApi, BranchNamesInAnyScriptArePercentEncodedAndBadOnesNeverSent) {
  FakeHttpServer server([](const RecordedRequest&) { return CannedResponse{200, "[]"}; });
  ApiClient client(OptionsFor(server));
  ASSERT_TRUE(client.BranchLog("ф-1").ok());
  ASSERT_TRUE(client.DeleteBranch("dev_2").ok());
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[0].path, "/branch/%D1%84-1/log");
  EXPECT_EQ(server.requests()[1].path, "/branch/dev_2");
  for (const char* bad : {"", "a/b", "../x", "a b", "x?y=1", "snapshot"}) {
    EXPECT_FALSE(client.BranchLog(bad).ok()) << bad;
  }
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(ClientApi, InvalidCloneIdsAreRejectedBeforeAnyRequest) {
  FakeHttpServer server([](const RecordedRequest&) { return CannedResponse{200, "{}"}; });
  ApiClient client(OptionsFor(server));
  for (const char* bad : {"", "../status", "a/b", "-x", ".x", "a b", "x?y=1"}) {
    auto answer = client.GetClone(bad);
    ASSERT_FALSE(answer.ok()) << bad;
    EXPECT_EQ(answer.error().code, ErrorCode::kBadRequest);
  }
  EXPECT_TRUE(server.requests().empty());
  EXPECT_TRUE(IsValidCloneId("Clone_1.test-2"));
}

TEST(ClientApi, DebugLogShowsMethodUrlAndStatusButNoBodyOrToken) {
  FakeHttpServer server([](const RecordedRequest&) { return CannedResponse{201, "{}"}; });
  ClientOptions options = OptionsFor(server);
  std::vector<std::string> lines;
  options.debug_log = [&lines](const std::string& line) { lines.push_back(line); };
  ApiClient client(options);

  ASSERT_TRUE(client.CreateClone({{"db", {{"password", "hunter2"}}}}).ok());

  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("POST " + server.url() + "/clone -> HTTP 201", 0), 0u) << lines[0];
  EXPECT_EQ(lines[0].find("hunter2"), std::string::npos);
  EXPECT_EQ(lines[0].find("tok-123"), std::string::npos);
}

}  // namespace
}  // namespace dblab
