# Remote engines: ember in front of real llama-server replicas (llama.cpp's own server from the
# pinned source, in ember's llama.cpp cache). The llama_server_tools fixture builds the tools
# target when llama-server is missing (a fresh CI machine); where it exists it does nothing.
find_program(NODE_EXECUTABLE NAMES node nodejs)
if(NODE_EXECUTABLE)
  add_test(NAME llama_server_tools COMMAND sh -c
    "test -x '${EMBER_LLAMA_BIN}/llama-server' || '${PROJECT_SOURCE_DIR}/scripts/llama-cpp.sh' tools >/dev/null")
  set_tests_properties(llama_server_tools PROPERTIES FIXTURES_SETUP llama_tools TIMEOUT 3600)
  foreach(t test_remote test_openai_remote)
    add_test(NAME backend_${t} COMMAND ${NODE_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/${t}.mjs)
    set_tests_properties(backend_${t} PROPERTIES
      ENVIRONMENT "OMP_WAIT_POLICY=passive;EMBER_TEST_MODELS=${EMBER_TEST_MODELS};EMBER_BIN=$<TARGET_FILE:ember-cli>;LLAMA_SERVER=${EMBER_LLAMA_BIN}/llama-server"
      FIXTURES_REQUIRED "models;llama_tools" SKIP_RETURN_CODE 77 TIMEOUT 600 RUN_SERIAL TRUE)
  endforeach()
endif()
