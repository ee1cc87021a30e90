# The web app in a real browser: Debian's Chromium, headless, driven by playwright-core (npm)
# against `ember serve` on the generated model, serving the app built into cli/web/. Skipped
# (77) only when Chromium or playwright-core is missing; screenshots of each state go to
# build/<preset>/web-screenshots/.
find_program(NODE_EXECUTABLE NAMES node nodejs)
if(NODE_EXECUTABLE AND EMBER_WEB_BUILT)
  add_test(NAME web_test_web COMMAND ${NODE_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_web.mjs)
  set_tests_properties(web_test_web PROPERTIES
    ENVIRONMENT "OMP_WAIT_POLICY=passive;EMBER_TEST_MODELS=${EMBER_TEST_MODELS};EMBER_BIN=$<TARGET_FILE:ember-cli>;EMBER_WEB_SHOTS=${CMAKE_BINARY_DIR}/web-screenshots"
    FIXTURES_REQUIRED models SKIP_RETURN_CODE 77 TIMEOUT 2400 RUN_SERIAL TRUE)
endif()
