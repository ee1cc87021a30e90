target_sources(ember PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/chatml_think.c
  ${CMAKE_CURRENT_LIST_DIR}/conversation.c
  ${CMAKE_CURRENT_LIST_DIR}/format.c
  ${CMAKE_CURRENT_LIST_DIR}/json_text.c
  ${CMAKE_CURRENT_LIST_DIR}/muse_glimmer.c
  ${CMAKE_CURRENT_LIST_DIR}/stream_parser.c)
