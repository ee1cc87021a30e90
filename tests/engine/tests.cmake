ember_test(test_engine_seq ${CMAKE_CURRENT_LIST_DIR}/test_engine_seq.c ${CMAKE_CURRENT_LIST_DIR}/greedy.c MODELS TIMEOUT 300)
ember_test(test_prompt_cache ${CMAKE_CURRENT_LIST_DIR}/test_prompt_cache.c ${CMAKE_CURRENT_LIST_DIR}/greedy.c MODELS TIMEOUT 300)
ember_test(test_cells ${CMAKE_CURRENT_LIST_DIR}/test_cells.c ${CMAKE_CURRENT_LIST_DIR}/greedy.c MODELS TIMEOUT 300)
ember_test(test_kv_split ${CMAKE_CURRENT_LIST_DIR}/test_kv_split.c ${CMAKE_CURRENT_LIST_DIR}/greedy.c MODELS TIMEOUT 300)
# The sampler against llama.cpp's own chain: compiled from the engine's source (its functions
# are internal to libember).
ember_test(test_sampler ${CMAKE_CURRENT_LIST_DIR}/test_sampler.c ${PROJECT_SOURCE_DIR}/src/engine/sampler.c
  ${EMBER_CORE_SOURCES} MODELS LIBS llama::mtmd llama::llama m TIMEOUT 120)
target_include_directories(test_sampler PRIVATE ${PROJECT_SOURCE_DIR}/src)
