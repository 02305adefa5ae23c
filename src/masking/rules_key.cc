#include "masking/rules_key.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "platform/files.h"

namespace dblab {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string ToHex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

int HexValue(char c) {
  const char* found = std::strchr(kHex, c);
  return c != '\0' && found != nullptr ? static_cast<int>(found - kHex) : -1;
}

Result<std::string> NewKey() {
  std::string key(kMaskingKeyBytes, '\0');
  size_t filled = 0;
  while (filled < key.size()) {
    ssize_t got = getrandom(key.data() + filled, key.size() - filled, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Internal(std::string("getrandom for the masking key: ") + strerror(errno));
    filled += static_cast<size_t>(got);
  }
  return key;
}

}  // namespace

Result<std::string> LoadOrCreateMaskingKey(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    if (errno != ENOENT) return Internal("masking key " + path + ": " + strerror(errno));
    std::error_code error;
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::exists(parent, error)) {
      std::filesystem::create_directories(parent, error);
      if (error) return Internal("create " + parent.string() + ": " + error.message());
      chmod(parent.c_str(), 0700);
    }
    DBLAB_ASSIGN_OR_RETURN(std::string key, NewKey());
    DBLAB_TRY(WriteFileAtomically(path, ToHex(key) + "\n", 0600));
    return key;
  }
  if (!S_ISREG(info.st_mode)) return BadRequest("masking key " + path + " is not a regular file");
  if (info.st_uid != geteuid() || (info.st_mode & 077) != 0) {
    return BadRequest("masking key " + path +
                      " must be owned by the engine's user and readable "
                      "by it alone (chown root " +
                      path + " && chmod 600 " + path + ")");
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Internal("cannot read masking key " + path);
  std::string hex = text.str();
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == ' ')) hex.pop_back();
  std::string key;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    int high = HexValue(hex[i]), low = HexValue(hex[i + 1]);
    if (high < 0 || low < 0) break;
    key += static_cast<char>(high * 16 + low);
  }
  if (hex.size() != 2 * kMaskingKeyBytes || key.size() != kMaskingKeyBytes) {
    return BadRequest("masking key " + path +
                      " must hold 64 lowercase hex digits; restore it "
                      "from a backup (a new key would change every masked value)");
  }
  return key;
}

}  // namespace dblab
