#include "config/yaml_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dblab {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// A reader of "test.yml" whose `${NAME}` variables come from `variables_`, never the process.
class YamlReaderTest : public ::testing::Test {
 protected:
  // The top-level mapping of `yaml`, which must be one.
  YamlMapping Root(const std::string& yaml, YamlReader* reader = nullptr) {
    reader = reader != nullptr ? reader : &reader_;
    Result<YamlMapping> root = reader->Map(YAML::Load(yaml), "");
    EXPECT_TRUE(root.ok()) << (root.ok() ? "" : root.error().message);
    return root.ok() ? *root : YamlMapping("", {});
  }

  // The mapping at `key` of `yaml`'s top level, which must be one.
  YamlMapping Section(const std::string& yaml, const std::string& key) {
    YamlMapping root = Root(yaml);
    Result<YamlMapping> section = reader_.Sub(root, key);
    EXPECT_TRUE(section.ok()) << (section.ok() ? "" : section.error().message);
    return section.ok() ? *section : YamlMapping(key, {});
  }

  // The error of reading the mapping at `key` of `yaml`, which must fail.
  std::string SectionError(const std::string& yaml, const std::string& key) {
    YamlMapping root = Root(yaml);
    Result<YamlMapping> section = reader_.Sub(root, key);
    EXPECT_FALSE(section.ok()) << "expected an error for:\n" << yaml;
    if (section.ok()) return "";
    EXPECT_EQ(section.error().code, ErrorCode::kBadRequest);
    return section.error().message;
  }

  std::string Text(YamlMapping& map, std::string_view key) {
    std::string out = "<unset>";
    Status read = reader_.String(map, key, &out);
    EXPECT_TRUE(read.ok()) << (read.ok() ? "" : read.error().message);
    return out;
  }

  int Number(YamlMapping& map, std::string_view key) {
    int out = -1;
    Status read = reader_.Int(map, key, 0, 1000, &out);
    EXPECT_TRUE(read.ok()) << (read.ok() ? "" : read.error().message);
    return out;
  }

  std::map<std::string, std::string> variables_;
  VariableLookup lookup_ = [this](const std::string& name) -> std::optional<std::string> {
    auto it = variables_.find(name);
    if (it == variables_.end()) return std::nullopt;
    return it->second;
  };
  YamlReader reader_{"test.yml", lookup_};
};

// ---- `<<` merge keys -------------------------------------------------------------------------

TEST_F(YamlReaderTest, ExplicitKeysWinOverMergedOnesWhereverTheMergeSits) {
  const std::string yaml = R"(
base: &base {a: 1, b: 1}
before:
  <<: *base
  a: 2
after:
  a: 2
  <<: *base
)";
  for (const char* key : {"before", "after"}) {
    YamlMapping map = Section(yaml, key);
    EXPECT_EQ(Number(map, "a"), 2) << key;
    EXPECT_EQ(Number(map, "b"), 1) << key;
    ASSERT_EQ(map.entries().size(), 2u);
    EXPECT_FALSE(map.entries()[0].merged);  // a, written here
    EXPECT_TRUE(map.entries()[1].merged);   // b, from *base
  }
}

TEST_F(YamlReaderTest, AmongMergeSourcesTheEarlierWins) {
  const std::string yaml = R"(
first: &first {a: 1}
second: &second {a: 2, b: 2}
two_keys:
  <<: *first
  <<: *second
one_list:
  <<: [*first, *second]
)";
  for (const char* key : {"two_keys", "one_list"}) {
    YamlMapping map = Section(yaml, key);
    EXPECT_EQ(Number(map, "a"), 1) << key;
    EXPECT_EQ(Number(map, "b"), 2) << key;
  }
}

