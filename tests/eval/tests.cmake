ember_test(test_eval ${CMAKE_CURRENT_LIST_DIR}/test_eval.c MODELS LIBS PkgConfig::JANSSON TIMEOUT 300)
