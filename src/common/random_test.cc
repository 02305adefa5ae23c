#include "common/random.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

namespace dblab {
namespace {

// Hands out the given bytes in order (then zeros) and counts what was asked for.
class ScriptedRandom : public RandomSource {
 public:
  explicit ScriptedRandom(std::vector<unsigned char> bytes = {}) : bytes_(std::move(bytes)) {}
  void Fill(std::span<unsigned char> out) override {
    for (auto& byte : out) byte = next_ < bytes_.size() ? bytes_[next_++] : 0;
    requested += out.size();
  }
  std::string_view Name() const override { return "scripted"; }
  size_t requested = 0;

 private:
  std::vector<unsigned char> bytes_;
  size_t next_ = 0;
};

TEST(RandomTest, TheDefaultSourceIsTheKernelCsprng) {
  EXPECT_EQ(&DefaultRandom(), &SystemRandom());
  EXPECT_EQ(SystemRandom().Name(), "getrandom(2)");
  // 32 bytes twice: equal or all-zero output would mean a broken source (chance 2^-256).
  std::array<unsigned char, 32> first{}, second{};
  SystemRandom().Fill(first);
  SystemRandom().Fill(second);
  EXPECT_NE(first, second);
  EXPECT_NE(first, (std::array<unsigned char, 32>{}));
}

TEST(RandomTest, ATestSourceReplacesTheDefaultOnlyWhileInstalled) {
  ScriptedRandom scripted;
  {
    ScopedRandomSourceForTesting install(scripted);
    EXPECT_EQ(&DefaultRandom(), &scripted);
  }
  EXPECT_EQ(&DefaultRandom(), &SystemRandom());
}

TEST(RandomTest, RandomIndexRejectsBytesThatWouldBiasTheResult) {
  // bound 36: bytes >= 252 (= 7 * 36) are skipped; 252 and 255 are rejected, 37 gives 1.
  ScriptedRandom scripted({252, 255, 37});
  EXPECT_EQ(RandomIndex(scripted, 36), 1u);
  EXPECT_EQ(scripted.requested, 3u);
}

TEST(RandomTest, RandomIndexIsUniformOverManyDraws) {
  std::array<int, 36> counts{};
  for (int i = 0; i < 36000; ++i) ++counts[RandomIndex(SystemRandom(), 36)];
  for (int count : counts) {
    EXPECT_GT(count, 800);  // expected 1000 each; 800 is > 6 standard deviations away
    EXPECT_LT(count, 1200);
  }
}

}  // namespace
}  // namespace dblab
