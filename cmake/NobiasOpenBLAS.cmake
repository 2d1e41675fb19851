# Provides the imported target OpenBLAS::OpenBLAS. Debian's OpenBLASConfig.cmake sets
# only variables, so the target is built from them (or from a plain search).
if(TARGET OpenBLAS::OpenBLAS)
  return()
endif()

find_package(OpenBLAS CONFIG QUIET)
if(NOT OpenBLAS_LIBRARIES)
  find_library(OpenBLAS_LIBRARIES NAMES openblas)
  find_path(OpenBLAS_INCLUDE_DIRS NAMES cblas.h PATH_SUFFIXES openblas)
endif()
if(NOT OpenBLAS_LIBRARIES OR NOT OpenBLAS_INCLUDE_DIRS)
  message(FATAL_ERROR "OpenBLAS not found: install libopenblas-dev (./dev does this)")
endif()

add_library(OpenBLAS::OpenBLAS INTERFACE IMPORTED)
set_target_properties(OpenBLAS::OpenBLAS PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${OpenBLAS_INCLUDE_DIRS}"
  INTERFACE_LINK_LIBRARIES "${OpenBLAS_LIBRARIES}")
message(STATUS "nobias: OpenBLAS ${OpenBLAS_VERSION} at ${OpenBLAS_LIBRARIES}")
