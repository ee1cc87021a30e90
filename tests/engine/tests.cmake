ember_test(test_engine_seq ${CMAKE_CURRENT_LIST_DIR}/test_engine_seq.c MODELS TIMEOUT 300)
