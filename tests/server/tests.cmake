# ember serve: the request parser and the JSON-schema → GBNF converter (unit tests, compiled
# from the server's own sources), and the server end to end through the official openai npm
# client (Node's test runner; skipped with 77 when `npm ci` has not installed it).
set(server_src ${PROJECT_SOURCE_DIR}/src/server)
ember_test(test_server_units ${CMAKE_CURRENT_LIST_DIR}/test_server_units.c
  ${EMBER_CORE_SOURCES} ${PROJECT_SOURCE_DIR}/src/chat/json_text.c ${server_src}/request.c ${server_src}/schema_gbnf.c ${server_src}/gate.c
  ${server_src}/metrics.c
  MODELS LIBS PkgConfig::JANSSON m TIMEOUT 120)
target_include_directories(test_server_units PRIVATE ${PROJECT_SOURCE_DIR}/src)

# The store and its database drivers (SQLite here; PostgreSQL in test_postgres.mjs).
ember_test(test_store ${CMAKE_CURRENT_LIST_DIR}/test_store.c
  ${EMBER_CORE_SOURCES} ${server_src}/db.c ${server_src}/db_sqlite.c ${server_src}/db_postgres.c ${server_src}/store.c
  ${server_src}/store_migrations.c
  LIBS PkgConfig::JANSSON PkgConfig::SQLITE3 PkgConfig::LIBPQ PkgConfig::NETTLE TIMEOUT 60)
target_include_directories(test_store PRIVATE ${PROJECT_SOURCE_DIR}/src)

# Artifact extraction and the artifacts prompt; the store's branches, search and migration.
ember_test(test_server_store ${CMAKE_CURRENT_LIST_DIR}/test_server_store.c
  ${EMBER_CORE_SOURCES} ${server_src}/db.c ${server_src}/db_sqlite.c ${server_src}/db_postgres.c ${server_src}/store.c
  ${server_src}/store_migrations.c ${PROJECT_SOURCE_DIR}/src/chat/json_text.c ${server_src}/request.c ${server_src}/schema_gbnf.c
  ${server_src}/artifacts.c
  LIBS PkgConfig::JANSSON PkgConfig::SQLITE3 PkgConfig::LIBPQ PkgConfig::NETTLE m TIMEOUT 60)
target_include_directories(test_server_store PRIVATE ${PROJECT_SOURCE_DIR}/src)

find_program(NODE_EXECUTABLE NAMES node nodejs)
if(NODE_EXECUTABLE)
  foreach(t test_openai test_load test_postgres test_prompt_cache test_tools test_cells test_kv_split)
    add_test(NAME server_${t} COMMAND ${NODE_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/${t}.mjs)
    set_tests_properties(server_${t} PROPERTIES
      ENVIRONMENT "OMP_WAIT_POLICY=passive;EMBER_TEST_MODELS=${EMBER_TEST_MODELS};EMBER_BIN=$<TARGET_FILE:ember-cli>"
      FIXTURES_REQUIRED models SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)
  endforeach()
endif()
