/* bench.h: the small harness every gort benchmark in benches/ uses.
 *
 * A benchmark is one C program. It runs its shape `-runs R` times (after a
 * warm-up run where the shape calls for one), checks that every run computed
 * the right result, and prints one line per metric:
 *
 *   BENCH name=yield procs=1 impl=gort unit=ns/op median=23.4 runs=7 min=22.9 max=25.1
 *
 * followed by optional key=value fields of its own. Nothing about timings is
 * asserted; a wrong result prints "FAIL ..." on stderr and exits 1.
 *
 * Command line, common to every program here and to the peers in
 * benches/peers/ (Go and Boost.Fiber):
 *   -runs R    measured runs (default: the program's own)
 *   -n N       the size of the shape (iterations, goroutines; see each file)
 *   -child     internal: one run in this process, print "RESULT k=v ..."
 *              (programs that need a fresh process per run re-exec
 *              themselves, see bench_spawn_children)
 * The number of Ps comes from GORT_MAXPROCS as usual.
 */
#ifndef GORT_BENCH_H
#define GORT_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gort.h>

#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define BENCH_FAIL(...)                                                  \
    do {                                                                 \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
        fprintf(stderr, __VA_ARGS__);                                    \
        fputc('\n', stderr);                                             \
        fflush(stderr);                                                  \
        _exit(1);                                                        \
    } while (0)

#define BENCH_CHECK(cond)                                                \
    do {                                                                 \
        if (!(cond))                                                     \
            BENCH_FAIL("check failed: %s", #cond);                       \
    } while (0)

/* A gort call that must return GORT_OK (or a non-negative value). */
#define BENCH_OK(call)                                                   \
    do {                                                                 \
        long long bench_rc_ = (long long)(call);                         \
        if (bench_rc_ < 0)                                               \
            BENCH_FAIL("%s = %lld (%s)", #call, bench_rc_,               \
                       gort_strerror((int)bench_rc_));                   \
    } while (0)

static int bench_runs;       /* -runs */
static long bench_n;         /* -n */
static int bench_child;      /* -child */
static char **bench_argv;

static inline int64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Parses the common options; the defaults are the program's. */
static inline void bench_args(int argc, char **argv, int default_runs, long default_n) {
    bench_runs = default_runs;
    bench_n = default_n;
    bench_argv = argv;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-runs") && i + 1 < argc)
            bench_runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            bench_n = atol(argv[++i]);
        else if (!strcmp(argv[i], "-child"))
            bench_child = 1;
        else {
            fprintf(stderr, "usage: %s [-runs R] [-n N]\n", argv[0]);
            exit(2);
        }
    }
    if (bench_runs < 1 || bench_n < 1) {
        fprintf(stderr, "%s: -runs and -n must be positive\n", argv[0]);
        exit(2);
    }
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Prints the BENCH line for the values of one metric over the runs.
 * `extra` is "" or " key=value ...". */
static inline void bench_report(const char *name, int procs, const char *unit, double *v, int n,
                         const char *extra) {
    double med = bench_median(v, n);
    printf("BENCH name=%s procs=%d impl=gort unit=%s median=%.6g runs=%d min=%.6g max=%.6g%s\n",
           name, procs, unit, med, n, v[0], v[n - 1], extra ? extra : "");
    fflush(stdout);
}

/* Peak resident set of this process in KiB (getrusage). */
static inline long bench_maxrss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Current resident set in KiB (/proc/self/statm). */
static inline long bench_rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Lines of /proc/self/maps: the process's memory mappings. */
static inline long bench_map_count(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;
    if (f) {
        while ((c = fgetc(f)) != EOF)
            n += c == '\n';
        fclose(f);
    }
    return n;
}

/* Runs this program again with -child, once per run, each in a fresh
 * process (so that, e.g., peak RSS is that run's own). The child prints one
 * line "RESULT k1=v1 k2=v2 ..."; the values of `keys` are stored in
 * out[key][run]. Returns 0, or exits on a failed child. */
static inline void bench_spawn_children(int runs, int nkeys, const char *const *keys, double **out) {
    char nbuf[32];
    snprintf(nbuf, sizeof nbuf, "%ld", bench_n);
    for (int r = 0; r < runs; r++) {
        int fds[2];
        BENCH_CHECK(pipe(fds) == 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        char *args[] = {bench_argv[0], "-child", "-n", nbuf, NULL};
        pid_t pid;
        int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0)
            BENCH_FAIL("posix_spawn: %s", strerror(rc));
        close(fds[1]);
        FILE *f = fdopen(fds[0], "r");
        char line[1024], result[1024] = "";
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "RESULT ", 7))
                snprintf(result, sizeof result, "%s", line);
            else
                fputs(line, stdout);
        }
        fclose(f);
        int st;
        BENCH_CHECK(waitpid(pid, &st, 0) == pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            BENCH_FAIL("child run %d failed (status 0x%x)", r, st);
        for (int k = 0; k < nkeys; k++) {
            char pat[64];
            snprintf(pat, sizeof pat, " %s=", keys[k]);
            char *p = strstr(result, pat);
            if (!p)
                BENCH_FAIL("child run %d: no %s in '%s'", r, keys[k], result);
            out[k][r] = strtod(p + strlen(pat), NULL);
        }
    }
}

/* The main() of every in-process benchmark: gort in program mode, the
 * benchmark as the main goroutine. */
#define BENCH_MAIN(default_runs, default_n, main_goroutine)              \
    int main(int argc, char **argv) {                                    \
        bench_args(argc, argv, default_runs, default_n);                 \
        BENCH_OK(gort_init(argc, argv));                                 \
        BENCH_OK(gort_go(main_goroutine, NULL));                         \
        BENCH_OK(gort_mstart());                                         \
        return 1;                                                        \
    }

#endif /* GORT_BENCH_H */
