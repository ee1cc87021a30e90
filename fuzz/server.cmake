# src/server's parsers of untrusted text: chat completion request bodies (with the
# JSON-schema → GBNF converter behind response_format), schemas on their own, and the
# artifacts extracted from a model's answer.
set(server_src ${PROJECT_SOURCE_DIR}/src/server)
foreach(target fuzz_server_request fuzz_server_schema fuzz_server_artifacts)
  add_executable(${target} ${CMAKE_CURRENT_LIST_DIR}/${target}.c
    ${EMBER_CORE_SOURCES} ${PROJECT_SOURCE_DIR}/src/chat/json_text.c ${server_src}/request.c ${server_src}/schema_gbnf.c ${server_src}/artifacts.c
    ${PROJECT_SOURCE_DIR}/src/agent/tool_grammar.c)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${target} PRIVATE PkgConfig::JANSSON m)
endforeach()
