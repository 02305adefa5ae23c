#include "common/random.h"

#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace dblab {
namespace {

[[noreturn]] void DieWithoutRandomness(const char* what) {
  std::fprintf(stderr,
               "dblab: fatal: the OS random number generator failed (%s: %s); refusing to "
               "generate tokens, passwords or ids from anything weaker\n",
               what, std::strerror(errno));
  std::abort();
}

class GetrandomSource : public RandomSource {
 public:
  void Fill(std::span<unsigned char> out) override {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t got = getrandom(out.data() + done, out.size() - done, 0);
      if (got > 0) {
        done += static_cast<size_t>(got);
      } else if (got < 0 && errno == EINTR) {
        continue;
      } else if (got < 0 && errno == ENOSYS) {
        return FillFromDevice(out.subspan(done));
      } else {
        DieWithoutRandomness("getrandom");
      }
    }
  }
  std::string_view Name() const override { return "getrandom(2)"; }

 private:
  static void FillFromDevice(std::span<unsigned char> out) {
    std::ifstream device("/dev/urandom", std::ios::binary);
    if (!device.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size())))
      DieWithoutRandomness("/dev/urandom");
  }
};

std::atomic<RandomSource*> test_source{nullptr};

}  // namespace

RandomSource& SystemRandom() {
  static GetrandomSource source;
  return source;
}

RandomSource& DefaultRandom() {
  RandomSource* source = test_source.load();
  return source ? *source : SystemRandom();
}

ScopedRandomSourceForTesting::ScopedRandomSourceForTesting(RandomSource& source)
    : previous_(test_source.exchange(&source)) {}

ScopedRandomSourceForTesting::~ScopedRandomSourceForTesting() { test_source.store(previous_); }

size_t RandomIndex(RandomSource& source, size_t bound) {
  if (bound == 0 || bound > 256) std::abort();  // a programming error, not input
  // Accept bytes below the largest multiple of `bound` that fits in a byte: each index then has
  // the same number of accepted byte values.
  const unsigned limit = 256 - 256 % bound;
  while (true) {
    unsigned char byte;
    source.Fill(std::span<unsigned char>(&byte, 1));
    if (byte < limit) return byte % bound;
  }
}

}  // namespace dblab
