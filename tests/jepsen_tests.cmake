# jepsen/: the history checkers' unit tests (Python 3 standard library only).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME jepsen_checker_test
    COMMAND ${Python3_EXECUTABLE} -m unittest discover
            -s ${PROJECT_SOURCE_DIR}/jepsen/tests -t ${PROJECT_SOURCE_DIR}/jepsen
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/jepsen)
  set_tests_properties(jepsen_checker_test PROPERTIES LABELS unit TIMEOUT 120)
else()
  message(WARNING "python3 not found: jepsen_checker_test is not registered")
endif()
