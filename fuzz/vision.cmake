# src/vision's readers of untrusted input: image files (PNG, JPEG, WebP, GIF, BMP) and boxes
# in model text.
set(vision_src ${PROJECT_SOURCE_DIR}/src/vision)
set(vision_sources ${vision_src}/image.c ${vision_src}/decode.c ${vision_src}/boxes.c ${vision_src}/draw.c
    ${EMBER_CORE_SOURCES})
foreach(target fuzz_vision_image fuzz_vision_boxes)
  add_executable(${target} ${CMAKE_CURRENT_LIST_DIR}/${target}.c ${vision_sources})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${target} PRIVATE PkgConfig::LIBPNG PkgConfig::LIBJPEG PkgConfig::LIBWEBP GIF::GIF
    PkgConfig::JANSSON m)
endforeach()
