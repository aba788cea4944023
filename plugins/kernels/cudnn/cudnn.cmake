# The cuDNN member of the kernel library (included from plugins/CMakeLists.txt when CUDA is on).
#
# Compiled for real when both the cuDNN 9 headers (cudnn.h) and the cuDNN frontend headers (fetched by
# scripts/fetch_headers.sh) are present; otherwise a stub that refuses with the fix. cuDNN is never
# linked: the frontend's dynamic-loading mode opens libcudnn.so.9 at run time.
set(ENCEXPORT_WITH_CUDNN "AUTO" CACHE STRING "build the cuDNN attention backend: AUTO (if headers are found), ON, OFF")
set(CUDNN_FRONTEND_INCLUDE "${ENCEXPORT_THIRD_PARTY}/cudnn_frontend/include")
# cudnn.h: $CUDNN_INCLUDE_DIR, the system's, or that of the nvidia-cudnn Python wheel next to torch.
find_package(Python COMPONENTS Interpreter QUIET)
if(Python_Interpreter_FOUND)
  execute_process(COMMAND "${Python_EXECUTABLE}" -c
    "import nvidia.cudnn as m, os; print(os.path.join(list(m.__path__)[0], 'include'))"
    OUTPUT_VARIABLE _cudnn_wheel_include OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
find_path(CUDNN_INCLUDE_DIR cudnn.h
  HINTS ENV CUDNN_INCLUDE_DIR ${_cudnn_wheel_include}
  PATHS /usr/include /usr/include/x86_64-linux-gnu /usr/local/cuda/include ${CUDAToolkit_INCLUDE_DIRS})

set(_cudnn_found OFF)
if(CUDNN_INCLUDE_DIR AND EXISTS "${CUDNN_FRONTEND_INCLUDE}/cudnn_frontend.h")
  set(_cudnn_found ON)
endif()
if(ENCEXPORT_WITH_CUDNN STREQUAL "ON" AND NOT _cudnn_found)
  message(FATAL_ERROR "ENCEXPORT_WITH_CUDNN=ON but cudnn.h (CUDNN_INCLUDE_DIR=${CUDNN_INCLUDE_DIR}) or the frontend "
                      "headers (${CUDNN_FRONTEND_INCLUDE}) are missing: install cuDNN 9 headers / run scripts/fetch_headers.sh")
endif()

target_sources(encexport_kernels PRIVATE ${CMAKE_CURRENT_LIST_DIR}/padding_rows.cu)
if(_cudnn_found AND NOT ENCEXPORT_WITH_CUDNN STREQUAL "OFF")
  message(STATUS "cuDNN attention backend: on (cudnn.h in ${CUDNN_INCLUDE_DIR})")
  set(_cudnn_source ${CMAKE_CURRENT_LIST_DIR}/cudnn_attention.cc)
  target_sources(encexport_kernels PRIVATE ${_cudnn_source})
  set_source_files_properties(${_cudnn_source} PROPERTIES
    INCLUDE_DIRECTORIES "${CUDNN_FRONTEND_INCLUDE};${CUDNN_INCLUDE_DIR};${CUDAToolkit_INCLUDE_DIRS}"
    COMPILE_DEFINITIONS "NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING;CUDNN_FRONTEND_SKIP_JSON_LIB")
  target_link_libraries(encexport_kernels PUBLIC ${CMAKE_DL_LIBS})
else()
  message(STATUS "cuDNN attention backend: off (backend 'cudnn' refuses; 'auto' never picks it)")
  target_sources(encexport_kernels PRIVATE ${CMAKE_CURRENT_LIST_DIR}/cudnn_absent.cc)
endif()