TEST_F(YamlReaderTest, MergedMappingsResolveTheirOwnMergesShallowly) {
  YamlMapping top = Section(R"(
inner: &inner {a: 1, nested: {x: 1, y: 1}}
outer: &outer
  <<: *inner
  b: 2
top:
  <<: *outer
  nested: {x: 2}
)",
                            "top");
  EXPECT_EQ(Number(top, "a"), 1);
  EXPECT_EQ(Number(top, "b"), 2);
  Result<YamlMapping> nested = reader_.Sub(top, "nested");
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(Number(*nested, "x"), 2);
  EXPECT_EQ(Number(*nested, "y"), -1);  // the written `nested` replaces the merged one whole
}

TEST_F(YamlReaderTest, MergesNestDeeperThanTheLimitAreRefused) {
  // level0 holds the value; levelN merges level(N-1), so reading levelN merges N levels deep.
  std::string yaml = "level0: &level0 {k: 7}\n";
  for (int level = 1; level <= YamlReader::kMaxMergeDepth + 1; ++level) {
    yaml += "level" + std::to_string(level) + ": &level" + std::to_string(level) + " {<<: *level" +
            std::to_string(level - 1) + "}\n";
  }
  const std::string deepest_allowed = "level" + std::to_string(YamlReader::kMaxMergeDepth);
  YamlMapping allowed = Section(yaml, deepest_allowed);
  EXPECT_EQ(Number(allowed, "k"), 7);

  const std::string too_deep = "level" + std::to_string(YamlReader::kMaxMergeDepth + 1);
  EXPECT_EQ(SectionError(yaml, too_deep),
            "test.yml: line 1: " + too_deep +
                ": `<<` merges nested too deeply (an anchor that includes itself?)");
}

TEST_F(YamlReaderTest, ADuplicateKeyIsRefusedNamingBothLines) {
  EXPECT_EQ(SectionError("server:\n  port: 1\n  host: h\n  port: 2\n", "server"),
            "test.yml: line 4: server.port: duplicate key (first at line 2)");
}

TEST_F(YamlReaderTest, AMergeMustNameMappings) {
  EXPECT_EQ(SectionError("s:\n  <<: 5\n", "s"),
            "test.yml: line 2: s: `<<` needs a mapping or a list of mappings (e.g. *anchor)");
  EXPECT_EQ(SectionError("a: &a {x: 1}\ns:\n  <<: [*a, 3]\n", "s"),
            "test.yml: line 3: s: `<<` list items must be mappings (e.g. *anchor)");
}

TEST_F(YamlReaderTest, AQuotedMergeKeyIsAnOrdinaryKey) {
  YamlMapping map = Section("s:\n  \"<<\": {x: 1}\n", "s");
  ASSERT_EQ(map.entries().size(), 1u);
  EXPECT_EQ(map.entries()[0].key, "<<");
}

// ---- Values ----------------------------------------------------------------------------------

TEST_F(YamlReaderTest, VariablesExpandInValuesAfterParsing) {
  variables_ = {{"HOST", "db1"}, {"FLOW", "{a: 1}"}};
  YamlMapping map = Section(R"(
s:
  host: "${HOST}.example.com"
  twice: "${HOST}/${HOST}"
  unset: "a${NOPE}b"
  dollars: "pa$$word${"
  not_a_name: "${1X} ${} ${A-B}"
  flow: "${FLOW}"
  list: ["${HOST}", x]
)",
                            "s");
  EXPECT_EQ(Text(map, "host"), "db1.example.com");
  EXPECT_EQ(Text(map, "twice"), "db1/db1");
  EXPECT_EQ(Text(map, "unset"), "ab");
  EXPECT_EQ(Text(map, "dollars"), "pa$$word${");
  EXPECT_EQ(Text(map, "not_a_name"), "${1X} ${} ${A-B}");
  EXPECT_EQ(Text(map, "flow"), "{a: 1}");  // a value, never YAML
  std::vector<std::string> list;
  ASSERT_TRUE(reader_.StringList(map, "list", &list).ok());
  EXPECT_THAT(list, ElementsAre("db1", "x"));
}

