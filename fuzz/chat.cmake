# The chat layer's parsers of model output, through the public API of a libember that the fuzz
# preset builds with coverage instrumentation (-fsanitize=fuzzer-no-link).
add_executable(fuzz_chat_output ${CMAKE_CURRENT_LIST_DIR}/fuzz_chat_output.c)
target_compile_options(fuzz_chat_output PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_options(fuzz_chat_output PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_chat_output PRIVATE ember)
