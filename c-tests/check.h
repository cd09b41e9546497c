/* check.h: the tiny harness every C test uses.
 *
 * Each test is one file with its own main(), registered with ctest by
 * c-tests/CMakeLists.txt (which globs test_*.c and links each twice: against
 * gort::gort and gort::gort_static). A test passes by exiting 0.
 *
 * CHECK(cond) and CHECK_EQ(a, b) print the failing expression with file,
 * line and both values, then _exit(1) the whole process: a failed check on
 * any goroutine or thread fails the test at once.
 *
 * Tests configure the runtime themselves (setenv before gort_init), so a
 * test binary run by hand behaves exactly as under ctest.
 */
#ifndef GORT_CHECK_H
#define GORT_CHECK_H

#include <gort.h>
#include <pthread.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            fflush(stderr);                                                      \
            _exit(1);                                                            \
        }                                                                        \
    } while (0)

#define CHECK_EQ(a, b)                                                           \
    do {                                                                         \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);          \
        if (check_a_ != check_b_) {                                              \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n", \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);             \
            fflush(stderr);                                                      \
            _exit(1);                                                            \
        }                                                                        \
    } while (0)

/* Checks a gort call that returns GORT_OK / a negative code, naming the code. */
#define CHECK_OK(call)                                                           \
    do {                                                                         \
        long long check_rc_ = (long long)(call);                                 \
        if (check_rc_ < 0) {                                                     \
            fprintf(stderr, "%s:%d: %s failed: %lld (%s)\n", __FILE__, __LINE__,  \
                    #call, check_rc_, gort_strerror((int)check_rc_));             \
            fflush(stderr);                                                      \
            _exit(1);                                                            \
        }                                                                        \
    } while (0)

/* The sanitizer this test program was built with (c-tests/CMakeLists.txt,
 * -DGORT_TEST_SANITIZER=address|thread), or NULL. A test skips, saying so,
 * the parts a sanitizer's runtime makes impossible: RLIMIT_AS (ASan and
 * TSan reserve terabytes of shadow address space), goroutine stack
 * overflows into guard pages (instrumented frames are larger and the
 * sanitizer's own SEGV handling gets in the way), a million goroutines
 * (TSan gives each goroutine a fiber, and its fibers count as threads). */
static inline const char *check_sanitizer(void) {
#ifdef GORT_TEST_SANITIZER
    return GORT_TEST_SANITIZER;
#else
    return NULL;
#endif
}

/* Exits 77 (skipped) with a message when built with -fsanitize=thread:
 * for tests that keep more goroutines alive than TSan's 8128 threads
 * (each goroutine is a TSan fiber, and fibers count as threads). */
#define CHECK_SKIP_UNDER_TSAN(why)                                               \
    do {                                                                         \
        if (check_sanitizer() && !strcmp(check_sanitizer(), "thread")) {         \
            printf("skipped: built with -fsanitize=thread (%s)\n", why);         \
            return 77;                                                           \
        }                                                                        \
    } while (0)

/* Exits 77 (skipped) with a message when built with a sanitizer. */
#define CHECK_SKIP_UNDER_SANITIZER(why)                                          \
    do {                                                                         \
        if (check_sanitizer()) {                                                 \
            printf("skipped: built with -fsanitize=%s (%s)\n", check_sanitizer(), why); \
            return 77;                                                           \
        }                                                                        \
    } while (0)

/* gort_dump_goroutines into buf (NUL-terminated, cut at cap - 1 bytes),
 * through a pipe that a helper thread drains so that a large dump cannot
 * block the writer. */
struct check_reader {
    int fd;
    char *buf;
    size_t cap, len;
};
static inline void *check_read_all(void *arg) {
    struct check_reader *r = (struct check_reader *)arg;
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->len, r->cap - 1 - r->len);
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    r->buf[r->len] = 0;
    return NULL;
}
static inline void check_dump_goroutines(char *buf, size_t cap) {
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    struct check_reader r = {pfd[0], buf, cap, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, check_read_all, &r) == 0);
    CHECK_EQ(gort_dump_goroutines(pfd[1]), GORT_OK);
    close(pfd[1]);
    pthread_join(t, NULL);
    close(pfd[0]);
}

#ifdef __cplusplus
#include <chrono>
/* C++ tests: polls p() every 100 us (parking the goroutine) until it
 * holds; after 60 s fails the test with "hang: <what>". */
template <class Pred>
void check_wait_until(Pred p, const char *what) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!p()) {
        if (std::chrono::steady_clock::now() > deadline) {
            fprintf(stderr, "hang: %s\n", what);
            CHECK(0);
        }
        gort_sleep(100000);
    }
}
#endif

static inline long check_gettid(void) { return (long)syscall(SYS_gettid); }

