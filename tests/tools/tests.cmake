# tests/tools: the built-in tools, the registry, the MCP client and `ember tool`.
# Pure parts (calculator, address classifier, HTML to text) are compiled in and tested
# directly; everything else goes through the public API in include/ember.h. Network tests
# talk only to servers the tests start on 127.0.0.1; refused addresses are refused before
# any socket exists.
set(tools_src ${PROJECT_SOURCE_DIR}/src/tools)

ember_test(test_tools_calculator ${CMAKE_CURRENT_LIST_DIR}/test_tools_calculator.c
  ${tools_src}/calculator.c ${EMBER_CORE_SOURCES} LIBS ${MPFR_LIB} ${GMP_LIB} m Threads::Threads TIMEOUT 60)
target_include_directories(test_tools_calculator PRIVATE ${PROJECT_SOURCE_DIR}/src)

ember_test(test_tools_netaddr ${CMAKE_CURRENT_LIST_DIR}/test_tools_netaddr.c
  ${tools_src}/netaddr.c TIMEOUT 30)
target_include_directories(test_tools_netaddr PRIVATE ${PROJECT_SOURCE_DIR}/src)

ember_test(test_tools_html ${CMAKE_CURRENT_LIST_DIR}/test_tools_html.c
  ${tools_src}/html_text.c ${EMBER_CORE_SOURCES} TIMEOUT 30)
target_include_directories(test_tools_html PRIVATE ${PROJECT_SOURCE_DIR}/src)

ember_test(test_tools_registry ${CMAKE_CURRENT_LIST_DIR}/test_tools_registry.c
  LIBS PkgConfig::JANSSON Threads::Threads TIMEOUT 60)

ember_test(test_tools_fetch ${CMAKE_CURRENT_LIST_DIR}/test_tools_fetch.c
  LIBS PkgConfig::MHD PkgConfig::JANSSON Threads::Threads TIMEOUT 60)

ember_test(test_tools_python ${CMAKE_CURRENT_LIST_DIR}/test_tools_python.c
  LIBS PkgConfig::JANSSON Threads::Threads TIMEOUT 120)

ember_test(test_tools_mcp ${CMAKE_CURRENT_LIST_DIR}/test_tools_mcp.c
  LIBS PkgConfig::JANSSON Threads::Threads TIMEOUT 60)

# Runs the ember binary (skipped when it has not been built).
ember_test(test_tools_cli ${CMAKE_CURRENT_LIST_DIR}/test_tools_cli.c
  LIBS PkgConfig::JANSSON TIMEOUT 60)

# The sandbox's process and memory limits are shared by every sandbox of the machine's
# unprivileged user (root runs them as uid 65534): run alone, not beside other tests.
set_tests_properties(test_tools_python PROPERTIES RUN_SERIAL TRUE)
