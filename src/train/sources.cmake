target_sources(ember PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/arith.c
  ${CMAKE_CURRENT_LIST_DIR}/arith_jsonl.c
  ${CMAKE_CURRENT_LIST_DIR}/examples.c
  ${CMAKE_CURRENT_LIST_DIR}/expert.c
  ${CMAKE_CURRENT_LIST_DIR}/qwen3_net.c
  ${CMAKE_CURRENT_LIST_DIR}/synthesis.c
  ${CMAKE_CURRENT_LIST_DIR}/train.c)
