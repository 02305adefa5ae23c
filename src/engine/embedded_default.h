// The embedded default: what `dblab-engine` runs with no --config. A pool image, state and a
// generated demo source under one data directory, a generated token kept across restarts, and
// masking of the demo's personal data before any snapshot is offered.
#pragma once

#include <string>

#include "common/result.h"
#include "config/config.h"
#include "engine/demo_source.h"

namespace dblab {

struct EmbeddedDefaultOptions {
  std::string data_dir = "/var/lib/dblab";
  DemoSourceOptions demo;
};

// Sets up (or reuses) the demo source and returns a full engine configuration for it. On
// failure the demo source is stopped, and a demo source created by this call is removed so that
// the next start makes it again from scratch.
Result<EngineConfig> MakeEmbeddedDefault(const EmbeddedDefaultOptions& options);

// Stops the demo source server (if it runs): what a failing start of the embedded default
// calls, so that it leaves no process behind.
Status StopEmbeddedDefault(const EmbeddedDefaultOptions& options);

// Prints the token and the next commands to type.
void PrintEmbeddedWelcome(const EngineConfig& config, int port);

// SQL that replaces the demo's personal data; applied before the snapshot is taken.
extern const char* const kDemoMaskingSql;

}  // namespace dblab
