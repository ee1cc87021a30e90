ember_test(test_engine_seq ${CMAKE_CURRENT_LIST_DIR}/test_engine_seq.c MODELS TIMEOUT 300)
ember_test(test_prompt_cache ${CMAKE_CURRENT_LIST_DIR}/test_prompt_cache.c ${CMAKE_CURRENT_LIST_DIR}/greedy.c MODELS TIMEOUT 300)
ember_test(test_cells ${CMAKE_CURRENT_LIST_DIR}/test_cells.c ${CMAKE_CURRENT_LIST_DIR}/greedy.c MODELS TIMEOUT 300)
