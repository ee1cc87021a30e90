# src/tools' parsers of untrusted text: calculator expressions written by the model, HTML
# pages from the web, and URL hosts given as IP literals.
set(tools_src ${PROJECT_SOURCE_DIR}/src/tools)
set(fuzz_tools_calculator_sources ${tools_src}/calculator.c ${EMBER_CORE_SOURCES})
set(fuzz_tools_html_sources ${tools_src}/html_text.c ${EMBER_CORE_SOURCES})
set(fuzz_tools_netaddr_sources ${tools_src}/netaddr.c)
foreach(target fuzz_tools_calculator fuzz_tools_html fuzz_tools_netaddr)
  add_executable(${target} ${CMAKE_CURRENT_LIST_DIR}/${target}.c ${${target}_sources})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
endforeach()
target_link_libraries(fuzz_tools_calculator PRIVATE ${MPFR_LIB} ${GMP_LIB} m)
