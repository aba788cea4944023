# The fault-injection test libraries (plugins/kernels/fault_injection.h): the kernels compiled with
# ENCEXPORT_FAULT_INJECTION, plus a selector, so tests can break a kernel on purpose and see their checks fail.
# They land in the build folder, never in encexport/_lib or the wheel.
#
#   libencexport_faults_cpu.so   the CPU kernel (always: a few small C++ files)
#   libencexport_faults_cuda.so  the flash, reference and hopper kernels behind the test entry point (testapi.cc); only
#                                with -DENCEXPORT_FAULT_INJECTION_CUDA=ON, which the GPU check sets: it compiles
#                                every flash instance a second time
option(ENCEXPORT_FAULT_INJECTION_CUDA "build libencexport_faults_cuda.so (the GPU check's fault-injection tests)" OFF)
set(ENCEXPORT_FAULTS_DIR "${CMAKE_CURRENT_BINARY_DIR}/faults")
set(_faults_common
  ${CMAKE_CURRENT_LIST_DIR}/fault_select.cc
  ${CMAKE_CURRENT_LIST_DIR}/../common/params.cc
  ${CMAKE_CURRENT_LIST_DIR}/../common/validate.cc
  ${CMAKE_CURRENT_LIST_DIR}/../common/node_attributes.cc
  ${CMAKE_CURRENT_LIST_DIR}/../cpu/attention_cpu.cc)

add_library(encexport_faults_cpu SHARED ${_faults_common} ${CMAKE_CURRENT_LIST_DIR}/cpu_entry.cc)
target_include_directories(encexport_faults_cpu PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../include)
target_compile_definitions(encexport_faults_cpu PRIVATE ENCEXPORT_FAULT_INJECTION=1)
target_link_options(encexport_faults_cpu PRIVATE -Wl,--no-undefined)
set_target_properties(encexport_faults_cpu PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ENCEXPORT_FAULTS_DIR}")

if(ENCEXPORT_WITH_CUDA AND ENCEXPORT_FAULT_INJECTION_CUDA)
  # No cuDNN: the faults are injected into flash and reference, and cudnn_absent.cc keeps the table complete.
  add_library(encexport_faults_cuda SHARED ${_faults_common} ${ENCEXPORT_CUDA_SOURCES}
    ${CMAKE_CURRENT_LIST_DIR}/../kernels/cudnn/padding_rows.cu
    ${CMAKE_CURRENT_LIST_DIR}/../kernels/cudnn/cudnn_absent.cc
    ${CMAKE_CURRENT_LIST_DIR}/../kernels/testapi/testapi.cc)
  target_include_directories(encexport_faults_cuda PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../include)
  target_compile_definitions(encexport_faults_cuda PRIVATE ENCEXPORT_FAULT_INJECTION=1 ENCEXPORT_WITH_CUDA=1)
  if(ENCEXPORT_HOPPER_DEFINES)  # the hopper family too, where the build has it
    encexport_hopper_objects(encexport_faults_hopper ENCEXPORT_FAULT_INJECTION=1)
    target_sources(encexport_faults_cuda PRIVATE $<TARGET_OBJECTS:encexport_faults_hopper>)
    target_compile_definitions(encexport_faults_cuda PRIVATE ${ENCEXPORT_HOPPER_DEFINES})
  endif()
  target_compile_options(encexport_faults_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>)
  target_link_libraries(encexport_faults_cuda PRIVATE CUDA::cudart_static)
  target_link_options(encexport_faults_cuda PRIVATE -Wl,--no-undefined)
  set_target_properties(encexport_faults_cuda PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ENCEXPORT_FAULTS_DIR}")
endif()
