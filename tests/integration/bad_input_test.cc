// Bad input against the real engine and CLI: every endpoint and command answers a clear 4xx
// (or a non-zero exit with one readable line), nothing crashes and nothing changes.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include "engine_fixture.h"

namespace dblab::testing {
namespace {

struct HttpAnswer {
  long status = 0;
  std::string body;
};

size_t Collect(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

class BadInputTest : public EngineFixture {
 protected:
  HttpAnswer Request(const std::string& method, const std::string& path,
                     const std::string& body = "", const std::string& token = kToken,
                     const std::string& source_address = "") {
    CURL* curl = curl_easy_init();
    HttpAnswer answer;
    struct curl_slist* headers = nullptr;
    if (!token.empty())
      headers = curl_slist_append(headers, ("Verification-Token: " + token).c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
    std::string url = Url() + path;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (!body.empty() || method == "POST" || method == "PATCH") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    if (!source_address.empty()) curl_easy_setopt(curl, CURLOPT_INTERFACE, source_address.c_str());
    curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return answer;
  }

  // The answer is the given status with a JSON {code, message} body.
  void ExpectError(const HttpAnswer& answer, long status, const std::string& context) {
    EXPECT_EQ(answer.status, status) << context << ": " << answer.body;
    auto json = nlohmann::json::parse(answer.body, nullptr, false);
    ASSERT_TRUE(json.is_object()) << context << ": " << answer.body;
    EXPECT_TRUE(json.contains("code") && json.contains("message")) << context;
  }
};

TEST_F(BadInputTest, ApiRefusesBadInputWithClearErrorsAndChangesNothing) {
  StartEngineAndWaitForSnapshot();
  auto made = CliJson({"clone", "create", "--username", "u1", "--password", "p1", "--id", "keeper",
                       "--protected", "0"});
  ASSERT_EQ(made["status"]["code"], "OK");

  EXPECT_EQ(Request("GET", "/healthz", "", "").status, 200);
  int guesser = 100;
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/status"},
                                                        {"GET", "/snapshots"},
                                                        {"GET", "/clones"},
                                                        {"POST", "/clone"},
                                                        {"GET", "/clone/keeper"},
                                                        {"PATCH", "/clone/keeper"},
                                                        {"DELETE", "/clone/keeper"},
                                                        {"POST", "/clone/keeper/reset"},
                                                        {"GET", "/api/clones"}}) {
    ExpectError(Request(method, path, "{}", ""), 401, method + " " + path + " without token");
    // Each wrong token from its own loopback address: five from one address lock it out.
    ExpectError(Request(method, path, "{}", "wrong-token", "127.0.0." + std::to_string(++guesser)),
                401, method + " " + path);
  }
  // Wrong tokens are slowed per client address: the sixth from one address is refused (429)
  // without its token being looked at, while the right token keeps working for others.
  for (int i = 0; i < 5; ++i) {
    ExpectError(Request("GET", "/clones", "", "guess", "127.0.0.200"), 401,
                "guess " + std::to_string(i));
  }
  ExpectError(Request("GET", "/clones", "", "guess", "127.0.0.200"), 429, "sixth guess");
  ExpectError(Request("GET", "/clones", "", kToken, "127.0.0.200"), 429, "right token, locked out");
  EXPECT_EQ(Request("GET", "/clones").status, 200);

  ExpectError(Request("POST", "/clone", "{not json"), 400, "bad JSON");
  ExpectError(
      Request("POST", "/clone", R"({"id":"x1","db":{"username":"u","password":"p"},"bogus":1})"),
      400, "unknown field");
  ExpectError(Request("POST", "/clone", R"({"id":"x2","db":{"username":5,"password":"p"}})"), 400,
              "wrong type");
  ExpectError(Request("POST", "/clone", R"({"id":"x3","db":{"password":"p"}})"), 400,
              "missing username");
  ExpectError(
      Request("POST", "/clone", R"({"id":"../../etc","db":{"username":"u","password":"p"}})"), 400,
      "traversal id");
  ExpectError(
      Request("POST", "/clone", R"({"id":"x4","db":{"username":"postgres","password":"p"}})"), 400,
      "reserved user");
  ExpectError(
      Request("POST", "/clone",
              R"({"id":"x5","snapshot":{"id":"nope"},"db":{"username":"u","password":"p"}})"),
      404, "unknown snapshot");
  ExpectError(Request("POST", "/clone", R"({"id":"keeper","db":{"username":"u","password":"p"}})"),
              409, "duplicate id");
  ExpectError(Request("POST", "/clone", std::string(2 << 20, ' ')), 413, "huge body");

  ExpectError(Request("GET", "/clone/nope"), 404, "unknown clone");
  ExpectError(Request("GET", "/clone/..%2F..%2Fetc%2Fpasswd"), 400, "encoded traversal");
  ExpectError(Request("DELETE", "/clone/nope"), 404, "destroy unknown");
  ExpectError(Request("DELETE", "/clone/keeper"), 409, "destroy protected");
  ExpectError(Request("PATCH", "/clone/keeper", R"({"protected":"yes"})"), 400, "patch type");
  ExpectError(Request("POST", "/clone/keeper/reset", R"({"snapshotID":"a","latest":true})"), 400,
              "both snapshotID and latest");
  ExpectError(Request("POST", "/clone/keeper/reset", R"({"snapshotID":"nope"})"), 404,
              "reset to unknown snapshot");
  ExpectError(Request("POST", "/clone/nope/reset", "{}"), 404, "reset unknown");

  // Nothing changed: one clone, still OK and protected, still serving.
  auto clones = CliJson({"clone", "list"});
  ASSERT_EQ(clones.size(), 1u);
  EXPECT_EQ(clones[0]["id"], "keeper");
  EXPECT_EQ(clones[0]["status"]["code"], "OK");
  EXPECT_EQ(clones[0]["protected"], true);
  int port = std::stoi(clones[0]["db"]["port"].get<std::string>());
  EXPECT_TRUE(ConnectClone(port, "u1", "p1", source_.dbname).ok());
}

TEST_F(BadInputTest, CliExitsNonZeroWithOneReadableLine) {
  StartEngineAndWaitForSnapshot();
  auto expect_failure = [&](const std::vector<std::string>& args, int code,
                            const std::map<std::string, std::string>& env = {}) {
    auto result = Cli(args, env);
    EXPECT_EQ(result.exit_code, code)
        << args[0] << " " << (args.size() > 1 ? args[1] : "") << ": " << result.err;
    EXPECT_NE(result.err.find("Error"), std::string::npos) << result.err;
    EXPECT_LE(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  };
  expect_failure({"clone", "create", "--username", "u", "--password", "p", "--id", "../x"}, 2);
  expect_failure({"clone", "create", "--username", "u", "--id", "nopassword"}, 2);
  expect_failure({"clone", "status", "missing"}, 1);
  expect_failure({"clone", "reset", "missing"}, 1);
  expect_failure({"clone", "destroy", "missing"}, 1);
  expect_failure({"clone", "update", "missing", "--protected", "true"}, 1);
  expect_failure({"clone", "update", "x", "--protected", "sometimes"}, 2);
  expect_failure({"clone", "reset", "x", "--latest", "--snapshot-id", "s"}, 2);
  expect_failure({"clone", "list"}, 4, {{"DBLAB_VERIFICATION_TOKEN", "wrong"}});
  expect_failure({"snapshot", "list"}, 3, {{"DBLAB_INSTANCE_URL", "http://127.0.0.1:1"}});
  expect_failure({"instance", "status"}, 4, {{"DBLAB_VERIFICATION_TOKEN", "wrong"}});
  expect_failure({"config", "switch", "nowhere"}, 1);
  expect_failure({"init", "--url", Url()}, 2);
  EXPECT_EQ(CliJson({"clone", "list"}).size(), 0u);
}

}  // namespace
}  // namespace dblab::testing
