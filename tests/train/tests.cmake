ember_test(test_arith ${CMAKE_CURRENT_LIST_DIR}/test_arith.c LIBS PkgConfig::JANSSON)
ember_test(test_train ${CMAKE_CURRENT_LIST_DIR}/test_train.c MODELS LIBS PkgConfig::JANSSON TIMEOUT 600)
# The step check of expert iteration: compiled from the trainer's source (internal to libember).
ember_test(test_trace_truth ${CMAKE_CURRENT_LIST_DIR}/test_trace_truth.c ${PROJECT_SOURCE_DIR}/src/train/arith.c
  ${EMBER_CORE_SOURCES})
target_include_directories(test_trace_truth PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
