/* qemu-exec-shim: lets emulated test programs exec themselves (and other
 * target binaries) under qemu-user without binfmt_misc.
 *
 * Why: qemu-user runs the guest's execve() on the host kernel. For
 * "/proc/self/exe" qemu substitutes the guest binary's path, but the host
 * kernel can only run an aarch64 ELF if binfmt_misc has a qemu handler
 * registered, which containers and CI machines often lack: execve then fails
 * with ENOEXEC (check_run_self's child exits 127).
 *
 * How: c-tests/CMakeLists.txt builds this file for the target and runs each
 * test as `qemu-<arch> -L <sysroot> -E LD_PRELOAD=<this .so> test`. The
 * exec family is interposed here: when the file to run is an ELF for this
 * shim's own architecture, the call becomes an execve of the host's qemu
 * with the same emulator arguments, LD_PRELOAD for the guest passed with -E
 * (and removed from the host environment, where the host's ld.so would
 * complain about it), and argv[0] preserved with -0. Everything else (host
 * programs such as /bin/sh) is exec'ed unchanged.
 *
 * Not covered: posix_spawn (glibc execs inside libc), fexecve.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "qemu-exec-shim-config.h" /* shim_emulator[]: {"/usr/bin/qemu-aarch64", "-L", ..., NULL} */

#if defined(__aarch64__)
#define SHIM_MACHINE EM_AARCH64
#elif defined(__x86_64__)
#define SHIM_MACHINE EM_X86_64
#elif defined(__riscv)
#define SHIM_MACHINE EM_RISCV
#elif defined(__arm__)
#define SHIM_MACHINE EM_ARM
#else
#error "qemu-exec-shim: add this architecture's EM_* constant"
#endif

extern char **environ;

static long raw_execve(const char *path, char *const argv[], char *const envp[]) {
    return syscall(SYS_execve, path, argv, envp);
}

/* Is path an ELF for the emulated architecture? */
static int is_guest_elf(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char hdr[EI_NIDENT + 4];
    ssize_t n = read(fd, hdr, sizeof hdr);
    close(fd);
    if (n < (ssize_t)sizeof hdr || memcmp(hdr, ELFMAG, SELFMAG) != 0)
        return 0;
    uint16_t machine;
    memcpy(&machine, hdr + EI_NIDENT + 2, sizeof machine); /* e_machine follows e_type */
    return machine == SHIM_MACHINE;
}

static const char *self_path(void) {
    static char buf[PATH_MAX];
    Dl_info info;
    if (buf[0] == 0 && dladdr((void *)&is_guest_elf, &info) && info.dli_fname)
        strncpy(buf, info.dli_fname, sizeof buf - 1);
    return buf;
}

int execve(const char *path, char *const argv[], char *const envp[]) {
    if (!is_guest_elf(path))
        return (int)raw_execve(path, argv, envp);

    /* /proc/self/exe and friends: qemu resolves the link to the guest binary. */
    char real[PATH_MAX];
    const char *target = path;
    if (strncmp(path, "/proc/", 6) == 0) {
        ssize_t r = readlink(path, real, sizeof real - 1);
        if (r > 0) {
            real[r] = 0;
            target = real;
        }
    }
    char dotted[PATH_MAX + 3];
    if (target[0] == '-') { /* never parsed as a qemu option */
        snprintf(dotted, sizeof dotted, "./%s", target);
        target = dotted;
    }

    /* The guest's LD_PRELOAD goes to qemu's -E; the host sees none. */
    const char *shim = self_path();
    const char *preload = NULL;
    size_t nenv = 0, nargs = 0, nemu = 0;
    for (; envp && envp[nenv]; nenv++)
        if (strncmp(envp[nenv], "LD_PRELOAD=", 11) == 0)
            preload = envp[nenv] + 11;
    for (; argv[nargs]; nargs++) {
    }
    for (; shim_emulator[nemu]; nemu++) {
    }
    char preload_arg[2 * PATH_MAX];
    if (preload && strstr(preload, shim))
        snprintf(preload_arg, sizeof preload_arg, "LD_PRELOAD=%s", preload);
    else if (preload && *preload)
        snprintf(preload_arg, sizeof preload_arg, "LD_PRELOAD=%s:%s", shim, preload);
    else
        snprintf(preload_arg, sizeof preload_arg, "LD_PRELOAD=%s", shim);

    char **env = calloc(nenv + 1, sizeof *env);
    char **args = calloc(nemu + nargs + 8, sizeof *args);
    if (!env || !args) {
        errno = ENOMEM;
        return -1;
    }
    size_t e = 0;
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(envp[i], "LD_PRELOAD=", 11) != 0)
            env[e++] = envp[i];
    env[e] = NULL;

    size_t a = 0;
    for (size_t i = 0; i < nemu; i++)
        args[a++] = (char *)shim_emulator[i];
    args[a++] = (char *)"-E";
    args[a++] = preload_arg;
    if (nargs > 0) {
        args[a++] = (char *)"-0";
        args[a++] = argv[0];
    }
    args[a++] = (char *)target;
    for (size_t i = 1; i < nargs; i++)
        args[a++] = argv[i];
    args[a] = NULL;

    raw_execve(shim_emulator[0], args, env);
    int err = errno;
    free(env);
    free(args);
    errno = err;
    return -1;
}

int execv(const char *path, char *const argv[]) { return execve(path, argv, environ); }

int execvpe(const char *file, char *const argv[], char *const envp[]) {
    if (strchr(file, '/'))
        return execve(file, argv, envp);
    int (*next)(const char *, char *const[], char *const[]) =
        (int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execvpe");
    return next ? next(file, argv, envp) : (errno = ENOSYS, -1);
}

int execvp(const char *file, char *const argv[]) { return execvpe(file, argv, environ); }

/* execl*: collect the variadic arguments, then as above. */
#define SHIM_COLLECT_ARGS(arg0, ap, out)                                                 \
    do {                                                                                 \
        size_t n_ = 1;                                                                   \
        va_list c_;                                                                      \
        va_copy(c_, ap);                                                                 \
        while (va_arg(c_, char *))                                                       \
            n_++;                                                                        \
        va_end(c_);                                                                      \
        out = alloca((n_ + 1) * sizeof(char *));                                         \
        out[0] = (char *)(arg0);                                                         \
        for (size_t i_ = 1; i_ <= n_; i_++)                                              \
            out[i_] = va_arg(ap, char *);                                                \
    } while (0)

int execl(const char *path, const char *arg, ...) {
    va_list ap;
    char **argv;
    va_start(ap, arg);
    SHIM_COLLECT_ARGS(arg, ap, argv);
    va_end(ap);
    return execve(path, argv, environ);
}

int execlp(const char *file, const char *arg, ...) {
    va_list ap;
    char **argv;
    va_start(ap, arg);
    SHIM_COLLECT_ARGS(arg, ap, argv);
    va_end(ap);
    return execvpe(file, argv, environ);
}

int execle(const char *path, const char *arg, ...) {
    va_list ap;
    char **argv;
    va_start(ap, arg);
    SHIM_COLLECT_ARGS(arg, ap, argv);
    char **envp = va_arg(ap, char **);
    va_end(ap);
    return execve(path, argv, envp);
}
