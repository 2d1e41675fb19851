# NOBIAS_ONEDNN: float32 products on oneDNN's dnnl_sgemm (Debian: libdnnl-dev), which picks its
# instruction set from the CPU at run time, so AVX-512 runs where OpenBLAS 0.3.21 would fall
# back or is pinned to AVX2. float64 stays on the BLAS, which remains the fallback
# (NOBIAS_SGEMM=blas at run time). On by default where oneDNN is found.
#
# Linked by library and header, not through oneDNN's CMake package, which wants OpenCL too.
find_library(NOBIAS_DNNL_LIBRARY dnnl)
find_path(NOBIAS_DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h)
if(NOBIAS_DNNL_LIBRARY AND NOBIAS_DNNL_INCLUDE_DIR)
  set(nobias_onednn_default ON)
else()
  set(nobias_onednn_default OFF)
endif()
option(NOBIAS_ONEDNN "float32 products on oneDNN's sgemm (libdnnl-dev) instead of the BLAS"
       ${nobias_onednn_default})
if(NOBIAS_ONEDNN AND NOT (NOBIAS_DNNL_LIBRARY AND NOBIAS_DNNL_INCLUDE_DIR))
  message(FATAL_ERROR "NOBIAS_ONEDNN=ON but oneDNN was not found (Debian: libdnnl-dev); "
                      "set NOBIAS_ONEDNN=OFF to run float32 products on the BLAS")
endif()
if(NOBIAS_ONEDNN)
  message(STATUS "nobias: float32 products on oneDNN (${NOBIAS_DNNL_LIBRARY})")
else()
  message(STATUS "nobias: float32 products on the BLAS (NOBIAS_ONEDNN off or oneDNN not found)")
endif()
