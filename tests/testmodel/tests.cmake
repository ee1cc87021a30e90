# Tests of ember-genmodel (testmodel/): the generated test models load and run in llama.cpp,
# and generation is deterministic.

# --verify on each generated model (the `models` fixture wrote them into EMBER_TEST_MODELS)
foreach(pair "glimmer-tiny.gguf;mmproj-glimmer-tiny.gguf" "qwen3-tiny.gguf;"
             "qwen3vl-tiny.gguf;mmproj-qwen3vl-tiny.gguf")
  list(GET pair 0 text)
  list(GET pair 1 mmproj)
  string(REPLACE ".gguf" "" name "${text}")
  set(args --verify ${EMBER_TEST_MODELS}/${text})
  if(mmproj)
    list(APPEND args --mmproj ${EMBER_TEST_MODELS}/${mmproj})
  endif()
  add_test(NAME testmodel_verify_${name} COMMAND $<TARGET_FILE:ember-genmodel> ${args})
  set_tests_properties(testmodel_verify_${name} PROPERTIES
    FIXTURES_REQUIRED models TIMEOUT 120)
endforeach()

# same seed -> byte-identical files, whatever the thread count; another seed -> different
add_test(NAME testmodel_deterministic
  COMMAND ${CMAKE_COMMAND} -DGEN=$<TARGET_FILE:ember-genmodel>
          -DOUT=${CMAKE_CURRENT_BINARY_DIR}/testmodel-determinism
          -P ${CMAKE_CURRENT_LIST_DIR}/determinism.cmake)
set_tests_properties(testmodel_deterministic PROPERTIES TIMEOUT 120)
