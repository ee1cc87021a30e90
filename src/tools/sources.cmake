# src/tools: the tool registry, the built-in tools and the MCP client.
target_sources(ember PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/registry.c
  ${CMAKE_CURRENT_LIST_DIR}/result.c
  ${CMAKE_CURRENT_LIST_DIR}/calculator.c
  ${CMAKE_CURRENT_LIST_DIR}/calculator_tool.c
  ${CMAKE_CURRENT_LIST_DIR}/python.c
  ${CMAKE_CURRENT_LIST_DIR}/proc.c
  ${CMAKE_CURRENT_LIST_DIR}/http.c
  ${CMAKE_CURRENT_LIST_DIR}/netaddr.c
  ${CMAKE_CURRENT_LIST_DIR}/fetch.c
  ${CMAKE_CURRENT_LIST_DIR}/html_text.c
  ${CMAKE_CURRENT_LIST_DIR}/search.c
  ${CMAKE_CURRENT_LIST_DIR}/mcp.c)
