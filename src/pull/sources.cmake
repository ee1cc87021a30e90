# src/pull: `ember pull` and the local model store (Hub API, resumable verified downloads,
# manifests). SHA-256 comes from nettle (Debian: nettle-dev).
pkg_check_modules(NETTLE REQUIRED IMPORTED_TARGET nettle)
target_sources(ember PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/util.c
  ${CMAKE_CURRENT_LIST_DIR}/digest.c
  ${CMAKE_CURRENT_LIST_DIR}/hub_json.c
  ${CMAKE_CURRENT_LIST_DIR}/hub_http.c
  ${CMAKE_CURRENT_LIST_DIR}/select.c
  ${CMAKE_CURRENT_LIST_DIR}/manifest.c
  ${CMAKE_CURRENT_LIST_DIR}/download.c
  ${CMAKE_CURRENT_LIST_DIR}/store.c
  ${CMAKE_CURRENT_LIST_DIR}/pull.c)
target_link_libraries(ember PRIVATE PkgConfig::NETTLE)
