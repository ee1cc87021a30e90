target_sources(ember PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/agent.c
  ${CMAKE_CURRENT_LIST_DIR}/brief.c
  ${CMAKE_CURRENT_LIST_DIR}/contemplate.c
  ${CMAKE_CURRENT_LIST_DIR}/modes.c
  ${CMAKE_CURRENT_LIST_DIR}/prefix_cache.c
  ${CMAKE_CURRENT_LIST_DIR}/result.c
  ${CMAKE_CURRENT_LIST_DIR}/run.c
  ${CMAKE_CURRENT_LIST_DIR}/tool_calls.c
  ${CMAKE_CURRENT_LIST_DIR}/tool_grammar.c
  ${CMAKE_CURRENT_LIST_DIR}/tool_round.c
  ${CMAKE_CURRENT_LIST_DIR}/vote.c
  ${CMAKE_CURRENT_LIST_DIR}/zoom.c)
