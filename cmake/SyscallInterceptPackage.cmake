# SyscallInterceptPackage.cmake -- install rules that let other projects consume an install:
# the CMake package (find_package(syscall_intercept) and the imported target
# syscall_intercept::syscall_intercept) under <libdir>/cmake/syscall_intercept, and the
# relocation of the pkg-config file.  Included by the
# top-level CMakeLists.txt after src/ defined the library target; it never builds anything.
include(CMakePackageConfigHelpers)

# The pkg-config file (libsyscall_intercept.pc.in, configured by the top-level CMakeLists.txt)
# finds the prefix relative to its own folder, ${pcfiledir}: an install stays usable wherever
# `cmake --install --prefix` or DESTDIR put it.
file(RELATIVE_PATH SI_PC_TO_PREFIX
  ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" SI_PC_TO_PREFIX "${SI_PC_TO_PREFIX}")

set(SI_CMAKE_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/syscall_intercept)

# src/CMakeLists.txt installs the library into the export set syscall_intercept-targets.
install(EXPORT syscall_intercept-targets
  NAMESPACE syscall_intercept::
  FILE syscall_intercept-targets.cmake
  DESTINATION ${SI_CMAKE_PACKAGE_DIR})

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/syscall_intercept-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/syscall_intercept-config.cmake
  INSTALL_DESTINATION ${SI_CMAKE_PACKAGE_DIR})
# 0.x releases: only the same minor version is compatible.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/syscall_intercept-config-version.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/syscall_intercept-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/syscall_intercept-config-version.cmake
  DESTINATION ${SI_CMAKE_PACKAGE_DIR})
