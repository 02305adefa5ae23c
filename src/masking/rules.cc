#include "masking/rules.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <span>

#include "masking/fake_data.h"

namespace dblab {
namespace {

struct FunctionName {
  MaskFunction function;
  std::string_view name;
};

constexpr FunctionName kFunctionNames[] = {
    {MaskFunction::kNull, "null"},
    {MaskFunction::kConstant, "constant"},
    {MaskFunction::kFakeFirstName, "fake_first_name"},
    {MaskFunction::kFakeLastName, "fake_last_name"},
    {MaskFunction::kFakeName, "fake_name"},
    {MaskFunction::kFakeEmail, "fake_email"},
    {MaskFunction::kFakePhone, "fake_phone"},
    {MaskFunction::kFakeAddress, "fake_address"},
    {MaskFunction::kFakeCity, "fake_city"},
    {MaskFunction::kFakeCompany, "fake_company"},
    {MaskFunction::kPartial, "partial"},
    {MaskFunction::kPartialEmail, "partial_email"},
    {MaskFunction::kHash, "hash"},
    {MaskFunction::kNoise, "noise"},
    {MaskFunction::kRandomInt, "random_int_between"},
    {MaskFunction::kRandomDate, "random_date_between"},
    {MaskFunction::kRandomString, "random_string"},
    {MaskFunction::kRandomZip, "random_zip"},
    {MaskFunction::kRandomPhone, "random_phone"},
    {MaskFunction::kShuffle, "shuffle"},
};

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool IsInteger(const std::string& text) {
  static const std::regex kInteger("^[-+]?[0-9]{1,18}$");
  return std::regex_match(text, kInteger);
}

bool IsDecimal(const std::string& text) {
  static const std::regex kDecimal("^[-+]?([0-9]{1,18}(\\.[0-9]{0,18})?|\\.[0-9]{1,18})$");
  return std::regex_match(text, kDecimal);
}

bool IsDate(const std::string& text) {
  static const std::regex kDate("^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$");
  return std::regex_match(text, kDate);
}

// An interval as postgres reads it ('2 days', '1 hour 30 minutes', '00:10:00'): letters,
// digits, spaces, '.', ':', '+', '-' only, and at least one digit.
bool IsIntervalText(const std::string& text) {
  static const std::regex kInterval("^[0-9A-Za-z .:+-]{1,100}$");
  return std::regex_match(text, kInterval) &&
         std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// A catalog name: 1 to 63 bytes, no NUL, no newline.
bool IsCatalogName(const std::string& name) {
  return !name.empty() && name.size() <= 63 &&
         name.find_first_of(std::string("\0\n\r", 3)) == std::string::npos;
}

// ---- SQL building blocks ----------------------------------------------------------------------

constexpr std::string_view kRow = "dblab_row";  // alias of the table being updated
constexpr std::string_view kDigest = "dblab_h.dblab_d";

// 32 bits of the digest from byte `offset` as a bigint.
std::string Bits32(int offset) {
  std::string d(kDigest);
  auto byte = [&](int i) { return "get_byte(" + d + ", " + std::to_string(offset + i) + ")"; };
  return "(" + byte(0) + "::bigint * 16777216 + " + byte(1) + " * 65536 + " + byte(2) +
         " * 256 + " + byte(3) + ")";
}

std::string WordArray(std::span<const std::string_view> words) {
  std::string out = "(ARRAY[";
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += ",";
    out += QuoteSqlLiteral(std::string(words[i]));
  }
  return out + "]::text[])";
}

// The word chosen by 32 bits of the digest at `offset`.
std::string PickWord(std::span<const std::string_view> words, int offset) {
  return WordArray(words) + "[1 + " + Bits32(offset) + " % " + std::to_string(words.size()) + "]";
}

// HMAC-SHA256(key, tag ":" text) with the pads bound to $1 and $2.
std::string KeyedDigest(const std::string& tag, const std::string& text_expression) {
  return "sha256($2::bytea || sha256($1::bytea || convert_to(" + QuoteSqlLiteral(tag + ":") +
         " || " + text_expression + ", 'UTF8')))";
}

// A uniform number in [-1, 1] from the digest.
std::string SignedUnit() { return "(" + Bits32(0) + "::float8 / 4294967295.0 * 2 - 1)"; }

// The expression computed from the digest (kDigest), for functions that derive from the original.
std::string DigestBody(const MaskingRule& rule, const std::string& input) {
  using fake_data::Cities;
  using fake_data::FirstNames;
  using fake_data::LastNames;
  const auto& args = rule.args;
  switch (rule.function) {
    case MaskFunction::kFakeFirstName:
      return PickWord(FirstNames(), 0);
    case MaskFunction::kFakeLastName:
      return PickWord(LastNames(), 0);
    case MaskFunction::kFakeName:
      return PickWord(FirstNames(), 0) + " || ' ' || " + PickWord(LastNames(), 4);
    case MaskFunction::kFakeEmail:
      return "lower(" + PickWord(FirstNames(), 0) + ") || '.' || lower(" +
             PickWord(LastNames(), 4) + ") || '.' || substr(encode(" + std::string(kDigest) +
             ", 'hex'), 17, 10) || '@' || " + PickWord(fake_data::EmailDomains(), 16);
    case MaskFunction::kFakePhone:
      return "'+1-555-' || lpad((" + Bits32(0) + " % 1000)::text, 3, '0') || '-' || lpad((" +
             Bits32(4) + " % 10000)::text, 4, '0')";
    case MaskFunction::kFakeAddress:
      return "(1 + " + Bits32(0) + " % 9999)::text || ' ' || " +
             PickWord(fake_data::StreetNames(), 4) + " || ' ' || " +
             PickWord(fake_data::StreetSuffixes(), 8) + " || ', ' || " + PickWord(Cities(), 12);
    case MaskFunction::kFakeCity:
      return PickWord(Cities(), 0);
    case MaskFunction::kFakeCompany:
      return PickWord(fake_data::CompanyWords(), 0) + " || ' ' || " +
             PickWord(fake_data::CompanyWords(), 4) + " || ' ' || " +
             PickWord(fake_data::CompanySuffixes(), 8);
    case MaskFunction::kHash:
      return "encode(" + std::string(kDigest) + ", 'hex')";
    case MaskFunction::kNoise:
      if (IsDecimal(args[0])) {
        return "(" + input + "::float8 * (1 + " + args[0] + " * " + SignedUnit() + "))";
      }
      return "(" + input + " + CAST(" + QuoteSqlLiteral(args[0]) + " AS interval) * " +
             SignedUnit() + ")";
    case MaskFunction::kRandomInt:
      return "(" + args[0] + "::numeric + mod(" + Bits32(0) + "::numeric * 4294967296 + " +
             Bits32(4) + ", " + args[1] + "::numeric - " + args[0] + "::numeric + 1))";
    case MaskFunction::kRandomDate: {
      std::string from = "DATE " + QuoteSqlLiteral(args.empty() ? "1950-01-01" : args[0]);
      std::string to = "DATE " + QuoteSqlLiteral(args.empty() ? "2009-12-31" : args[1]);
      return "(" + from + " + (" + Bits32(0) + " % (" + to + " - " + from + " + 1))::int)";
    }
    case MaskFunction::kRandomString:
      return "(SELECT string_agg(chr(65 + get_byte(" + std::string(kDigest) +
             ", dblab_i) % 26), '' ORDER BY dblab_i) FROM generate_series(0, " + args[0] +
             " - 1) dblab_i)";
    case MaskFunction::kRandomZip:
      return "lpad((" + Bits32(0) + " % 100000)::text, 5, '0')";
    case MaskFunction::kRandomPhone:
      return QuoteSqlLiteral(args.empty() ? "0" : args[0]) + " || lpad((" + Bits32(0) +
             " % 100000000)::text, 8, '0')";
    default:
      return "NULL";  // not a digest function (MaskExpression handles it)
  }
}

// ---- Anonymizer label parsing -------------------------------------------------------------------

// One argument of a label's function call.
struct LabelArg {
  enum Kind { kColumn, kString, kNumber, kNull } kind = kNull;
  std::string text;                // column name (last part), string value or number
  std::vector<std::string> parts;  // a column reference's dotted parts
};

class LabelLexer {
 public:
  explicit LabelLexer(std::string text) : text_(std::move(text)) {}

