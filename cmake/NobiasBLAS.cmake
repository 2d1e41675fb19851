# The BLAS backend, chosen by NOBIAS_BLAS:
#   OpenBLAS  (default) OpenBLAS::OpenBLAS; nobias calls its thread control directly.
#   Generic   any CBLAS that FindBLAS finds (choose it with BLA_VENDOR, or point
#             CMAKE_LIBRARY_PATH at its directory); adds cblas if the BLAS lacks it.
# Sets NOBIAS_BLAS_TARGET to the imported target to link. The installed nobiasConfig.cmake
# does not search again: it links the libraries this found, by path.
if(NOT DEFINED NOBIAS_BLAS)  # a project vendoring nobias may set a plain variable instead
  set(NOBIAS_BLAS "OpenBLAS" CACHE STRING "BLAS backend: OpenBLAS or Generic")
  set_property(CACHE NOBIAS_BLAS PROPERTY STRINGS OpenBLAS Generic)
endif()

if(NOBIAS_BLAS STREQUAL "OpenBLAS")
  include(NobiasOpenBLAS)
  set(NOBIAS_BLAS_TARGET OpenBLAS::OpenBLAS)
elseif(NOBIAS_BLAS STREQUAL "Generic")
  if(NOT TARGET NobiasBLAS::CBLAS)
    if(NOT BLAS_FOUND)
      find_package(BLAS REQUIRED)
    endif()
    # Some distributions ship the C interface as a library of its own.
    include(CMakePushCheckState)
    include(CheckFunctionExists)
    cmake_push_check_state(RESET)
    set(CMAKE_REQUIRED_LIBRARIES ${BLAS_LIBRARIES})
    set(CMAKE_REQUIRED_QUIET ON)
    check_function_exists(cblas_dgemm NOBIAS_BLAS_HAS_CBLAS)
    cmake_pop_check_state()
    set(cblas_libraries ${BLAS_LIBRARIES})
    if(NOT NOBIAS_BLAS_HAS_CBLAS)
      find_library(NOBIAS_CBLAS_LIBRARY NAMES cblas)
      if(NOT NOBIAS_CBLAS_LIBRARY)
        message(FATAL_ERROR "NOBIAS_BLAS=Generic: ${BLAS_LIBRARIES} has no cblas_dgemm and no "
                            "libcblas was found; install a CBLAS (Debian: libblas-dev)")
      endif()
      list(PREPEND cblas_libraries ${NOBIAS_CBLAS_LIBRARY})
    endif()
    find_path(NOBIAS_CBLAS_INCLUDE_DIR NAMES cblas.h PATH_SUFFIXES cblas openblas)
    if(NOT NOBIAS_CBLAS_INCLUDE_DIR)
      message(FATAL_ERROR "NOBIAS_BLAS=Generic: cblas.h not found; set NOBIAS_CBLAS_INCLUDE_DIR")
    endif()
    add_library(NobiasBLAS::CBLAS INTERFACE IMPORTED)
    set_target_properties(NobiasBLAS::CBLAS PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${NOBIAS_CBLAS_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${cblas_libraries};${CMAKE_DL_LIBS}")
    message(STATUS "nobias: generic CBLAS ${cblas_libraries}, cblas.h in ${NOBIAS_CBLAS_INCLUDE_DIR}")
  endif()
  set(NOBIAS_BLAS_TARGET NobiasBLAS::CBLAS)
else()
  message(FATAL_ERROR "NOBIAS_BLAS: expected OpenBLAS or Generic, got \"${NOBIAS_BLAS}\"")
endif()
