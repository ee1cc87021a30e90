ember_test(test_arith ${CMAKE_CURRENT_LIST_DIR}/test_arith.c LIBS PkgConfig::JANSSON)
ember_test(test_train ${CMAKE_CURRENT_LIST_DIR}/test_train.c MODELS LIBS PkgConfig::JANSSON TIMEOUT 600)