  void SkipSpaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool AtEnd() {
    SkipSpaces();
    return pos_ >= text_.size();
  }
  bool Accept(std::string_view token) {
    SkipSpaces();
    if (text_.compare(pos_, token.size(), token) != 0) return false;
    pos_ += token.size();
    return true;
  }
  // The text between `quote` at pos_ and its closing twin (a doubled quote stands for one).
  std::optional<std::string> Quoted(char quote) {
    std::string out;
    for (size_t i = pos_ + 1; i < text_.size(); ++i) {
      if (text_[i] != quote) {
        out += text_[i];
      } else if (i + 1 < text_.size() && text_[i + 1] == quote) {
        out += quote;
        ++i;
      } else {
        pos_ = i + 1;
        return out;
      }
    }
    return std::nullopt;
  }
  // An identifier: unquoted (folded to lower case) or "quoted" ("" inside).
  std::optional<std::string> Identifier() {
    SkipSpaces();
    if (pos_ < text_.size() && text_[pos_] == '"') return Quoted('"');
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                   text_[pos_] == '_' || text_[pos_] == '$')) {
      ++pos_;
    }
    if (pos_ == start || std::isdigit(static_cast<unsigned char>(text_[start]))) {
      pos_ = start;
      return std::nullopt;
    }
    return Lower(text_.substr(start, pos_ - start));
  }
  // 'text' ('' inside), $$text$$ or $tag$text$tag$.
  std::optional<std::string> StringLiteral() {
    SkipSpaces();
    if (pos_ < text_.size() && text_[pos_] == '\'') return Quoted('\'');
    static const std::regex kTag("^\\$([A-Za-z_][A-Za-z0-9_]*)?\\$");
    std::smatch match;
    std::string rest = text_.substr(pos_);
    if (!std::regex_search(rest, match, kTag)) return std::nullopt;
    std::string tag = match[0];
    size_t end = text_.find(tag, pos_ + tag.size());
    if (end == std::string::npos) return std::nullopt;
    std::string out = text_.substr(pos_ + tag.size(), end - pos_ - tag.size());
    pos_ = end + tag.size();
    return out;
  }
  std::optional<std::string> Number() {
    SkipSpaces();
    static const std::regex kNumber("^[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)");
    std::smatch match;
    std::string rest = text_.substr(pos_);
    if (!std::regex_search(rest, match, kNumber)) return std::nullopt;
    pos_ += match[0].length();
    return match[0].str();
  }
  // `::type` casts after a value, e.g. ::date, ::varchar(10), ::double precision: skipped, since
  // the value is assigned to the column's type anyway.
  bool SkipCasts() {
    while (Accept("::")) {
      if (!Identifier()) return false;
      while (Identifier()) {
      }
      if (Accept("(")) {
        while (Number() && Accept(",")) {
        }
        if (!Accept(")")) return false;
      }
    }
    return true;
  }

