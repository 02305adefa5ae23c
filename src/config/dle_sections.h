// The sections of DLE's server.yml (server, global, poolManager, provision, cloning, retrieval,
// masking, webhooks, ...), read into an EngineConfig with a YamlReader. Internal to src/config:
// ParseConfig (config.h) loads the document and calls these; the keys are in docs/config.md.
//
// What is DLE's here and not the reader's: which keys exist and what they mean, the defaults and
// checks, which keys are accepted but ignored and why (Docker-only keys, features dblab does not
// have), and the PostgreSQL major a `dockerImage` tag names.
#pragma once

#include "common/result.h"
#include "config/config.h"
#include "config/yaml_reader.h"

namespace dblab {

// The reader options a server.yml needs: `dockerImage` and `containerConfig` are Docker-only
// keys wherever they appear, and a database image's tag ("postgresai/extended-postgres:17-0.6.2")
// sets *image_major to the PostgreSQL major it names (the first one wins; a different one later
// is a warning). *image_major starts at 0 and must outlive the reader.
YamlReaderOptions DleReaderOptions(int* image_major);

// Reads every section of the top-level mapping `root` into *config in a fixed order
// (databaseConfigs before provision, so that provision's settings win), fills the defaults that
// depend on other keys (global.stateDir, masking.keyFile) and checks across sections. Unread keys
// become the reader's warnings. Errors: the reader's kBadRequest naming the line and key path.
Status ReadDleSections(YamlReader& reader, YamlMapping& root, EngineConfig* config);

}  // namespace dblab
