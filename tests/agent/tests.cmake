ember_test(test_answer_normalize ${CMAKE_CURRENT_LIST_DIR}/test_answer_normalize.c)
