ember_test(test_cli_ask ${CMAKE_CURRENT_LIST_DIR}/test_cli_ask.c MODELS LIBS PkgConfig::JANSSON TIMEOUT 300)
ember_test(test_cli_args ${CMAKE_CURRENT_LIST_DIR}/test_cli_args.c MODELS TIMEOUT 120)
ember_test(test_cli_contemplate ${CMAKE_CURRENT_LIST_DIR}/test_cli_contemplate.c MODELS LIBS PkgConfig::JANSSON TIMEOUT 600)
ember_test(test_cli_tools ${CMAKE_CURRENT_LIST_DIR}/test_cli_tools.c MODELS LIBS PkgConfig::JANSSON TIMEOUT 300)
