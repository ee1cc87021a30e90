# src/backend: remote engines (llama-server, vLLM, SGLang) behind ember's sequence interface,
# over HTTP with libcurl (already linked by the library).
target_sources(ember PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/adapter.c
  ${CMAKE_CURRENT_LIST_DIR}/replicas.c
  ${CMAKE_CURRENT_LIST_DIR}/remote.c)
