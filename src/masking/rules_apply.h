// Applying masking rules to a server being prepared (logical main data after the restore, or the
// promoted copy of a physical replica): the `masking.rules` of server.yml plus, with
// masking.anonymizerLabels, PostgreSQL Anonymizer's labels read from where they live (the
// source's pg_seclabel in logical mode, the promoted copy's own in physical mode).
//
// Order: every rule is resolved and checked against the catalog (table, column, type) in every
// database before the first row changes, so a bad rule or label fails the retrieval with its
// origin named and nothing half-masked is published. Then one UPDATE per table (plus one per
// shuffled column) runs with session_replication_role = replica: user triggers do not fire and
// foreign keys are not re-checked (mask both sides with the same deterministic function).
// Not thread-safe: one retrieval at a time.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "masking/rules.h"
#include "postgres/pq.h"

namespace dblab {

using ConnectToDatabase = std::function<Result<PgConnection>(const std::string& database)>;

struct MaskingTarget {
  // The databases to mask (those the retrieval prepared); empty = every database of the target
  // that accepts connections, templates excepted.
  std::vector<std::string> databases;
  ConnectToDatabase connect;  // to the server being prepared, as a superuser
  // Where the Anonymizer labels are read; the target itself when empty (physical mode).
  ConnectToDatabase connect_label_source;
  std::function<void(const std::string&)> progress;
};

// A column the rules changed (for the residue cleanup and gate that follow).
struct MaskedColumn {
  std::string database, schema, table, column;
  MaskFunction function = MaskFunction::kNull;
};

// Applies config.rules and (config.anonymizer_labels) the labels; returns what it changed. Loads
// or creates the key file only when there is something to mask. Errors: kBadRequest for a rule
// or label that does not fit (unknown table, column, function, type), naming it;
// kInternal/kUnavailable for servers.
Result<std::vector<MaskedColumn>> ApplyMaskingRules(const MaskingConfig& config,
                                                    const MaskingTarget& target);

// The call both retrieval methods make: ApplyMaskingRules on a local server reached through its
// unix socket as `superuser`. `label_source` empty: labels are read from that server itself.
Status MaskLocalServer(const MaskingConfig& config, const std::string& socket_dir, int port,
                       const std::string& superuser, const std::vector<std::string>& databases,
                       ConnectToDatabase label_source,
                       std::function<void(const std::string&)> progress);

// The anon labels on columns of `database`, as rules (NOT MASKED ones left out).
Result<std::vector<MaskingRule>> ReadAnonymizerLabels(PgConnection& connection,
                                                      const std::string& database);

// How many anon labels (NOT MASKED ones left out) the columns of `databases` have, read through
// `connect` as ApplyMaskingRules reads them: whether the labels give masking anything to do.
// Errors: those of connecting and of ReadAnonymizerLabels (a label that does not parse).
Result<size_t> CountAnonymizerLabels(const std::vector<std::string>& databases,
                                     const ConnectToDatabase& connect);

}  // namespace dblab
