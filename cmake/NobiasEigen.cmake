# NOBIAS_EIGEN: float64 products on Eigen's GEMM compiled for AVX-512 (Debian: libeigen3-dev,
# header-only), in one source file built with AVX-512 flags and called only when the CPU and
# OS have AVX-512 (checked at run time). OpenBLAS 0.3.21 cannot be moved off the AVX2 core
# where the environment pins it, and this GEMM is also faster than its AVX-512 one here
# (bench/ANALYSIS.md, "float64 on AVX-512"). The BLAS stays the fallback: other CPUs, and
# NOBIAS_DGEMM=blas at run time. On by default where Eigen is found and the compiler is GCC
# or Clang on x86-64.
find_package(Eigen3 3.4 CONFIG QUIET)  # 3.4: the blocked kernel's interface called here
set(nobias_eigen_possible OFF)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(nobias_eigen_possible ON)
endif()
if(Eigen3_FOUND AND nobias_eigen_possible)
  set(nobias_eigen_default ON)
else()
  set(nobias_eigen_default OFF)
endif()
option(NOBIAS_EIGEN "float64 products on Eigen's AVX-512 GEMM where the CPU has AVX-512"
       ${nobias_eigen_default})
if(NOBIAS_EIGEN AND NOT Eigen3_FOUND)
  message(FATAL_ERROR "NOBIAS_EIGEN=ON but Eigen 3.4 was not found (Debian 12: libeigen3-dev); "
                      "set NOBIAS_EIGEN=OFF to run float64 products on the BLAS")
endif()
if(NOBIAS_EIGEN AND NOT nobias_eigen_possible)
  message(FATAL_ERROR "NOBIAS_EIGEN=ON needs GCC or Clang on x86-64 (AVX-512 code); "
                      "set NOBIAS_EIGEN=OFF")
endif()
if(NOBIAS_EIGEN)
  message(STATUS "nobias: float64 products on Eigen ${Eigen3_VERSION} (AVX-512) where the CPU has it")
else()
  message(STATUS "nobias: float64 products on the BLAS (NOBIAS_EIGEN off or Eigen not found)")
endif()