  // A literal, with an optional type keyword before a string (interval '2 days') and casts after.
  std::optional<LabelArg> Literal() {
    size_t start = pos_;
    if (auto number = Number()) {
      if (!SkipCasts()) return std::nullopt;
      return LabelArg{LabelArg::kNumber, *number, {}};
    }
    if (auto text = StringLiteral()) {
      if (!SkipCasts()) return std::nullopt;
      return LabelArg{LabelArg::kString, *text, {}};
    }
    if (auto word = Identifier()) {
      if (*word == "null") {
        if (!SkipCasts()) return std::nullopt;
        return LabelArg{LabelArg::kNull, "", {}};
      }
      static const char* kTypeWords[] = {"interval", "date",    "timestamp", "timestamptz",
                                         "text",     "varchar", "numeric",   "time"};
      if (std::find(std::begin(kTypeWords), std::end(kTypeWords), *word) != std::end(kTypeWords)) {
        if (auto text = StringLiteral()) {
          if (!SkipCasts()) return std::nullopt;
          return LabelArg{LabelArg::kString, *text, {}};
        }
      }
    }
    pos_ = start;
    return std::nullopt;
  }

  std::optional<LabelArg> Argument() {
    if (auto literal = Literal()) return literal;
    size_t start = pos_;
    std::vector<std::string> parts;
    if (auto first = Identifier()) {
      parts.push_back(*first);
      while (Accept(".")) {
        auto next = Identifier();
        if (!next) return std::nullopt;
        parts.push_back(*next);
      }
      if (parts.size() <= 3 && SkipCasts()) {
        return LabelArg{LabelArg::kColumn, parts.back(), parts};
      }
    }
    pos_ = start;
    return std::nullopt;
  }

