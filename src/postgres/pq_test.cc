#include "postgres/pq.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace dblab {
namespace {

// libpq's own verifier for the password, with its random salt.
std::string LibpqVerifier(const std::string& password) {
  PGconn* conn = PQconnectStart("sslmode=not-a-mode");
  char* verifier = PQencryptPasswordConn(conn, password.c_str(), "u", "scram-sha-256");
  std::string out = verifier ? verifier : "";
  PQfreemem(verifier);
  PQfinish(conn);
  return out;
}

std::string DecodeBase64(const std::string& text) {
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  out.resize(n - std::count(text.begin(), text.end(), '='));
  return out;
}

TEST(ScramVerifierTest, SameAsLibpqForTheSameSalt) {
  for (std::string password : {"Correct-Horse-9", "a b\tc'\"\\$x", "x"}) {
    std::string expected = LibpqVerifier(password);
    std::smatch parts;
    ASSERT_TRUE(
        std::regex_match(expected, parts, std::regex(R"(SCRAM-SHA-256\$(\d+):([^$]+)\$.*)")))
        << expected;
    auto ours = ScramVerifierWithSalt(password, DecodeBase64(parts[2]), std::stoi(parts[1]));
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(*ours, expected) << password;
  }
}

TEST(ScramVerifierTest, RandomSaltAndPostgresDefaults) {
  std::regex format(
      R"(SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=)");
  auto first = ScramVerifier("u", "Correct-Horse-9");
  auto second = ScramVerifier("u", "Correct-Horse-9");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(std::regex_match(*first, format)) << *first;
  EXPECT_NE(*first, *second);  // a fresh salt each time
  EXPECT_EQ(first->find("Correct-Horse-9"), std::string::npos);
  // Non-ASCII passwords are normalized by libpq's SASLprep, as the server does.
  auto unicode = ScramVerifier("u", "pässwörd-Ünïcode-42");
  ASSERT_TRUE(unicode.ok());
  EXPECT_TRUE(std::regex_match(*unicode, format)) << *unicode;
}

// The engine's own sessions pin search_path and the other settings a clone's user could
// plant with ALTER DATABASE/ROLE ... SET; libpq reads the options back as they were built.
TEST(AdminConninfoTest, PinsSearchPathAndRoleAgainstPlantedSettings) {
  std::string conninfo = AdminConninfo("/pool/sockets/6000", 6000, "postgres", "it's db",
                                       {{"application_name", "dblab-engine"}});
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  ASSERT_NE(options, nullptr) << (error ? error : "");
  std::map<std::string, std::string> values;
  for (PQconninfoOption* option = options; option->keyword; ++option) {
    if (option->val) values[option->keyword] = option->val;
  }
  PQconninfoFree(options);
  EXPECT_EQ(values["host"], "/pool/sockets/6000");
  EXPECT_EQ(values["port"], "6000");
  EXPECT_EQ(values["dbname"], "it's db");
  EXPECT_EQ(values["application_name"], "dblab-engine");
  EXPECT_NE(values["options"].find("-c search_path=pg_catalog "), std::string::npos);
  EXPECT_NE(values["options"].find("-c role=none"), std::string::npos);
  EXPECT_NE(values["options"].find("-c default_transaction_read_only=off"), std::string::npos);
}

// Every conninfo the engine builds reads back, value for value, through libpq's own parser.
TEST(BuildConninfoTest, LibpqReadsBackEveryValue) {
  std::vector<std::pair<std::string, std::string>> params = {{"host", "/tmp/dir with space"},
                                                             {"user", "o'neil"},
                                                             {"dbname", "a\\b c='d'"},
                                                             {"password", ""},
                                                             {"application_name", "x host=evil"}};
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(BuildConninfo(params).c_str(), &error);
  ASSERT_NE(options, nullptr) << (error ? error : "");
  std::map<std::string, std::string> parsed;
  for (PQconninfoOption* option = options; option->keyword; ++option) {
    if (option->val) parsed[option->keyword] = option->val;
  }
  PQconninfoFree(options);
  for (const auto& [key, value] : params) EXPECT_EQ(parsed[key], value) << key;
  EXPECT_EQ(parsed.count("hostaddr"), 0u);
}

}  // namespace
}  // namespace dblab
