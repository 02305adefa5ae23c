// Raw bytes as an HTTP/1.1 request: Beast's parser with the limits HttpServer uses, then the
// Router (routes, percent-decoding, ids, JSON bodies, the web UI's path checks) against a fake
// engine. Every answer must be a status the one error mapping produces, with a body.
#include <spdlog/spdlog.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "api/fake_engine_service.h"
#include "api/router.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

// A tiny web UI to serve, so the UI's path checks run too.
std::string UiDir() {
  static const std::string dir = [] {
    auto root = std::filesystem::temp_directory_path() / "dblab-fuzz-ui";
    std::filesystem::create_directories(root / "assets");
    std::ofstream(root / "index.html") << "<!doctype html><title>ui</title>";
    std::ofstream(root / "assets" / "app.js") << "1";
    return root.string();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  UiDir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;
  auto request = parser.release();

  dblab::ApiRequest api;
  api.method = std::string(request.method_string());
  api.target = std::string(request.target());
  for (const auto& field : request) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    api.headers[name] = std::string(field.value());
  }
  api.body = request.body();
  api.remote_address = "192.0.2.1";

  dblab::FakeEngineService engine;
  dblab::Snapshot snapshot;
  snapshot.id = "dblab_pool@snapshot_1";
  snapshot.pool = "dblab_pool";
  engine.snapshots.push_back(snapshot);
  dblab::Clone clone;
  clone.id = "c1";
  clone.snapshot_id = snapshot.id;
  clone.db.port = 6000;
  engine.clones["c1"] = clone;
  // The token "tok" is in the dictionary; with it the fuzzer reaches every route.
  dblab::Router router(engine, dblab::RouterOptions{"tok", UiDir(), 1 << 20});
  dblab::ApiResponse response = router.Handle(api);
  static const int kStatuses[] = {200, 201, 400, 401, 404, 405, 409, 413, 429, 500, 503};
  bool known = false;
  for (int status : kStatuses) known |= response.status == status;
  if (!known || response.body.empty()) __builtin_trap();
  return 0;
}
