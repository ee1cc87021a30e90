# src/server: `ember serve`, the OpenAI-compatible HTTP API (libmicrohttpd), its store
# (SQLite, or PostgreSQL through libpq) of API keys and conversations, and its metrics.
# SHA-256 of API keys comes from nettle.
if(NOT TARGET PkgConfig::NETTLE)
  pkg_check_modules(NETTLE REQUIRED IMPORTED_TARGET nettle)
endif()
target_sources(ember PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/request.c
  ${CMAKE_CURRENT_LIST_DIR}/schema_gbnf.c
  ${CMAKE_CURRENT_LIST_DIR}/metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/gate.c
  ${CMAKE_CURRENT_LIST_DIR}/db.c
  ${CMAKE_CURRENT_LIST_DIR}/db_sqlite.c
  ${CMAKE_CURRENT_LIST_DIR}/db_postgres.c
  ${CMAKE_CURRENT_LIST_DIR}/store.c
  ${CMAKE_CURRENT_LIST_DIR}/store_migrations.c
  ${CMAKE_CURRENT_LIST_DIR}/completion.c
  ${CMAKE_CURRENT_LIST_DIR}/conversations.c
  ${CMAKE_CURRENT_LIST_DIR}/artifacts.c
  ${CMAKE_CURRENT_LIST_DIR}/info.c
  ${CMAKE_CURRENT_LIST_DIR}/media.c
  ${CMAKE_CURRENT_LIST_DIR}/server.c)
# PostgreSQL store driver (--db postgresql://…): libpq.
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
target_link_libraries(ember PRIVATE PkgConfig::NETTLE PkgConfig::LIBPQ)
