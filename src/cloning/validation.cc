#include "cloning/validation.h"

#include <cmath>
#include <regex>

namespace dblab {

Status ValidateCloneId(const std::string& id) {
  static const std::regex kPattern("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$");
  if (id.empty() || id.size() > 64 || !std::regex_match(id, kPattern)) {
    return BadRequest(
        "invalid clone id \"" + id.substr(0, 80) +
        "\": use 1-64 letters, digits, '_', '.', '-', starting with a letter or digit");
  }
  return OkStatus();
}

Status ValidateUsername(const std::string& username, const std::string& reserved_superuser) {
  static const std::regex kPattern("^[a-zA-Z_][a-zA-Z0-9_.-]*$");
  if (username.empty()) return BadRequest("db.username is required");
  if (username.size() > 63 || !std::regex_match(username, kPattern)) {
    return BadRequest("invalid db.username \"" + username.substr(0, 80) +
                      "\": use 1-63 letters, digits, '_', '.', '-', starting with a letter or '_'");
  }
  if (username == reserved_superuser || username.rfind("pg_", 0) == 0) {
    return BadRequest("db.username \"" + username + "\" is reserved; choose another name");
  }
  return OkStatus();
}

Status ValidateDatabaseName(const std::string& name) {
  if (name.empty() || name.size() > 63) return BadRequest("db.db_name must have 1-63 bytes");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return BadRequest("db.db_name contains a control character");
  }
  return OkStatus();
}

int PasswordStrength(const std::string& password) {
  if (password.empty()) return 0;
  bool lower = false, upper = false, digit = false, other = false;
  for (unsigned char c : password) {
    lower |= std::islower(c) != 0;
    upper |= std::isupper(c) != 0;
    digit |= std::isdigit(c) != 0;
    other |= !std::isalnum(c);
  }
  int classes = lower + upper + digit + other;
  int score = 1;
  if (password.size() >= 8 && classes >= 2) score = 2;
  if (password.size() >= 12 && classes >= 3) score = 3;
  if (password.size() >= 16 && classes >= 3) score = 4;
  return score;
}

Status ValidatePassword(const std::string& password, int min_strength) {
  if (password.empty()) return BadRequest("db.password is required");
  if (password.size() > 1024) return BadRequest("db.password is longer than 1024 bytes");
  if (password.find('\0') != std::string::npos) return BadRequest("db.password contains NUL");
  if (PasswordStrength(password) < min_strength) {
    return BadRequest("db.password is too weak (strength " +
                      std::to_string(PasswordStrength(password)) + ", required " +
                      std::to_string(min_strength) +
                      "): use at least 12 characters with upper, lower case and digits");
  }
  return OkStatus();
}

std::string GenerateId(size_t length, RandomSource& source) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  if (length == 0) return id;
  id += kAlphabet[RandomIndex(source, 26)];
  while (id.size() < length) id += kAlphabet[RandomIndex(source, kAlphabet.size())];
  return id;
}

double GeneratedIdBits(size_t length) {
  if (length == 0) return 0;
  return std::log2(26.0) + static_cast<double>(length - 1) * std::log2(36.0);
}

}  // namespace dblab
