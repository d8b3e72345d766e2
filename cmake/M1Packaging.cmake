# cpack -G DEB from a build folder makes a Debian 12 package of m1, m1-studio and the PDF helper, with
# the demo model, the .desktop file and the icon. Library dependencies come from dpkg-shlibdeps; the
# Qt plugins the app loads at run time (not linked, so shlibdeps cannot see them) are listed here.
set(CPACK_PACKAGE_NAME "m1-studio")
set(CPACK_PACKAGE_VENDOR "M1 Studio")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "M1 Studio developers <dev@m1studio.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Read whole corpora with MiniMax-M1 on your own GPUs")
set(CPACK_PACKAGE_DESCRIPTION "M1 Studio packs PDFs, archives and codebases into one prompt of up to 1,000,000 tokens, runs MiniMax-M1 on an embedded engine (CPU, or NVIDIA GPUs when built with CUDA), streams its reasoning and answer, and keeps the engine state in SQLite so a session resumes without recomputing its prompt. Includes a tiny demo model whose answers are meaningless.")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "m1-studio")
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-qpa-plugins, libqt6svg6")
if(M1_HAVE_CUDA)
  # dpkg-shlibdeps refuses libraries no Debian package owns (the CUDA runtime, cuBLAS, NCCL): build
  # the package from the cpu preset, or install the CUDA libraries on the target by hand.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  message(STATUS "Packaging: CUDA build, so the .deb lists no library dependencies; package the cpu preset for Debian")
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
include(CPack)
