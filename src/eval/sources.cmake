target_sources(ember PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/dataset.c
  ${CMAKE_CURRENT_LIST_DIR}/eval.c
  ${CMAKE_CURRENT_LIST_DIR}/plot.c
  ${CMAKE_CURRENT_LIST_DIR}/score.c)
