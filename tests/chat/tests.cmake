ember_test(test_chat_render ${CMAKE_CURRENT_LIST_DIR}/test_chat_render.c)
ember_test(test_chat_parser ${CMAKE_CURRENT_LIST_DIR}/test_chat_parser.c)
