target_sources(ember PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cells.c
  ${CMAKE_CURRENT_LIST_DIR}/engine.c
  ${CMAKE_CURRENT_LIST_DIR}/inspect.c
  ${CMAKE_CURRENT_LIST_DIR}/media.c
  ${CMAKE_CURRENT_LIST_DIR}/prompt_cache.c
  ${CMAKE_CURRENT_LIST_DIR}/sampler.c
  ${CMAKE_CURRENT_LIST_DIR}/scheduler.c
  ${CMAKE_CURRENT_LIST_DIR}/seq.c)
