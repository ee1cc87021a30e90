# Checks that ember-genmodel is deterministic: the same --seed gives byte-identical files with 1
# or 2 worker threads (text model and projector, f32 and q8_0), and another seed does not.
#   cmake -DGEN=<ember-genmodel> -DOUT=<scratch dir> -P determinism.cmake
if(NOT GEN OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DGEN=<ember-genmodel> -DOUT=<dir> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")

function(gen tag)
  execute_process(COMMAND "${GEN}" --out "${OUT}/${tag}.gguf" --mmproj "${OUT}/${tag}-mmproj.gguf"
    ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "ember-genmodel ${ARGN} failed (${rc}):\n${out}${err}")
  endif()
endfunction()

function(expect_same a b)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${OUT}/${a}" "${OUT}/${b}"
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${a} and ${b} differ but were generated with the same seed")
  endif()
endfunction()

foreach(type f32 q8_0)
  gen(${type}-a --arch muse-glimmer --type ${type} --seed 7 --threads 1)
  gen(${type}-b --arch muse-glimmer --type ${type} --seed 7 --threads 2)
  expect_same(${type}-a.gguf ${type}-b.gguf)
  expect_same(${type}-a-mmproj.gguf ${type}-b-mmproj.gguf)
endforeach()

gen(f32-c --arch muse-glimmer --type f32 --seed 8)
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${OUT}/f32-a.gguf" "${OUT}/f32-c.gguf"
  RESULT_VARIABLE rc)
if(rc EQUAL 0)
  message(FATAL_ERROR "seeds 7 and 8 gave identical files")
endif()
file(REMOVE_RECURSE "${OUT}")
