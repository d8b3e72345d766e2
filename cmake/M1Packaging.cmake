# cpack -G DEB from a build folder makes a Debian package of m1 and m1-studio.
set(CPACK_PACKAGE_NAME "m1-studio")
set(CPACK_PACKAGE_VENDOR "M1 Studio")
set(CPACK_PACKAGE_CONTACT "M1 Studio developers <dev@m1studio.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Read whole corpora with MiniMax-M1 on your own GPUs")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
