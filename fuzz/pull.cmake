# src/pull's parsers of untrusted text: the Hub's API answers (tree pages, model info, Link
# headers, file names → quantizations and split parts) and manifests read from disk.
set(pull_src ${PROJECT_SOURCE_DIR}/src/pull)
foreach(target fuzz_pull_tree fuzz_pull_manifest)
  add_executable(${target} ${CMAKE_CURRENT_LIST_DIR}/${target}.c
    ${pull_src}/util.c ${pull_src}/digest.c ${pull_src}/hub_json.c ${pull_src}/select.c
    ${pull_src}/manifest.c ${EMBER_CORE_SOURCES})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${target} PRIVATE PkgConfig::JANSSON PkgConfig::NETTLE)
endforeach()
