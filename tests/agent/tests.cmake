ember_test(test_answer_normalize ${CMAKE_CURRENT_LIST_DIR}/test_answer_normalize.c)
ember_test(test_tool_calls_parse ${CMAKE_CURRENT_LIST_DIR}/test_tool_calls_parse.c)
ember_test(test_tool_grammar ${CMAKE_CURRENT_LIST_DIR}/test_tool_grammar.c MODELS LIBS PkgConfig::JANSSON TIMEOUT 300)
ember_test(test_contemplate_tools ${CMAKE_CURRENT_LIST_DIR}/test_contemplate_tools.c MODELS LIBS PkgConfig::JANSSON TIMEOUT 300)
