# Writes the tiny random-weight test models into OUT and verifies each through llama.cpp.
#   cmake -DGEN=<path to ember-genmodel> -DOUT=<dir> -P tests/generate_models.cmake
# Run by CTest as the `models` fixture (tests/CMakeLists.txt); tests find the files in
# $EMBER_TEST_MODELS. A model is regenerated only if a file of it is missing or older than the
# generator or this script (so changing an option below regenerates); every model is verified on
# each run (--verify: load, special tokens, EOG, round trip, decode, image encode).
#
# Files written:
#   glimmer-tiny.gguf + mmproj-glimmer-tiny.gguf   muse-glimmer, f32, projector muse-glimmer
#   qwen3-tiny.gguf                                qwen3 (ChatML with <think>), f32
#   qwen3-train-tiny.gguf                          qwen3, f32, untied output (ember train)
#   qwen3vl-tiny.gguf + mmproj-qwen3vl-tiny.gguf   qwen3vl, f32, projector qwen3vl_merger
cmake_minimum_required(VERSION 3.25)

if(NOT GEN OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DGEN=<ember-genmodel> -DOUT=<dir> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
if(NOT EXISTS "${GEN}")
  message(FATAL_ERROR "generator not found: ${GEN} (build the ember-genmodel target)")
endif()
file(MAKE_DIRECTORY "${OUT}")

# ember_gen_model(TEXT file [MMPROJ file] ARGS generator-options...)
function(ember_gen_model)
  cmake_parse_arguments(M "" "TEXT;MMPROJ" "ARGS" ${ARGN})
  set(text "${OUT}/${M_TEXT}")
  set(files "${text}")
  set(gen_args ${M_ARGS} --out "${text}")
  set(verify_args --verify "${text}")
  if(M_MMPROJ)
    list(APPEND files "${OUT}/${M_MMPROJ}")
    list(APPEND gen_args --mmproj "${OUT}/${M_MMPROJ}")
    list(APPEND verify_args --mmproj "${OUT}/${M_MMPROJ}")
  endif()

  set(stale FALSE)
  foreach(f IN LISTS files)
    # IS_NEWER_THAN is also true when f is missing or the stamps are equal
    if("${GEN}" IS_NEWER_THAN "${f}" OR "${CMAKE_CURRENT_LIST_FILE}" IS_NEWER_THAN "${f}")
      set(stale TRUE)
    endif()
  endforeach()

  if(stale)
    execute_process(COMMAND "${GEN}" ${gen_args}
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "ember-genmodel ${gen_args} failed (${rc}):\n${out}${err}")
    endif()
    message(STATUS "${out}")
  else()
    message(STATUS "up to date: ${files}")
  endif()

  execute_process(COMMAND "${GEN}" ${verify_args}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "ember-genmodel ${verify_args} failed (${rc}):\n${out}${err}")
  endif()
  message(STATUS "verified ${M_TEXT} ${M_MMPROJ}")
endfunction()

ember_gen_model(TEXT glimmer-tiny.gguf MMPROJ mmproj-glimmer-tiny.gguf
  ARGS --arch muse-glimmer --seed 42)
ember_gen_model(TEXT qwen3-tiny.gguf
  ARGS --arch qwen3 --seed 42)
# a larger vocabulary, for the sampler's shortcuts that only pay on one (test_sampler)
ember_gen_model(TEXT glimmer-vocab4k.gguf
  ARGS --arch muse-glimmer --n-vocab 4096 --seed 44)
ember_gen_model(TEXT qwen3-train-tiny.gguf
  ARGS --arch qwen3 --untied --n-head 4 --n-head-kv 4 --seed 43)
ember_gen_model(TEXT qwen3vl-tiny.gguf MMPROJ mmproj-qwen3vl-tiny.gguf
  ARGS --arch qwen3vl --seed 42)
