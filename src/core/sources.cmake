# src/core: what every module shares (errors, strings, UTF-8, clocks). Tests and fuzz targets
# that compile a module's internal sources in take these from EMBER_CORE_SOURCES.
set(EMBER_CORE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/error.c
  ${CMAKE_CURRENT_LIST_DIR}/strbuf.c
  ${CMAKE_CURRENT_LIST_DIR}/utf8.c
  ${CMAKE_CURRENT_LIST_DIR}/clock.c)
target_sources(ember PRIVATE ${EMBER_CORE_SOURCES})
