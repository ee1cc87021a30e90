# ember eval's readers of untrusted input: JSONL datasets (plain, GSM8K, MATH, choices) and the
# matching of model answers against gold answers.
set(eval_sources ${PROJECT_SOURCE_DIR}/src/eval/dataset.c ${PROJECT_SOURCE_DIR}/src/eval/score.c
    ${PROJECT_SOURCE_DIR}/src/agent/vote.c ${EMBER_CORE_SOURCES})
add_executable(fuzz_eval_dataset ${CMAKE_CURRENT_LIST_DIR}/fuzz_eval_dataset.c ${eval_sources})
target_include_directories(fuzz_eval_dataset PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
target_compile_options(fuzz_eval_dataset PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_options(fuzz_eval_dataset PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_eval_dataset PRIVATE PkgConfig::JANSSON Threads::Threads m)
