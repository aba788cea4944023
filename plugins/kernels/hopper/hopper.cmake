# The Hopper member of the kernel library (included from plugins/CMakeLists.txt when CUDA is on).
#
# wgmma and setmaxnreg exist only in the sm_90a target, which runs on compute capability 9.0 alone, so the
# family is an object library of its own, compiled for sm_90a whatever ENCEXPORT_CUDA_ARCHS lists (when it
# lists 90); the rest of the library keeps its architectures. Needs the CuTe headers (scripts/fetch_headers.sh).
#
# ENCEXPORT_HOPPER_HEAD_SIZES (cache or environment): "all" (default), "none", or a list such as "64;128".
# Each head size is two instances (fp16, bf16) of about a minute of one core each; CI builds only what its
# tests load. The dispatcher's table lists exactly the compiled head sizes.
include(${CMAKE_CURRENT_LIST_DIR}/../instantiations/sources.cmake)
if(NOT DEFINED ENCEXPORT_HOPPER_HEAD_SIZES)
  set(_hopper_default "$ENV{ENCEXPORT_HOPPER_HEAD_SIZES}")
  if(_hopper_default STREQUAL "")
    set(_hopper_default "all")
  endif()
  set(ENCEXPORT_HOPPER_HEAD_SIZES "${_hopper_default}" CACHE STRING "hopper family head sizes: all, none, or a list")
endif()
set(ENCEXPORT_CUTLASS_INCLUDE "${ENCEXPORT_THIRD_PARTY}/cutlass/include")

set(_hopper_sizes ${ENCEXPORT_HOPPER_HEAD_SIZES})
if(_hopper_sizes STREQUAL "all")
  set(_hopper_sizes ${ENCEXPORT_HOPPER_ALL_HEAD_SIZES})
elseif(_hopper_sizes STREQUAL "none")
  set(_hopper_sizes "")
endif()
set(_hopper_sources "")
set(_hopper_defines ENCEXPORT_WITH_HOPPER=1)
foreach(_d IN LISTS _hopper_sizes)
  if(NOT _d IN_LIST ENCEXPORT_HOPPER_ALL_HEAD_SIZES)
    message(FATAL_ERROR "ENCEXPORT_HOPPER_HEAD_SIZES: ${_d} is not one of ${ENCEXPORT_HOPPER_ALL_HEAD_SIZES} "
                        "(plugins/kernels/generate.py lists them)")
  endif()
  list(APPEND _hopper_sources ${ENCEXPORT_HOPPER_SOURCES_${_d}})
  list(APPEND _hopper_defines ENCEXPORT_HOPPER_HDIM${_d})
endforeach()

# An object library of the selected hopper instances (also compiled into the fault-injection test library).
function(encexport_hopper_objects name defines)
  add_library(${name} OBJECT ${_hopper_sources})
  set_target_properties(${name} PROPERTIES CUDA_ARCHITECTURES OFF)
  target_compile_options(${name} PRIVATE --expt-relaxed-constexpr -lineinfo "SHELL:-gencode=arch=compute_90a,code=sm_90a")
  # 80- and 96-wide wgmma tiles (P·V's N = head size) are CuTe's "extended" shapes.
  target_compile_definitions(${name} PRIVATE CUTE_SM90_EXTENDED_MMA_SHAPES_ENABLED ${defines})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../../include ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/..)
  target_include_directories(${name} SYSTEM PRIVATE "${ENCEXPORT_CUTLASS_INCLUDE}")
endfunction()

set(ENCEXPORT_HOPPER_DEFINES "")  # for the dispatcher's table; empty when the family is off
if(NOT "90" IN_LIST ENCEXPORT_CUDA_ARCHS)
  message(STATUS "hopper family: off (ENCEXPORT_CUDA_ARCHS=${ENCEXPORT_CUDA_ARCHS} has no 90)")
elseif(NOT EXISTS "${ENCEXPORT_CUTLASS_INCLUDE}/cute/tensor.hpp")
  message(STATUS "hopper family: off (no CuTe headers in ${ENCEXPORT_CUTLASS_INCLUDE}; run scripts/fetch_headers.sh)")
elseif(_hopper_sources STREQUAL "")
  message(STATUS "hopper family: off (ENCEXPORT_HOPPER_HEAD_SIZES=none)")
else()
  message(STATUS "hopper family: head sizes ${_hopper_sizes} (sm_90a)")
  encexport_hopper_objects(encexport_hopper "")
  target_sources(encexport_kernels PRIVATE $<TARGET_OBJECTS:encexport_hopper>)
  target_compile_definitions(encexport_kernels PRIVATE ${_hopper_defines})
  set(ENCEXPORT_HOPPER_DEFINES ${_hopper_defines})
endif()
