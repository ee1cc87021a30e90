ember_test(test_chat_render ${CMAKE_CURRENT_LIST_DIR}/test_chat_render.c)
ember_test(test_chat_parser ${CMAKE_CURRENT_LIST_DIR}/test_chat_parser.c)

# Prompt parity with the official templates through llama-server's /apply-template, built from
# the pinned source by the llama_server fixture (once per machine; a no-op when built).
add_test(NAME llama_server_build COMMAND ${PROJECT_SOURCE_DIR}/scripts/llama-cpp.sh server)
set_tests_properties(llama_server_build PROPERTIES FIXTURES_SETUP llama_server TIMEOUT 3600)
ember_test(test_chat_parity ${CMAKE_CURRENT_LIST_DIR}/test_chat_parity.c MODELS
  LIBS PkgConfig::JANSSON PkgConfig::LIBCURL TIMEOUT 300)
set_tests_properties(test_chat_parity PROPERTIES FIXTURES_REQUIRED "models;llama_server")
