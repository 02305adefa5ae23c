#include "masking/rules_apply.h"

#include <algorithm>
#include <map>
#include <set>

#include "masking/rules_key.h"

namespace dblab {
namespace {

constexpr unsigned int kByteaOid = 17;

std::string HexBytea(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// Runs `sql` with the key's pads bound to $1 and $2 (declared bytea, so a statement that does not
// use them is fine too). The pads travel as parameters: never in SQL text or the server's log.
Status ExecWithKey(PgConnection& connection, const std::string& sql, const KeyPads& pads) {
  std::string inner = HexBytea(pads.inner), outer = HexBytea(pads.outer);
  const char* values[2] = {inner.c_str(), outer.c_str()};
  const unsigned int types[2] = {kByteaOid, kByteaOid};
  PGresult* result =
      PQexecParams(connection.raw(), sql.c_str(), 2, types, values, nullptr, nullptr, 0);
  ExecStatusType status = PQresultStatus(result);
  std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(connection.raw());
  PQclear(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    return Internal(message);
  }
  return OkStatus();
}

struct TableColumns {
  char relkind = 0;  // 0: no such table
  std::map<std::string, ColumnInfo> columns;
  std::set<std::string> generated;
};

Result<TableColumns> DescribeTable(PgConnection& connection, const std::string& schema,
                                   const std::string& table) {
  DBLAB_ASSIGN_OR_RETURN(
      PgRows rows,
      connection.Query(
          "SELECT c.relkind, a.attname, t.typcategory, a.attnotnull, a.attgenerated <> '' "
          "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
          "JOIN pg_type t ON t.oid = a.atttypid WHERE n.nspname = " +
          connection.QuoteLiteral(schema) + " AND c.relname = " + connection.QuoteLiteral(table)));
  TableColumns out;
  for (const auto& row : rows) {
    out.relkind = row[0].empty() ? '\0' : row[0][0];
    ColumnInfo info;
    info.name = row[1];
    info.kind = row[2] == "S"   ? ColumnKind::kString
                : row[2] == "N" ? ColumnKind::kNumeric
                : row[2] == "D" ? ColumnKind::kDateTime
                                : ColumnKind::kOther;
    info.not_null = row[3] == "t";
    if (row[4] == "t") out.generated.insert(row[1]);
    out.columns[row[1]] = info;
  }
  return out;
}

// The statements for one database, decided before anything changes.
struct DatabasePlan {
  std::string database;
  std::vector<std::pair<std::string, std::string>> statements;  // progress text, SQL
  std::vector<MaskedColumn> masked;
};

Result<DatabasePlan> PlanDatabase(PgConnection& connection, const std::string& database,
                                  const std::vector<MaskingRule>& rules) {
  DatabasePlan plan{database, {}, {}};
  std::map<std::pair<std::string, std::string>, std::vector<const MaskingRule*>> by_table;
  for (const MaskingRule& rule : rules) by_table[{rule.schema, rule.table}].push_back(&rule);
  for (const auto& [name, table_rules] : by_table) {
    const auto& [schema, table] = name;
    DBLAB_ASSIGN_OR_RETURN(TableColumns described, DescribeTable(connection, schema, table));
    const MaskingRule& first = *table_rules.front();
    if (described.relkind == 0) {
      return BadRequest(first.origin + ": table " + schema + "." + table +
                        " does not exist in database " + database);
    }
    if (described.relkind != 'r' && described.relkind != 'p') {
      return BadRequest(first.origin + ": " + schema + "." + table + " in database " + database +
                        " is not a table (only tables' columns can be masked)");
    }
    std::vector<std::pair<MaskingRule, ColumnInfo>> fitted;
    for (const MaskingRule* rule : table_rules) {
      auto column = described.columns.find(rule->column);
      if (column == described.columns.end()) {
        return BadRequest(rule->origin + ": column " + rule->column + " does not exist in " +
                          schema + "." + table + " (database " + database + ")");
      }
      if (described.generated.contains(rule->column)) {
        return BadRequest(rule->origin + ": column " + rule->column +
                          " is generated; mask the columns it is computed from");
      }
      if (!rule->seed_column.empty() && !described.columns.contains(rule->seed_column)) {
        return BadRequest(rule->origin + ": seed column " + rule->seed_column +
                          " does not exist in " + schema + "." + table);
      }
      if (rule->function == MaskFunction::kShuffle && described.relkind != 'r') {
        return BadRequest(rule->origin + ": shuffle works on plain tables, not on partitioned " +
                          schema + "." + table + "; shuffle its partitions");
      }
      DBLAB_TRY(CheckRuleFitsColumn(*rule, column->second));
      fitted.push_back({*rule, column->second});
      plan.masked.push_back({database, schema, table, rule->column, rule->function});
    }
    std::string where = database + ": " + schema + "." + table;
    if (std::string update = BuildMaskingUpdate(schema, table, fitted); !update.empty()) {
      plan.statements.push_back({where, update});
    }
    for (const auto& [rule, column] : fitted) {
      if (rule.function == MaskFunction::kShuffle) {
        plan.statements.push_back(
            {where + "." + column.name + " (shuffle)", BuildShuffle(schema, table, column.name)});
      }
    }
  }
  return plan;
}

}  // namespace

Result<std::vector<MaskingRule>> ReadAnonymizerLabels(PgConnection& connection,
                                                      const std::string& database) {
  DBLAB_ASSIGN_OR_RETURN(
      PgRows rows,
      connection.Query("SELECT n.nspname, c.relname, a.attname, s.label FROM pg_seclabel s "
                       "JOIN pg_class c ON s.classoid = 'pg_class'::regclass AND s.objoid = c.oid "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = s.objsubid "
                       "WHERE s.provider = 'anon' AND s.objsubid > 0 AND NOT a.attisdropped "
                       "ORDER BY 1, 2, 3"));
  std::vector<MaskingRule> rules;
  for (const auto& row : rows) {
    auto parsed = ParseAnonymizerLabel(row[0], row[1], row[2], row[3]);
    if (!parsed.ok()) return parsed.error().Wrap("database " + database);
    if (!parsed->has_value()) continue;  // NOT MASKED
    MaskingRule rule = std::move(**parsed);
    rule.database = database;
    rules.push_back(std::move(rule));
  }
  return rules;
}

Result<size_t> CountAnonymizerLabels(const std::vector<std::string>& databases,
                                     const ConnectToDatabase& connect) {
  size_t count = 0;
  for (const std::string& database : databases) {
    auto connection = connect(database);
    if (!connection.ok()) {
      return connection.error().Wrap("read PostgreSQL Anonymizer labels of database " + database);
    }
    DBLAB_ASSIGN_OR_RETURN(std::vector<MaskingRule> labels,
                           ReadAnonymizerLabels(*connection, database));
    count += labels.size();
  }
  return count;
}

Result<std::vector<MaskedColumn>> ApplyMaskingRules(const MaskingConfig& config,
                                                    const MaskingTarget& target) {
  auto progress = [&](const std::string& step) {
    if (target.progress) target.progress(step);
  };
  // Rules per database: the labels first, then server.yml's rules, which win for a column both
  // name. A server.yml rule without `database` masks every database that has its table.
  if (config.rules.empty() && !config.anonymizer_labels) return std::vector<MaskedColumn>();
  std::vector<std::string> databases = target.databases;
  if (databases.empty()) {
    auto connection = target.connect("postgres");
    if (!connection.ok()) return connection.error().Wrap("list the databases to mask");
    DBLAB_ASSIGN_OR_RETURN(PgRows rows,
                           connection->Query("SELECT datname FROM pg_database WHERE datallowconn "
                                             "AND NOT datistemplate ORDER BY datname"));
    for (const auto& row : rows) databases.push_back(row[0]);
  }
  std::map<std::string, std::vector<MaskingRule>> rules_of;
  std::vector<int> yaml_matches(config.rules.size(), 0);
  for (const MaskingRule& rule : config.rules) {
    if (!rule.database.empty() &&
        std::find(databases.begin(), databases.end(), rule.database) == databases.end()) {
      return BadRequest(rule.origin + ": database " + rule.database +
                        " is not among the databases retrieved");
    }
  }
  for (const std::string& database : databases) {
    std::vector<MaskingRule>& rules = rules_of[database];
    if (config.anonymizer_labels) {
      const ConnectToDatabase& connect =
          target.connect_label_source ? target.connect_label_source : target.connect;
      auto labels_connection = connect(database);
      if (!labels_connection.ok()) {
        return labels_connection.error().Wrap("read PostgreSQL Anonymizer labels of database " +
                                              database);
      }
      DBLAB_ASSIGN_OR_RETURN(rules, ReadAnonymizerLabels(*labels_connection, database));
    }
    if (config.rules.empty()) continue;
    auto connection = target.connect(database);
    if (!connection.ok()) return connection.error().Wrap("connect to database " + database);
    for (size_t i = 0; i < config.rules.size(); ++i) {
      const MaskingRule& rule = config.rules[i];
      if (!rule.database.empty() && rule.database != database) continue;
      if (rule.database.empty()) {
        DBLAB_ASSIGN_OR_RETURN(TableColumns described,
                               DescribeTable(*connection, rule.schema, rule.table));
        if (described.relkind == 0) continue;
      }
      ++yaml_matches[i];
      std::erase_if(rules, [&](const MaskingRule& label) {
        return label.schema == rule.schema && label.table == rule.table &&
               label.column == rule.column;
      });
      rules.push_back(rule);
    }
  }
  for (size_t i = 0; i < config.rules.size(); ++i) {
    if (yaml_matches[i] == 0) {
      std::string names;
      for (const auto& db : databases) names += (names.empty() ? "" : ", ") + db;
      return BadRequest(config.rules[i].origin + ": table " + config.rules[i].schema + "." +
                        config.rules[i].table + " does not exist in any retrieved database (" +
                        names + ")");
    }
  }

  // Check everything against the catalog before the first row changes.
  std::vector<DatabasePlan> plans;
  for (const auto& [database, rules] : rules_of) {
    if (rules.empty()) continue;
    auto connection = target.connect(database);
    if (!connection.ok()) return connection.error().Wrap("connect to database " + database);
    DBLAB_ASSIGN_OR_RETURN(DatabasePlan plan, PlanDatabase(*connection, database, rules));
    plans.push_back(std::move(plan));
  }
  if (plans.empty()) return std::vector<MaskedColumn>();

  DBLAB_ASSIGN_OR_RETURN(std::string key, LoadOrCreateMaskingKey(config.key_file));
  KeyPads pads = PadsOfKey(key);
  std::vector<MaskedColumn> masked;
  for (const DatabasePlan& plan : plans) {
    auto connection = target.connect(plan.database);
    if (!connection.ok()) return connection.error().Wrap("connect to database " + plan.database);
    DBLAB_TRY(connection->Exec("SET session_replication_role = replica"));
    for (const auto& [where, sql] : plan.statements) {
      progress("masking rules: " + where);
      Status done = ExecWithKey(*connection, sql, pads);
      if (!done.ok()) return done.error().Wrap("masking " + where);
    }
    masked.insert(masked.end(), plan.masked.begin(), plan.masked.end());
  }
  return masked;
}

Status MaskLocalServer(const MaskingConfig& config, const std::string& socket_dir, int port,
                       const std::string& superuser, const std::vector<std::string>& databases,
                       ConnectToDatabase label_source,
                       std::function<void(const std::string&)> progress) {
  MaskingTarget target;
  target.databases = databases;
  target.connect = [=](const std::string& database) {
    return PgConnection::Connect(BuildConninfo({{"host", socket_dir},
                                                {"port", std::to_string(port)},
                                                {"user", superuser},
                                                {"dbname", database},
                                                {"application_name", "dblab-masking"}}));
  };
  target.connect_label_source = std::move(label_source);
  target.progress = std::move(progress);
  auto masked = ApplyMaskingRules(config, target);
  if (!masked.ok()) return masked.error();
  if (!masked->empty() && target.progress) {
    target.progress("masking rules: " + std::to_string(masked->size()) + " columns masked");
  }
  return OkStatus();
}

}  // namespace dblab
