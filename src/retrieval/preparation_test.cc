#include "retrieval/preparation.h"

#include <gtest/gtest.h>

namespace dblab {
namespace {

// A label source that must not be used: the decision is made without reading labels.
const ConnectToDatabase kNoLabelSource = nullptr;

TEST(HasQueriesTest, AQueryPathOrInlineSqlIsSomethingToRun) {
  EXPECT_FALSE(HasQueries({}));
  EXPECT_FALSE(HasQueries({.inline_sql = " \n\t"}));
  EXPECT_TRUE(HasQueries({.inline_sql = "UPDATE t SET a = 1"}));
  EXPECT_TRUE(HasQueries({.query_path = "/etc/dblab/queries"}));
}

TEST(NeedsResidueScanTest, PreprocessingOrRulesNeedTheScanWithoutReadingLabels) {
  std::vector<std::string> lines;
  auto progress = [&](const std::string& line) { lines.push_back(line); };
  MaskingConfig masking;  // anonymizerLabels on
  auto sql = NeedsResidueScan(masking, /*sql=*/true, false, {"app"}, kNoLabelSource, progress);
  ASSERT_TRUE(sql.ok());
  EXPECT_TRUE(*sql);
  auto script =
      NeedsResidueScan(masking, false, /*script=*/true, {"app"}, kNoLabelSource, progress);
  ASSERT_TRUE(script.ok());
  EXPECT_TRUE(*script);
  masking.rules.push_back(MaskingRule{.table = "users", .column = "email"});
  auto rules = NeedsResidueScan(masking, false, false, {"app"}, kNoLabelSource, progress);
  ASSERT_TRUE(rules.ok());
  EXPECT_TRUE(*rules);
  EXPECT_TRUE(lines.empty());
}

TEST(NeedsResidueScanTest, NothingToChangeDataSkipsTheScanWithOneLine) {
  std::vector<std::string> lines;
  auto progress = [&](const std::string& line) { lines.push_back(line); };
  MaskingConfig masking;
  masking.anonymizer_labels = false;
  auto off = NeedsResidueScan(masking, false, false, {"app"}, kNoLabelSource, progress);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(*off);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("residue: scan skipped: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("masking.anonymizerLabels is off"), std::string::npos) << lines[0];
}

TEST(NeedsResidueScanTest, AnUnreachableLabelSourceFailsRatherThanSkips) {
  MaskingConfig masking;  // anonymizerLabels on: the labels must be read to skip
  auto failed = NeedsResidueScan(
      masking, false, false, {"app"},
      [](const std::string&) -> Result<PgConnection> { return Unavailable("source is down"); },
      nullptr);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("source is down"), std::string::npos)
      << failed.error().message;
}

}  // namespace
}  // namespace dblab