 private:
  std::string text_;
  size_t pos_ = 0;
};

// Anonymizer's function names (anon 1.x and 2.x) to dblab's.
struct AnonFunction {
  std::string_view name;
  MaskFunction function;
  enum Shape {
    kNoInput,       // f(): derived from the masked column's original
    kSeed,          // f(seed [, salt]): derived from the seed column (pseudo_*)
    kInput,         // f(column): the column is the input
    kInputAndArgs,  // f(column, args...)
    kArgs,          // f(args...)
  } shape;
};

constexpr AnonFunction kAnonFunctions[] = {
    {"fake_first_name", MaskFunction::kFakeFirstName, AnonFunction::kNoInput},
    {"dummy_first_name", MaskFunction::kFakeFirstName, AnonFunction::kNoInput},
    {"pseudo_first_name", MaskFunction::kFakeFirstName, AnonFunction::kSeed},
    {"fake_last_name", MaskFunction::kFakeLastName, AnonFunction::kNoInput},
    {"dummy_last_name", MaskFunction::kFakeLastName, AnonFunction::kNoInput},
    {"pseudo_last_name", MaskFunction::kFakeLastName, AnonFunction::kSeed},
    {"dummy_name", MaskFunction::kFakeName, AnonFunction::kNoInput},
    {"fake_email", MaskFunction::kFakeEmail, AnonFunction::kNoInput},
    {"dummy_free_email", MaskFunction::kFakeEmail, AnonFunction::kNoInput},
    {"dummy_safe_email", MaskFunction::kFakeEmail, AnonFunction::kNoInput},
    {"pseudo_email", MaskFunction::kFakeEmail, AnonFunction::kSeed},
    {"fake_phone", MaskFunction::kFakePhone, AnonFunction::kNoInput},
    {"dummy_phone_number", MaskFunction::kFakePhone, AnonFunction::kNoInput},
    {"fake_address", MaskFunction::kFakeAddress, AnonFunction::kNoInput},
    {"fake_city", MaskFunction::kFakeCity, AnonFunction::kNoInput},
    {"dummy_city_name", MaskFunction::kFakeCity, AnonFunction::kNoInput},
    {"pseudo_city", MaskFunction::kFakeCity, AnonFunction::kSeed},
    {"fake_company", MaskFunction::kFakeCompany, AnonFunction::kNoInput},
    {"dummy_company_name", MaskFunction::kFakeCompany, AnonFunction::kNoInput},
    {"pseudo_company", MaskFunction::kFakeCompany, AnonFunction::kSeed},
    {"partial", MaskFunction::kPartial, AnonFunction::kInputAndArgs},
    {"partial_email", MaskFunction::kPartialEmail, AnonFunction::kInput},
    {"hash", MaskFunction::kHash, AnonFunction::kInput},
    {"digest", MaskFunction::kHash, AnonFunction::kSeed},
    {"noise", MaskFunction::kNoise, AnonFunction::kInputAndArgs},
    {"dnoise", MaskFunction::kNoise, AnonFunction::kInputAndArgs},
    {"random_int_between", MaskFunction::kRandomInt, AnonFunction::kArgs},
    {"random_bigint_between", MaskFunction::kRandomInt, AnonFunction::kArgs},
    {"random_date_between", MaskFunction::kRandomDate, AnonFunction::kArgs},
    {"random_date", MaskFunction::kRandomDate, AnonFunction::kArgs},
    {"random_string", MaskFunction::kRandomString, AnonFunction::kArgs},
    {"random_zip", MaskFunction::kRandomZip, AnonFunction::kArgs},
    {"random_phone", MaskFunction::kRandomPhone, AnonFunction::kArgs},
};

