# Finds NCCL under NCCL_ROOT, the CUDA root, or a Python site-packages nvidia/nccl folder
# (hosts with a Python CUDA stack keep it there). Defines NCCL::nccl and M1_HAVE_NCCL.
set(_nccl_hints ${NCCL_ROOT} $ENV{NCCL_ROOT} ${CUDAToolkit_LIBRARY_ROOT} /usr/local/cuda)
execute_process(COMMAND python3 -c "import nvidia.nccl; print(list(nvidia.nccl.__path__)[0])"
  OUTPUT_VARIABLE _py_nccl OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _py_rc)
if(_py_rc EQUAL 0 AND _py_nccl)
  list(APPEND _nccl_hints ${_py_nccl})
endif()
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_nccl_hints} PATH_SUFFIXES include)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${_nccl_hints} PATH_SUFFIXES lib lib64)
if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
  file(STRINGS ${NCCL_INCLUDE_DIR}/nccl.h _nccl_ver REGEX "#define NCCL_(MAJOR|MINOR|PATCH) ")
  string(REGEX REPLACE ".*NCCL_MAJOR ([0-9]+).*NCCL_MINOR ([0-9]+).*NCCL_PATCH ([0-9]+).*" "\\1.\\2.\\3" M1_NCCL_VERSION "${_nccl_ver}")
  add_library(NCCL::nccl UNKNOWN IMPORTED)
  set_target_properties(NCCL::nccl PROPERTIES IMPORTED_LOCATION ${NCCL_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${NCCL_INCLUDE_DIR})
  set(M1_HAVE_NCCL ON)
  message(STATUS "NCCL ${M1_NCCL_VERSION}: ${NCCL_LIBRARY}")
else()
  message(STATUS "NCCL not found (set NCCL_ROOT): multi-GPU is off, one GPU still works")
endif()
