# CUDA-only targets of the kernel library (included from plugins/CMakeLists.txt when CUDA is on).

# libencexport_testapi.so: one extern "C" entry point over run_attention_cuda, for the Python GPU tests
# (encexport/_testapi.py, through ctypes) -- no ONNX Runtime needed to exercise the kernels -- and the
# capability query (encexport/capabilities.h), as libencexport_ort.so exports it.
add_library(encexport_testapi SHARED ${CMAKE_CURRENT_LIST_DIR}/testapi/testapi.cc)
target_link_libraries(encexport_testapi PRIVATE encexport_kernels)
target_link_options(encexport_testapi PRIVATE -Wl,--no-undefined ${ENCEXPORT_QUERY_LINK_OPTIONS})
set_target_properties(encexport_testapi PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ENCEXPORT_LIB_DIR}")

# encexport_sanitize_driver: a small executable that runs a reduced grid of both kernel families
# (including malformed cu_seqlens) so compute-sanitizer can check memory, races, init and sync quickly.
add_executable(encexport_sanitize_driver ${CMAKE_CURRENT_LIST_DIR}/tools/sanitize_driver.cc)
target_link_libraries(encexport_sanitize_driver PRIVATE encexport_kernels)