std::string AnonFunctionNames() {
  std::string out;
  for (const AnonFunction& f : kAnonFunctions)
    out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

}  // namespace

std::optional<MaskFunction> MaskFunctionFromName(const std::string& name) {
  for (const FunctionName& f : kFunctionNames) {
    if (f.name == name) return f.function;
  }
  return std::nullopt;
}

std::string MaskFunctionName(MaskFunction function) {
  for (const FunctionName& f : kFunctionNames) {
    if (f.function == function) return std::string(f.name);
  }
  return "?";
}

std::string MaskFunctionNames() {
  std::string out;
  for (const FunctionName& f : kFunctionNames)
    out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

Status CheckMaskArguments(MaskFunction function, const std::vector<std::string>& args,
                          const std::string& origin) {
  std::string name = MaskFunctionName(function);
  auto fail = [&](const std::string& what) {
    return BadRequest(origin + ": " + name + " " + what);
  };
  auto count = [&](size_t low, size_t high, const std::string& usage) -> Status {
    if (args.size() < low || args.size() > high) return fail("takes " + usage);
    return OkStatus();
  };
  for (const std::string& arg : args) {
    if (arg.find('\0') != std::string::npos) return fail("arguments must not contain NUL");
  }
  switch (function) {
    case MaskFunction::kConstant:
      return count(1, 1, "one argument: the value (args: [\"CONFIDENTIAL\"])");
    case MaskFunction::kPartial: {
      DBLAB_TRY(count(3, 3,
                      "three arguments: prefix length, padding, suffix length (args: [2, "
                      "\"XXXX\", 2])"));
      for (size_t i : {0, 2}) {
        if (!IsInteger(args[i]) || std::stoll(args[i]) < 0 || std::stoll(args[i]) > 1000) {
          return fail("lengths must be whole numbers from 0 to 1000, got '" + args[i] + "'");
        }
      }
      return OkStatus();
    }
    case MaskFunction::kNoise:
      DBLAB_TRY(count(1, 1,
                      "one argument: a ratio for numbers (0.2 = +/-20%) or an interval for "
                      "dates (\"2 days\")"));
      if (IsDecimal(args[0])) {
        if (std::stod(args[0]) < 0 || std::stod(args[0]) > 100) {
          return fail("ratio must be from 0 to 100, got '" + args[0] + "'");
        }
        return OkStatus();
      }
      if (!IsIntervalText(args[0])) {
        return fail("needs a ratio (0.2) or an interval (\"2 days\"), got '" + args[0] + "'");
      }
      return OkStatus();
    case MaskFunction::kRandomInt: {
      DBLAB_TRY(count(2, 2, "two arguments: minimum and maximum (args: [1, 100])"));
      if (!IsInteger(args[0]) || !IsInteger(args[1])) {
        return fail("bounds must be whole numbers of at most 18 digits");
      }
      if (std::stoll(args[0]) > std::stoll(args[1])) return fail("minimum must be <= maximum");
      return OkStatus();
    }
    case MaskFunction::kRandomDate:
      if (args.empty()) return OkStatus();
      DBLAB_TRY(count(2, 2, "no argument or two dates (args: [\"1960-01-01\", \"2000-12-31\"])"));
      if (!IsDate(args[0]) || !IsDate(args[1])) return fail("dates must read YYYY-MM-DD");
      if (args[0] > args[1]) return fail("the first date must not be after the second");
      return OkStatus();
    case MaskFunction::kRandomString:
      DBLAB_TRY(count(1, 1, "one argument: the length, 1 to 32"));
      if (!IsInteger(args[0]) || std::stoll(args[0]) < 1 || std::stoll(args[0]) > 32) {
        return fail("length must be a whole number from 1 to 32, got '" + args[0] + "'");
      }
      return OkStatus();
    case MaskFunction::kRandomPhone:
      DBLAB_TRY(count(0, 1, "no argument or one: the prefix (args: [\"+33 6\"])"));
      if (!args.empty() && args[0].size() > 20) return fail("prefix must be at most 20 bytes");
      return OkStatus();
    default:
      return count(0, 0, "takes no arguments");
  }
}

Status ParseColumnPath(const std::string& path, const std::string& origin, MaskingRule* rule) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  bool valid = (parts.size() == 2 || parts.size() == 3) &&
               std::all_of(parts.begin(), parts.end(), IsCatalogName);
  if (!valid) {
    return BadRequest(origin + ": column '" + path +
                      "' must read [schema.]table.column (names as in the catalog, e.g. "
                      "public.users.email)");
  }
  if (parts.size() == 3) rule->schema = parts[0];
  rule->table = parts[parts.size() - 2];
  rule->column = parts.back();
  return OkStatus();
}

