# CUDA sources of the kernel library (included from plugins/CMakeLists.txt).
# The flash instances (one file per head size and dtype) are listed by generate.py.
include(${CMAKE_CURRENT_LIST_DIR}/instantiations/sources.cmake)
set(ENCEXPORT_CUDA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/dispatch.cu
  ${CMAKE_CURRENT_LIST_DIR}/reference_kernel.cu
  ${ENCEXPORT_FLASH_INSTANCE_SOURCES}
)