static inline int64_t check_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Program-mode boilerplate: gort_init, main goroutine = fn, gort_mstart.
 * The test passes when fn returns (the runtime then exits 0). */
static inline int check_run_main(int argc, char **argv, void (*fn)(void *)) {
    CHECK_OK(gort_init(argc, argv));
    int64_t id = gort_go(fn, NULL);
    CHECK_EQ(id, 1); /* the main goroutine is goroutine 1, as in Go */
    int rc = gort_mstart();
    fprintf(stderr, "gort_mstart returned %d (%s)\n", rc, gort_strerror(rc));
    return 1;
}

/* Runs this same executable again with extra arguments and environment
 * additions ("K=V" strings, NULL-terminated), capturing stderr into buf.
 * Returns the raw wait status. Used by tests whose subject ends the process
 * (stack overflow, exit codes, boot trace). */
static inline int check_run_self(char *const args[], char *const env_add[], char *buf, size_t bufsz) {
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        for (int i = 0; env_add && env_add[i]; i++)
            putenv(env_add[i]);
        /* Under valgrind (scripts/test.sh's valgrind leg sets
         * GORT_TEST_VALGRIND) /proc/self/exe is valgrind's own tool; its
         * readlink is faked to name the program, which --trace-children
         * then runs under valgrind too. */
        static char self[4096] = "/proc/self/exe";
        if (getenv("GORT_TEST_VALGRIND")) {
            ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
            if (k > 0)
                self[k] = 0;
        }
        char *argv[16];
        int n = 0;
        argv[n++] = self;
        for (int i = 0; args && args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(self, argv);
        _exit(127);
    }
    close(pfd[1]);
    size_t len = 0;
    for (;;) {
        ssize_t r = read(pfd[0], buf + len, bufsz - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == bufsz - 1)
            break;
    }
    buf[len] = 0;
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

/* main() of a test that runs `fn` as the main goroutine once per entry of
 * `procs` (e.g. "1,2,4"), each in a fresh process with GORT_MAXPROCS set:
 * the parent re-executes itself with argv[1] = "run", prints each child's
 * stderr and fails unless every child exits 0. */
static inline int check_run_procs(int argc, char **argv, void (*fn)(void *), const char *procs) {
    if (argc > 1 && !strcmp(argv[1], "run"))
        return check_run_main(argc, argv, fn);
    char list[64];
    snprintf(list, sizeof list, "%s", procs);
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        static char out[1 << 16];
        char env[32];
        snprintf(env, sizeof env, "GORT_MAXPROCS=%s", p);
        char *args[] = {(char *)"run", NULL};
        char *envs[] = {env, NULL};
        int64_t t0 = check_now_ns();
        int st = check_run_self(args, envs, out, sizeof out);
        fprintf(stderr, "--- %s: status 0x%x (%.0f ms)\n%s", env, st, (check_now_ns() - t0) / 1e6, out);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    return 0;
}

/* The whole main() of every test_example_* test: with "run" as argv[1] it is
 * the child and runs the example's own main (renamed example_main) with its
 * stdout joined to stderr; otherwise it re-executes itself at GORT_MAXPROCS
 * 1, 2 and 4 and fails unless each run exits 0 and printed every line of
 * `expected`. `label` names the example in failure messages, `test` the
 * test in its final line. */
typedef int (*check_example_fn)(int argc, char **argv);
static inline int check_example_main(int argc, char **argv, const char *label, const char *test,
                                     check_example_fn example_main, const char *const expected[],
                                     size_t nexpected) {
    if (argc > 1 && !strcmp(argv[1], "run")) {
        dup2(2, 1); /* the example's stdout goes to the parent's pipe too */
        char *example_argv[] = {argv[0], NULL};
        return example_main(1, example_argv);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const char *const procs[] = {"GORT_MAXPROCS=1", "GORT_MAXPROCS=2", "GORT_MAXPROCS=4"};
    for (int i = 0; i < 3; i++) {
        static char out[1 << 16];
        char *args[] = {(char *)"run", NULL};
        char *env[] = {(char *)procs[i], NULL};
        int64_t t0 = check_now_ns();
        int st = check_run_self(args, env, out, sizeof out);
        int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        for (size_t k = 0; k < nexpected; k++)
            if (!strstr(out, expected[k])) {
                fprintf(stderr, "missing \"%s\"\n", expected[k]);
                ok = 0;
            }
        if (!ok)
            fprintf(stderr, "%s with %s: status 0x%x; output:\n%s\n", label, procs[i], st, out);
        CHECK(ok);
        printf("--- %s (%.0f ms)\n%s", procs[i], (check_now_ns() - t0) / 1e6, out);
    }
    printf("%s: ok\n", test);
    return 0;
}

#endif