Result<std::optional<MaskingRule>> ParseAnonymizerLabel(const std::string& schema,
                                                        const std::string& table,
                                                        const std::string& column,
                                                        const std::string& label) {
  MaskingRule rule;
  rule.schema = schema;
  rule.table = table;
  rule.column = column;
  rule.origin = "security label for anon on column " + schema + "." + table + "." + column + " ('" +
                label + "')";
  auto fail = [&](const std::string& what) -> Error {
    return BadRequest(rule.origin + ": " + what +
                      "; dblab applies the labels itself and refuses to leave the column "
                      "unmasked (see docs/masking.md, or set masking.anonymizerLabels: false)");
  };
  static const std::regex kNotMasked("^\\s*NOT\\s+MASKED\\s*$", std::regex::icase);
  static const std::regex kMasked("^\\s*MASKED\\s+WITH\\s+(VALUE|FUNCTION)\\s+([\\s\\S]*)$",
                                  std::regex::icase);
  if (std::regex_match(label, kNotMasked)) return std::optional<MaskingRule>();
  std::smatch match;
  if (!std::regex_match(label, match, kMasked)) {
    return fail("expected MASKED WITH FUNCTION ..., MASKED WITH VALUE ... or NOT MASKED");
  }
  LabelLexer lexer(match[2]);
  if (Lower(match[1]) == "value") {
    auto value = lexer.Literal();
    if (!value || !lexer.AtEnd()) {
      return fail("MASKED WITH VALUE takes one literal: NULL, a number or a quoted string");
    }
    if (value->kind == LabelArg::kNull) {
      rule.function = MaskFunction::kNull;
    } else {
      rule.function = MaskFunction::kConstant;
      rule.args = {value->text};
    }
    DBLAB_TRY(CheckMaskArguments(rule.function, rule.args, rule.origin));
    return std::optional<MaskingRule>(rule);
  }
  auto first = lexer.Identifier();
  std::string schema_name, name;
  if (first && lexer.Accept(".")) {
    schema_name = *first;
    if (auto second = lexer.Identifier()) name = *second;
  } else if (first) {
    name = *first;
  }
  if (name.empty() || !lexer.Accept("("))
    return fail("expected a function call such as anon.fake_email()");
  std::vector<LabelArg> args;
  if (!lexer.Accept(")")) {
    while (true) {
      auto arg = lexer.Argument();
      if (!arg) return fail("cannot read argument " + std::to_string(args.size() + 1));
      args.push_back(*arg);
      if (lexer.Accept(")")) break;
      if (!lexer.Accept(","))
        return fail("expected ',' or ')' after argument " + std::to_string(args.size()));
    }
  }
  if (!lexer.AtEnd()) return fail("unexpected text after the function call");
  const AnonFunction* known = nullptr;
  for (const AnonFunction& f : kAnonFunctions) {
    if (f.name == name) known = &f;
  }
  if (schema_name != "anon" || known == nullptr) {
    return fail("function " + (schema_name.empty() ? "" : schema_name + ".") + name +
                " is not one dblab implements (anon." + AnonFunctionNames() + ")");
  }
  rule.function = known->function;
  // The column an anon function reads must be a column of the labelled table.
  auto column_of = [&](const LabelArg& arg) -> Result<std::string> {
    if (arg.kind != LabelArg::kColumn) {
      return fail("argument 1 of anon." + name + " must be a column of " + table);
    }
    if (arg.parts.size() >= 2 && arg.parts[arg.parts.size() - 2] != table) {
      return fail("argument 1 of anon." + name + " must be a column of " + table);
    }
    return arg.text;
  };
  auto literal_args = [&](size_t from) -> Status {
    for (size_t i = from; i < args.size(); ++i) {
      if (args[i].kind == LabelArg::kColumn || args[i].kind == LabelArg::kNull) {
        return fail("argument " + std::to_string(i + 1) + " of anon." + name +
                    " must be a constant");
      }
      rule.args.push_back(args[i].text);
    }
    return OkStatus();
  };
  switch (known->shape) {
    case AnonFunction::kNoInput:
      if (!args.empty()) return fail("anon." + name + " takes no arguments");
      break;
    case AnonFunction::kSeed: {
      // pseudo_*(seed [, salt]) and digest(seed, salt, algorithm): the salt and algorithm give
      // way to dblab's secret key.
      if (args.empty()) return fail("anon." + name + " needs a seed column");
      DBLAB_ASSIGN_OR_RETURN(std::string seed, column_of(args[0]));
      if (seed != column) rule.seed_column = seed;
      break;
    }
    case AnonFunction::kInput:
    case AnonFunction::kInputAndArgs: {
      if (args.empty()) return fail("anon." + name + " needs the column as argument 1");
      DBLAB_ASSIGN_OR_RETURN(std::string input, column_of(args[0]));
      if (input != column) rule.seed_column = input;
      if (known->shape == AnonFunction::kInput && args.size() > 1) {
        return fail("anon." + name + " takes one argument, the column");
      }
      DBLAB_TRY(literal_args(1));
      break;
    }
    case AnonFunction::kArgs:
      DBLAB_TRY(literal_args(0));
      break;
  }
  Status checked = CheckMaskArguments(rule.function, rule.args, rule.origin);
  if (!checked.ok()) return checked.error();
  return std::optional<MaskingRule>(rule);
}

