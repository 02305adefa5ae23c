// Where dblab's secrets come from: the API token, generated passwords and ids. All randomness goes
// through RandomSource, so a test can see which source was used and how many bytes it gave.
// The real source is the kernel's CSPRNG (getrandom(2)); there is no seeded generator anywhere.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace dblab {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills all of `out` with unpredictable bytes. Thread-safe.
  virtual void Fill(std::span<unsigned char> out) = 0;
  // Names the source for logs and tests: "getrandom(2)".
  virtual std::string_view Name() const = 0;
};

// The OS CSPRNG: getrandom(2), which blocks only until the kernel's pool is first initialised at
// boot. If the kernel refuses (ENOSYS, before Linux 3.17) it reads /dev/urandom; if both fail the
// process aborts with a message: an id or password from a weaker source would be worse.
RandomSource& SystemRandom();

// The source every generator uses by default: SystemRandom(), unless a test installed another.
RandomSource& DefaultRandom();

// For tests: makes DefaultRandom() return `source` while this object lives. Not nestable across
// threads; install it before the code under test starts threads.
class ScopedRandomSourceForTesting {
 public:
  explicit ScopedRandomSourceForTesting(RandomSource& source);
  ~ScopedRandomSourceForTesting();
  ScopedRandomSourceForTesting(const ScopedRandomSourceForTesting&) = delete;
  ScopedRandomSourceForTesting& operator=(const ScopedRandomSourceForTesting&) = delete;

 private:
  RandomSource* previous_;
};

// A uniformly random index in [0, bound) from `source` (rejection sampling on single bytes, so
// there is no modulo bias). `bound` must be 1..256.
size_t RandomIndex(RandomSource& source, size_t bound);

}  // namespace dblab