TEST_F(YamlReaderTest, AnAbsentOrNullKeyKeepsTheDefault) {
  YamlMapping map = Section("s:\n  text:\n  number: ~\n  flag:\n  list:\n", "s");
  std::string text = "default";
  int number = 7;
  bool flag = true;
  std::vector<std::string> list = {"kept"};
  for (std::string_view key : {"text", "absent"}) {
    ASSERT_TRUE(reader_.String(map, key, &text).ok());
    ASSERT_TRUE(reader_.Int(map, key, 0, 10, &number).ok());
    ASSERT_TRUE(reader_.Bool(map, key, &flag).ok());
    ASSERT_TRUE(reader_.StringList(map, key, &list).ok());
  }
  ASSERT_TRUE(reader_.Int(map, "number", 0, 10, &number).ok());
  ASSERT_TRUE(reader_.Bool(map, "flag", &flag).ok());
  ASSERT_TRUE(reader_.StringList(map, "list", &list).ok());
  EXPECT_EQ(text, "default");
  EXPECT_EQ(number, 7);
  EXPECT_TRUE(flag);
  EXPECT_THAT(list, ElementsAre("kept"));
}

TEST_F(YamlReaderTest, AnIntOutOfRangeNamesTheKeyPathAndLine) {
  YamlMapping server = Section("server:\n  host: h\n  port: 70000\n", "server");
  int port = 2345;
  Status read = reader_.Int(server, "port", 1, 65535, &port);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(read.error().message,
            "test.yml: line 3: server.port: must be between 1 and 65535, got 70000");
  EXPECT_EQ(port, 2345);
}

TEST_F(YamlReaderTest, AnIntMustBeAWholeNumber) {
  YamlMapping map = Section("s:\n  a: 1.5\n  b: +12\n  c: 99999999999999999999\n", "s");
  int64_t value = 0;
  Status fraction = reader_.Int(map, "a", int64_t{0}, int64_t{100}, &value);
  ASSERT_FALSE(fraction.ok());
  EXPECT_EQ(fraction.error().message, "test.yml: line 2: s.a: expected a whole number, got '1.5'");
  ASSERT_TRUE(reader_.Int(map, "b", int64_t{0}, int64_t{100}, &value).ok());
  EXPECT_EQ(value, 12);
  Status overflow = reader_.Int(map, "c", int64_t{0}, int64_t{100}, &value);
  ASSERT_FALSE(overflow.ok());
  EXPECT_THAT(overflow.error().message, HasSubstr("s.c: expected a whole number"));
}

TEST_F(YamlReaderTest, ABoolIsTrueYesOnOrFalseNoOffInAnyCase) {
  YamlMapping map = Section("s: {a: YES, b: Off, c: 'True', d: maybe}\n", "s");
  bool a = false, b = true, c = false, d = false;
  ASSERT_TRUE(reader_.Bool(map, "a", &a).ok());
  ASSERT_TRUE(reader_.Bool(map, "b", &b).ok());
  ASSERT_TRUE(reader_.Bool(map, "c", &c).ok());
  EXPECT_TRUE(a);
  EXPECT_FALSE(b);
  EXPECT_TRUE(c);
  Status maybe = reader_.Bool(map, "d", &d);
  ASSERT_FALSE(maybe.ok());
  EXPECT_EQ(maybe.error().message, "test.yml: line 1: s.d: expected true or false, got 'maybe'");
}

TEST_F(YamlReaderTest, ASingleValueIsNoListOrMapping) {
  YamlMapping map = Section("s:\n  a:\n    - 1\n  b: {x: 1}\n", "s");
  std::string text;
  Status list = reader_.String(map, "a", &text);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().message,
            "test.yml: line 3: s.a: expected a single value, not a list or mapping");
  EXPECT_FALSE(reader_.String(map, "b", &text).ok());
}