Status CheckRuleFitsColumn(const MaskingRule& rule, const ColumnInfo& column) {
  auto fail = [&](const std::string& what) {
    return BadRequest(rule.origin + ": " + MaskFunctionName(rule.function) + " " + what);
  };
  ColumnKind needed = ColumnKind::kString;
  switch (rule.function) {
    case MaskFunction::kNull:
      if (column.not_null) {
        return fail("cannot set column " + rule.column +
                    " to NULL: it is NOT NULL (use constant or another function)");
      }
      return OkStatus();
    case MaskFunction::kConstant:
    case MaskFunction::kShuffle:
      return OkStatus();
    case MaskFunction::kNoise:
      needed = IsDecimal(rule.args[0]) ? ColumnKind::kNumeric : ColumnKind::kDateTime;
      break;
    case MaskFunction::kRandomInt:
      needed = ColumnKind::kNumeric;
      break;
    case MaskFunction::kRandomDate:
      needed = ColumnKind::kDateTime;
      break;
    default:
      break;
  }
  if (column.kind != needed) {
    static const char* kNames[] = {"text", "numeric", "date/time", "other"};
    return fail("needs a " + std::string(kNames[static_cast<int>(needed)]) + " column; " +
                rule.column + " is " + kNames[static_cast<int>(column.kind)]);
  }
  return OkStatus();
}

std::string QuoteSqlIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteSqlLiteral(const std::string& value) {
  bool backslash = value.find('\\') != std::string::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : value) {
    if (c == '\'' || (backslash && c == '\\')) out += c;
    out += c;
  }
  return out + "'";
}

