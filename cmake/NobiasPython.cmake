# Finds what the Python bindings need: Debian's /usr/bin/python3 (whose numpy the tests use; a
# python3 earlier on PATH may be another interpreter without it) and pybind11. Sets
# NOBIAS_PYTHON_AVAILABLE; the NOBIAS_PYTHON option defaults to it at top level.
if(NOT DEFINED Python_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "Interpreter the bindings are built for")
endif()
# pybind11 then uses CMake's FindPython, with the interpreter above.
set(PYBIND11_FINDPYTHON ON)
find_package(Python 3 QUIET COMPONENTS Interpreter Development.Module)
if(Python_FOUND)
  find_package(pybind11 CONFIG QUIET)
endif()
if(Python_FOUND AND pybind11_FOUND)
  set(NOBIAS_PYTHON_AVAILABLE ON)
else()
  set(NOBIAS_PYTHON_AVAILABLE OFF)
endif()
