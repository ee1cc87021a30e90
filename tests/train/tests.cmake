# test_arith judges each trace line with the trainer's arith_step_of (internal to libember,
# compiled in); test_trace_truth checks that judge against hand-made false steps.
ember_test(test_arith ${CMAKE_CURRENT_LIST_DIR}/test_arith.c ${PROJECT_SOURCE_DIR}/src/train/arith.c
  ${EMBER_CORE_SOURCES} LIBS PkgConfig::JANSSON)
target_include_directories(test_arith PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
ember_test(test_train ${CMAKE_CURRENT_LIST_DIR}/test_train.c MODELS LIBS PkgConfig::JANSSON TIMEOUT 600)
# The step check of expert iteration: compiled from the trainer's source (internal to libember).
ember_test(test_trace_truth ${CMAKE_CURRENT_LIST_DIR}/test_trace_truth.c ${PROJECT_SOURCE_DIR}/src/train/arith.c
  ${EMBER_CORE_SOURCES})
target_include_directories(test_trace_truth PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
