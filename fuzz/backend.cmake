# src/backend's parser of untrusted text: the events remote engines stream back.
add_executable(fuzz_backend_event ${CMAKE_CURRENT_LIST_DIR}/fuzz_backend_event.c
  ${PROJECT_SOURCE_DIR}/src/backend/adapter.c)
target_include_directories(fuzz_backend_event PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
target_compile_options(fuzz_backend_event PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_options(fuzz_backend_event PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_backend_event PRIVATE PkgConfig::JANSSON m)
