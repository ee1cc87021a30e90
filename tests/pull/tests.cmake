# tests/pull: the pure parts of src/pull compiled in (selection, Hub JSON, manifests), and
# ember_pull + the store against a fake Hub on 127.0.0.1 (libmicrohttpd, in the test).
set(pull_src ${PROJECT_SOURCE_DIR}/src/pull)
ember_test(test_pull_units ${CMAKE_CURRENT_LIST_DIR}/test_pull_units.c
  ${pull_src}/util.c ${pull_src}/digest.c ${pull_src}/hub_json.c ${pull_src}/hub_http.c
  ${pull_src}/select.c ${pull_src}/manifest.c ${EMBER_CORE_SOURCES}
  LIBS PkgConfig::JANSSON PkgConfig::LIBCURL PkgConfig::NETTLE)
target_include_directories(test_pull_units PRIVATE ${PROJECT_SOURCE_DIR}/src)

ember_test(test_pull ${CMAKE_CURRENT_LIST_DIR}/test_pull.c ${CMAKE_CURRENT_LIST_DIR}/fake_hub.c
  LIBS PkgConfig::MHD PkgConfig::JANSSON PkgConfig::NETTLE Threads::Threads
  TIMEOUT 120)

# The CLI commands end to end (skips when the ember binary was not built).
ember_test(test_pull_cli ${CMAKE_CURRENT_LIST_DIR}/test_pull_cli.c ${CMAKE_CURRENT_LIST_DIR}/fake_hub.c
  LIBS PkgConfig::MHD PkgConfig::JANSSON PkgConfig::NETTLE Threads::Threads
  TIMEOUT 120)
