# tests/vision: images (formats, errors, crop, boxes), the engine's image input, and images
# through runs and the CLI. fixtures.c writes the test images with the formats' own libraries.
add_library(ember_vision_fixtures STATIC ${CMAKE_CURRENT_LIST_DIR}/fixtures.c)
target_link_libraries(ember_vision_fixtures PUBLIC PkgConfig::LIBPNG PkgConfig::LIBJPEG PkgConfig::LIBWEBP GIF::GIF)
target_include_directories(ember_vision_fixtures PUBLIC ${CMAKE_CURRENT_LIST_DIR})
pkg_check_modules(LIBWEBP_ENC REQUIRED IMPORTED_TARGET libwebp)
ember_test(test_vision_images ${CMAKE_CURRENT_LIST_DIR}/test_vision_images.c LIBS ember_vision_fixtures TIMEOUT 120)
ember_test(test_vision_engine ${CMAKE_CURRENT_LIST_DIR}/test_vision_engine.c MODELS LIBS ember_vision_fixtures TIMEOUT 300)
ember_test(test_vision_cli ${CMAKE_CURRENT_LIST_DIR}/test_vision_cli.c MODELS LIBS ember_vision_fixtures PkgConfig::JANSSON TIMEOUT 300)
ember_test(test_vision_run ${CMAKE_CURRENT_LIST_DIR}/test_vision_run.c MODELS LIBS ember_vision_fixtures PkgConfig::JANSSON TIMEOUT 300)
ember_test(test_vision_render ${CMAKE_CURRENT_LIST_DIR}/test_vision_render.c TIMEOUT 60)
