# Imports llama.cpp's libraries from the versioned cache that scripts/llama-cpp.sh builds.
# EMBER_LLAMA_DIR overrides the location; by default the script is asked (and builds on first use).
if(NOT EMBER_LLAMA_DIR)
  execute_process(COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/scripts/llama-cpp.sh libs
    OUTPUT_VARIABLE EMBER_LLAMA_DIR OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE llama_status)
  if(NOT llama_status EQUAL 0)
    message(FATAL_ERROR "scripts/llama-cpp.sh libs failed; see its output above")
  endif()
endif()
set(EMBER_LLAMA_DIR ${EMBER_LLAMA_DIR} CACHE PATH "llama.cpp cache dir (src/, build/)")
set(llama_src ${EMBER_LLAMA_DIR}/src)
set(llama_bin ${EMBER_LLAMA_DIR}/build/bin)
message(STATUS "llama.cpp: ${EMBER_LLAMA_DIR}")

function(ember_import_llama name lib)
  add_library(llama::${name} SHARED IMPORTED GLOBAL)
  set_target_properties(llama::${name} PROPERTIES
    IMPORTED_LOCATION ${llama_bin}/${lib}
    INTERFACE_INCLUDE_DIRECTORIES "${ARGN}")
endfunction()
ember_import_llama(ggml_base libggml-base.so ${llama_src}/ggml/include)
ember_import_llama(ggml libggml.so ${llama_src}/ggml/include)
ember_import_llama(llama libllama.so ${llama_src}/include ${llama_src}/ggml/include)
ember_import_llama(mtmd libmtmd.so ${llama_src}/tools/mtmd ${llama_src}/include ${llama_src}/ggml/include)
set(EMBER_LLAMA_BIN ${llama_bin})
set(CMAKE_BUILD_RPATH ${llama_bin})
set(CMAKE_INSTALL_RPATH ${llama_bin})