std::string MaskExpression(const MaskingRule& rule, const ColumnInfo& column) {
  std::string self = std::string(kRow) + "." + QuoteSqlIdentifier(column.name);
  std::string input = rule.seed_column.empty()
                          ? self
                          : std::string(kRow) + "." + QuoteSqlIdentifier(rule.seed_column);
  switch (rule.function) {
    case MaskFunction::kNull:
      return "NULL";
    case MaskFunction::kConstant:
      return QuoteSqlLiteral(rule.args[0]);
    case MaskFunction::kPartial: {
      std::string v = "(" + input + ")::text";
      const std::string& prefix = rule.args[0];
      const std::string& suffix = rule.args[2];
      std::string padding = QuoteSqlLiteral(rule.args[1]);
      // A value no longer than prefix + suffix would be shown whole: only the padding then.
      return "CASE WHEN length(" + v + ") > " + prefix + " + " + suffix + " THEN substr(" + v +
             ", 1, " + prefix + ") || " + padding + " || substr(" + v + ", length(" + v + ") - " +
             suffix + " + 1) ELSE " + padding + " END";
    }
    case MaskFunction::kPartialEmail: {
      std::string v = "(" + input + ")::text";
      std::string pattern = QuoteSqlLiteral("^(.{2}).*@(.{2}).*\\.([^.]*)$");
      return "CASE WHEN " + v + " ~ " + pattern + " THEN regexp_replace(" + v + ", " + pattern +
             ", " + QuoteSqlLiteral("\\1******@\\2******.\\3") + ") ELSE '******' END";
    }
    case MaskFunction::kShuffle:
      return self;  // BuildShuffle does the work
    default:
      break;
  }
  // Derived from the original through the keyed digest, computed once per row: OFFSET 0 keeps
  // the planner from pulling the inner SELECT up, which would put a copy of the digest (two
  // SHA-256 runs) in place of each of the body's references to it, 13 for fake_email.
  std::string text = "(" + input + ")::text";
  if (!rule.seed_column.empty()) text = "coalesce(" + text + ", (" + self + ")::text)";
  std::string expression = "(SELECT " + DigestBody(rule, self) + " FROM (SELECT " +
                           KeyedDigest(MaskFunctionName(rule.function), text) +
                           " AS dblab_d OFFSET 0) dblab_h)";
  if (rule.seed_column.empty()) return expression;  // NULL stays NULL through the digest
  return "CASE WHEN " + self + " IS NULL THEN NULL ELSE " + expression + " END";
}

std::string BuildMaskingUpdate(const std::string& schema, const std::string& table,
                               const std::vector<std::pair<MaskingRule, ColumnInfo>>& rules) {
  std::string sets;
  for (const auto& [rule, column] : rules) {
    if (rule.function == MaskFunction::kShuffle) continue;
    sets += (sets.empty() ? "" : ", ") + QuoteSqlIdentifier(column.name) + " = " +
            MaskExpression(rule, column);
  }
  if (sets.empty()) return "";
  return "UPDATE " + QuoteSqlIdentifier(schema) + "." + QuoteSqlIdentifier(table) + " AS " +
         std::string(kRow) + " SET " + sets;
}

std::string BuildShuffle(const std::string& schema, const std::string& table,
                         const std::string& column) {
  std::string relation = QuoteSqlIdentifier(schema) + "." + QuoteSqlIdentifier(table);
  std::string c = QuoteSqlIdentifier(column);
  return "UPDATE " + relation + " AS " + std::string(kRow) + " SET " + c +
         " = dblab_p.v FROM (SELECT dblab_a.id, dblab_b.v FROM (SELECT ctid AS id, row_number() "
         "OVER (ORDER BY ctid) AS n FROM " +
         relation + ") dblab_a JOIN (SELECT " + c + " AS v, row_number() OVER (ORDER BY " +
         KeyedDigest("shuffle", "coalesce((" + c + ")::text, '')") + ", (" + c +
         ")::text) AS n FROM " + relation + ") dblab_b USING (n)) dblab_p WHERE " +
         std::string(kRow) + ".ctid = dblab_p.id";
}

KeyPads PadsOfKey(const std::string& key) {
  KeyPads pads{std::string(64, '\x36'), std::string(64, '\x5c')};
  for (size_t i = 0; i < key.size() && i < 64; ++i) {
    pads.inner[i] = static_cast<char>(pads.inner[i] ^ key[i]);
    pads.outer[i] = static_cast<char>(pads.outer[i] ^ key[i]);
  }
  return pads;
}

}  // namespace dblab
