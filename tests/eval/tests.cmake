ember_test(test_eval ${CMAKE_CURRENT_LIST_DIR}/test_eval.c MODELS LIBS PkgConfig::JANSSON TIMEOUT 300)
set_property(TEST test_eval APPEND PROPERTY ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_LIST_DIR}/lsan.supp")