TEST_F(YamlReaderTest, ListItemsAreNonEmptySingleLineValues) {
  YamlMapping map = Section("s:\n  empty: ['']\n  lines: [\"a\\nb\"]\n  nested: [[1]]\n", "s");
  std::vector<std::string> list;
  for (const char* key : {"empty", "lines"}) {
    Status read = reader_.StringList(map, key, &list);
    ASSERT_FALSE(read.ok()) << key;
    EXPECT_THAT(read.error().message, HasSubstr("list items must be non-empty single-line"));
  }
  Status nested = reader_.StringList(map, "nested", &list);
  ASSERT_FALSE(nested.ok());
  EXPECT_THAT(nested.error().message, HasSubstr("s.nested: list items must be single values"));
}

TEST_F(YamlReaderTest, AYamlSyntaxErrorNamesItsLine) {
  try {
    YAML::Load("a: 1\nb: [1,\n");
    FAIL() << "yaml-cpp accepted an unclosed list";
  } catch (const YAML::Exception& e) {
    EXPECT_THAT(reader_.FailYaml(e).message, StartsWith("test.yml: line 3: invalid YAML: "));
  }
}

// ---- Warnings --------------------------------------------------------------------------------

TEST_F(YamlReaderTest, UnreadKeysAreWarnedAboutInFileOrder) {
  YamlReaderOptions options;
  options.ignored_anywhere = {{"legacy", "kept for old files", "Old-tool"}};
  std::vector<std::string> seen;
  options.on_ignored = [&](YamlReader&, const YamlEntry&, const std::string& path) {
    seen.push_back(path);
  };
  YamlReader reader("test.yml", lookup_, std::move(options));
  YamlMapping root = Root(R"(
s:
  used: 1
  typo: 2
  later: 3
  legacy: 4
  empty:
)",
                          &reader);
  Result<YamlMapping> s = reader.Sub(root, "s");
  ASSERT_TRUE(s.ok());
  std::string used;
  ASSERT_TRUE(reader.String(*s, "used", &used).ok());

  reader.WarnUnplaced("about no key");
  reader.FinishSection(*s, {{"later", "not implemented yet"}, {"empty", "not used"}});

  EXPECT_THAT(reader.TakeWarnings(),
              ElementsAre("unknown key s.typo (ignored; check its spelling and indentation)",
                          "ignored key s.later (not implemented yet)",
                          "ignored Old-tool key s.legacy (kept for old files)", "about no key"));
  EXPECT_THAT(seen, ElementsAre("s.later", "s.legacy", "s.empty"));  // empty: no warning
  EXPECT_THAT(reader.TakeWarnings(), IsEmpty());
}

TEST_F(YamlReaderTest, AKeyReachedThroughAnAnchorIsWarnedAboutOnceWhereItIsWritten) {
  YamlMapping root = Root(R"(
base: &base {extra: 1}
user:
  <<: *base
)");
  Result<YamlMapping> user = reader_.Sub(root, "user");
  Result<YamlMapping> base = reader_.Sub(root, "base");
  ASSERT_TRUE(user.ok() && base.ok());
  reader_.FinishSection(*user);  // extra arrives merged first
  reader_.FinishSection(*base);
  EXPECT_THAT(reader_.TakeWarnings(),
              ElementsAre("unknown key base.extra (ignored; check its spelling and indentation)"));
}

TEST_F(YamlReaderTest, AnIgnoredSectionWarnsPerKey) {
  std::vector<std::string> seen;
  YamlReaderOptions options;
  options.on_ignored = [&](YamlReader&, const YamlEntry&, const std::string& path) {
    seen.push_back(path);
  };
  YamlReader reader("test.yml", lookup_, std::move(options));
  YamlMapping root = Root("old: {x: 1, y: 2, unset: }\nscalar: 5\n", &reader);
  for (const YamlEntry* entry : root.Unused()) reader.IgnoreSection(*entry, "gone");
  EXPECT_THAT(reader.TakeWarnings(),
              ElementsAre("ignored key old.x (gone)", "ignored key old.y (gone)",
                          "ignored key scalar (gone)"));
  EXPECT_THAT(seen, ElementsAre("old.x", "old.y", "old.unset"));
}

}  // namespace
}  // namespace dblab
