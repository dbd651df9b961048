include(GoogleTest)

# Builds every unit-labelled test (and what those tests run), e.g. for the sanitizer pass.
add_custom_target(unit_tests)

# claims_add_test(NAME name LABEL unit|integration|e2e SOURCES ... LIBS ... [TIMEOUT seconds])
# One GoogleTest executable, registered with ctest under its label.
function(claims_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main
                                          claims::warnings)
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  if(T_LABEL STREQUAL "unit")
    add_dependencies(unit_tests ${T_NAME})
  endif()
  # COST: ctest -jN starts the tests allowed the longest first (until it has timings of its own in
  # Testing/Temporary/CTestCostData.txt), so that a long e2e test does not start last and run
  # alone at the end. PROCESSORS: an e2e test runs several processes (services, dev broker) and
  # its timing matters, so it takes 2 of ctest's N slots: at -j4 at most two run at once, while
  # unit and integration tests, which mostly wait on the broker and the disk, fill the rest.
  set(slots 1)
  if(T_LABEL STREQUAL "e2e")
    set(slots 2)
  endif()
  gtest_discover_tests(${T_NAME}
                       PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT} COST ${T_TIMEOUT}
                                  PROCESSORS ${slots}
                       DISCOVERY_TIMEOUT 60)
endfunction()
