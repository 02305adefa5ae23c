#include "postgres/pq.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>

namespace dblab {

std::string BuildConninfo(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += ' ';
    out += key + "='";
    for (char c : value) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += '\'';
  }
  return out;
}

std::string AdminConninfo(const std::string& socket_dir, int port, const std::string& user,
                          const std::string& dbname,
                          const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::pair<std::string, std::string>> params = {{"host", socket_dir},
                                                             {"port", std::to_string(port)},
                                                             {"user", user},
                                                             {"dbname", dbname},
                                                             {"options", kAdminSessionOptions}};
  params.insert(params.end(), extra.begin(), extra.end());
  return BuildConninfo(params);
}

Result<PgConnection> PgConnection::Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) return Internal("out of memory connecting to postgres");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Unavailable(message);
  }
  return PgConnection(conn);
}

Result<PgRows> PgConnection::Query(const std::string& sql) {
  PGresult* result = PQexec(conn_.get(), sql.c_str());
  std::unique_ptr<PGresult, decltype(&PQclear)> guard(result, &PQclear);
  ExecStatusType status = PQresultStatus(result);
  const char* sqlstate = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = sqlstate ? sqlstate : "";
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string message = PQerrorMessage(conn_.get());
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Internal(message);
  }
  PgRows rows;
  for (int row = 0; row < PQntuples(result); ++row) {
    std::vector<std::string> values;
    for (int col = 0; col < PQnfields(result); ++col) {
      values.emplace_back(PQgetisnull(result, row, col) ? "" : PQgetvalue(result, row, col));
    }
    rows.push_back(std::move(values));
  }
  return rows;
}

std::string PgConnection::QuoteIdentifier(const std::string& name) {
  char* quoted = PQescapeIdentifier(conn_.get(), name.c_str(), name.size());
  std::string out = quoted ? quoted : "";
  PQfreemem(quoted);
  return out;
}

std::string PgConnection::QuoteLiteral(const std::string& value) {
  char* quoted = PQescapeLiteral(conn_.get(), value.c_str(), value.size());
  std::string out = quoted ? quoted : "";
  PQfreemem(quoted);
  return out;
}

namespace {

std::string Base64(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(written > 0 ? static_cast<size_t>(written) : 0);
  return out;
}

Result<std::string> LibpqScramVerifier(const std::string& username, const std::string& password) {
  // libpq needs a PGconn only for its error buffer: an unparsable conninfo gives one without
  // any network activity.
  PGconn* conn = PQconnectStart("sslmode=not-a-mode");
  if (conn == nullptr) return Internal("out of memory computing password verifier");
  char* verifier = PQencryptPasswordConn(conn, password.c_str(), username.c_str(), "scram-sha-256");
  std::string out = verifier ? verifier : "";
  std::string error = PQerrorMessage(conn);
  PQfreemem(verifier);
  PQfinish(conn);
  if (out.empty()) return Internal("cannot compute SCRAM verifier: " + error);
  return out;
}

}  // namespace

Result<std::string> ScramVerifierWithSalt(const std::string& password, std::string_view salt,
                                          int iterations) {
  unsigned char salted[SHA256_DIGEST_LENGTH];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(), sizeof salted,
                        salted) != 1) {
    return Internal("cannot compute SCRAM verifier: PBKDF2 failed");
  }
  auto hmac = [&](std::string_view text, unsigned char* out) {
    unsigned int length = SHA256_DIGEST_LENGTH;
    return HMAC(EVP_sha256(), salted, sizeof salted,
                reinterpret_cast<const unsigned char*>(text.data()), text.size(), out,
                &length) != nullptr;
  };
  unsigned char client_key[SHA256_DIGEST_LENGTH];
  unsigned char server_key[SHA256_DIGEST_LENGTH];
  unsigned char stored_key[SHA256_DIGEST_LENGTH];
  if (!hmac("Client Key", client_key) || !hmac("Server Key", server_key) ||
      SHA256(client_key, sizeof client_key, stored_key) == nullptr) {
    return Internal("cannot compute SCRAM verifier: HMAC failed");
  }
  OPENSSL_cleanse(salted, sizeof salted);
  OPENSSL_cleanse(client_key, sizeof client_key);
  return "SCRAM-SHA-256$" + std::to_string(iterations) + ":" +
         Base64(reinterpret_cast<const unsigned char*>(salt.data()), salt.size()) + "$" +
         Base64(stored_key, sizeof stored_key) + ":" + Base64(server_key, sizeof server_key);
}

Result<std::string> ScramVerifier(const std::string& username, const std::string& password) {
  // PostgreSQL runs the password through SASLprep first, which leaves pure ASCII unchanged.
  // Those go through OpenSSL's PBKDF2 (about 3x faster than libpq's loop); others through libpq,
  // which normalizes them exactly as the server does.
  bool ascii = std::all_of(password.begin(), password.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) return LibpqScramVerifier(username, password);
  unsigned char salt[kScramSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1)
    return Internal("cannot compute SCRAM verifier: no random");
  return ScramVerifierWithSalt(password,
                               std::string_view(reinterpret_cast<const char*>(salt), sizeof salt),
                               kScramIterations);
}

}  // namespace dblab
