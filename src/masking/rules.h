// Declarative masking rules: what replaces a column's values, from two places that mean the same
// thing: the `masking.rules` list of server.yml, and PostgreSQL Anonymizer's security labels on
// the source (`SECURITY LABEL FOR anon ON COLUMN t.c IS 'MASKED WITH FUNCTION anon.fake_email()'`).
// Both are parsed here into MaskingRule, and turned into plain SQL built from core PostgreSQL
// functions only (no extension on main data or clones).
//
// Determinism: every function that derives a value from the original does it through
// HMAC-SHA256(key, tag ":" original::text), computed in SQL with core sha256() and the key's
// inner and outer pads passed as bind parameters $1 and $2 (the key never appears in SQL text,
// logs or pg_stat_activity). The same original therefore gets the same masked value in every
// table, every database and every refresh, as long as the key file is kept.
//
// Pure functions, no I/O: safe from any thread. Parse errors are kBadRequest whose message names
// the rule (its origin) and says what is accepted.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace dblab {

enum class MaskFunction {
  kNull,           // NULL
  kConstant,       // args: [value]; the value as a literal of the column's type
  kFakeFirstName,  // a first name from dblab's word list
  kFakeLastName,
  kFakeName,     // "First Last"
  kFakeEmail,    // first.last.<10 hex>@example.(com|net|org): unique in practice
  kFakePhone,    // +1-555-NNN-NNNN
  kFakeAddress,  // "NNN Street Suffix, City"
  kFakeCity,
  kFakeCompany,
  kPartial,       // args: [prefix, padding, suffix] (anon.partial); short values: padding only
  kPartialEmail,  // ab******@cd******.com (anon.partial_email)
  kHash,          // hex HMAC-SHA256 of the original
  kNoise,         // args: [ratio] for numbers (+/- ratio), [interval] for dates and timestamps
  kRandomInt,     // args: [min, max] (anon.random_int_between), chosen by the original
  kRandomDate,    // args: [from, to] as YYYY-MM-DD (anon.random_date_between); none = 1950-2009
  kRandomString,  // args: [length 1..64] letters
  kRandomZip,     // 5 digits
  kRandomPhone,   // args: [prefix] (default "0") + 8 digits
  kShuffle,       // permutes the column's values among its rows (anon.shuffle_column)
};

// What a function is applied to: PostgreSQL type categories (pg_type.typcategory).
enum class ColumnKind { kString, kNumeric, kDateTime, kOther };

struct MaskingRule {
  std::string database;  // empty: every masked database that has the table
  std::string schema = "public";
  std::string table;
  std::string column;
  MaskFunction function = MaskFunction::kNull;
  // Arguments after validation, as text: numbers as written, strings unescaped.
  std::vector<std::string> args;
  // The column whose original value seeds the function (anon.pseudo_email(users.login));
  // empty = the masked column itself.
  std::string seed_column;
  // Where the rule comes from, for messages: "masking.rules[2] (public.users.email)" or
  // "security label on column public.users.email: 'MASKED WITH ...'".
  std::string origin;
};

// "fake_email" -> kFakeEmail; nullopt for names dblab does not implement.
std::optional<MaskFunction> MaskFunctionFromName(const std::string& name);
std::string MaskFunctionName(MaskFunction function);
// The names accepted in server.yml, comma-separated (for error messages and docs).
std::string MaskFunctionNames();

// Checks `args` against `function` (count, numbers, dates) and normalizes them. kBadRequest
// naming `origin` when they do not fit.
Status CheckMaskArguments(MaskFunction function, const std::vector<std::string>& args,
                          const std::string& origin);

// "[schema.]table.column" as written in the catalog (case-sensitive, no quotes) into `rule`.
Status ParseColumnPath(const std::string& path, const std::string& origin, MaskingRule* rule);

// One PostgreSQL Anonymizer label on column schema.table.column. Returns nullopt for
// 'NOT MASKED'. Accepts 'MASKED WITH VALUE <literal or NULL>' and 'MASKED WITH FUNCTION
// anon.<f>(<args>)' for the functions listed in docs/masking.md; anything else is a kBadRequest
// that names the column and quotes the label.
Result<std::optional<MaskingRule>> ParseAnonymizerLabel(const std::string& schema,
                                                        const std::string& table,
                                                        const std::string& column,
                                                        const std::string& label);

// The top-level `masking:` section of the config: declarative rules applied to main data after
// the SQL preprocessing of either retrieval method (docs/masking.md).
struct MaskingConfig {
  std::vector<MaskingRule> rules;  // masking.rules, validated (function, arguments, column path)
  bool anonymizer_labels = true;   // masking.anonymizerLabels: apply the source's anon labels
  std::string key_file;            // masking.keyFile; filled with "<stateDir>/masking.key"
};

// A column as the catalog describes it, for the checks and the SQL.
struct ColumnInfo {
  std::string name;
  ColumnKind kind = ColumnKind::kOther;
  bool not_null = false;
};

// The rule fits the column (kind, NOT NULL); kBadRequest naming the rule otherwise.
Status CheckRuleFitsColumn(const MaskingRule& rule, const ColumnInfo& column);

// Quoting that needs no server: an identifier always in double quotes (inner quotes doubled);
// a literal in single quotes, as E'...' with doubled backslashes when it has any, so it reads
// the same whatever standard_conforming_strings is. NUL bytes are refused by the parsers before.
std::string QuoteSqlIdentifier(const std::string& name);
std::string QuoteSqlLiteral(const std::string& value);

// The SQL expression that replaces `rule.column` (reads only the row's original values, $1/$2).
std::string MaskExpression(const MaskingRule& rule, const ColumnInfo& column);

// One UPDATE of `schema.table` applying every non-shuffle rule (all read the original row), or
// "" when there is none. Uses $1 (inner pad) and $2 (outer pad) as bytea.
std::string BuildMaskingUpdate(const std::string& schema, const std::string& table,
                               const std::vector<std::pair<MaskingRule, ColumnInfo>>& rules);

// One statement permuting `column` of `schema.table` among its rows: rows in physical order
// receive the values ordered by their keyed hash. Uses $1/$2 like the UPDATE.
std::string BuildShuffle(const std::string& schema, const std::string& table,
                         const std::string& column);

// HMAC-SHA256 pads of a 32-byte key: the two 64-byte blocks bound to $1 and $2.
struct KeyPads {
  std::string inner;  // key XOR 0x36..., 64 bytes
  std::string outer;  // key XOR 0x5c..., 64 bytes
};
KeyPads PadsOfKey(const std::string& key);

}  // namespace dblab
