# Toolchain file: cross-compile for aarch64 Linux (glibc) from a Debian/Ubuntu
# host with gcc-aarch64-linux-gnu + libc6-dev-arm64-cross, and run the
# results (ctest, run-hello) under qemu-user.
#
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=scripts/aarch64-linux-gnu.cmake \
#         -DGORT_RUST_TARGET=aarch64-unknown-linux-gnu
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(GORT_AARCH64_SYSROOT /usr/aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;${GORT_AARCH64_SYSROOT})

# Libraries and headers come from the cross sysroot; programs from the host.
# Packages (gortConfig.cmake) are searched both there and in
# CMAKE_PREFIX_PATH as given, so an install prefix like build/stage works.
set(CMAKE_FIND_ROOT_PATH ${GORT_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
