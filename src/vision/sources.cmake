# src/vision: images (decoders, crop, resize, PNG output), boxes read from model text, drawing.
pkg_check_modules(LIBJPEG REQUIRED IMPORTED_TARGET libjpeg)
pkg_check_modules(LIBWEBP REQUIRED IMPORTED_TARGET libwebp libwebpdemux)
find_package(GIF REQUIRED)
target_sources(ember PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/boxes.c
  ${CMAKE_CURRENT_LIST_DIR}/decode.c
  ${CMAKE_CURRENT_LIST_DIR}/draw.c
  ${CMAKE_CURRENT_LIST_DIR}/image.c)
target_link_libraries(ember PRIVATE PkgConfig::LIBJPEG PkgConfig::LIBWEBP GIF::GIF)
