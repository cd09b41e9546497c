/* test_stats_env: the environment variables read at init and the stats
 * that reflect them.
 *
 * What:
 *  - GORT_MAXPROCS=3: gort_gomaxprocs() == 3 and stats.procs == 3;
 *  - GORT_STACKSIZE=256k: stats.stack_size >= 262144, and a goroutine can
 *    really use ~200 KiB of stack (a 200 KiB volatile array written end to
 *    end, plus a recursion of 40 x 1 KiB frames below it) without faulting;
 *  - gort_goid() is 0 on the main thread after gort_init (that is m0's g0,
 *    not a goroutine) and 1 in the main goroutine; at the start of main
 *    stats report 1 goroutine, 1 created, 3 procs, at least 2 threads (m0
 *    and sysmon) and idle_procs <= procs;
 *  - in re-exec'ed children: GOMAXPROCS=5 is used when GORT_MAXPROCS is
 *    unset; GORT_MAXPROCS wins when both are set; with neither set the CPU
 *    affinity mask decides (restricted with sched_setaffinity to 1 CPU ->
 *    1, and to 2 CPUs -> 2 when the machine has 2; unrestricted, the
 *    child sets GORT_DEBUG=containermaxprocs=0 so that a CPU quota on the
 *    test machine's cgroup cannot lower the count: test_cgroup_procs
 *    covers that bound); an empty GORT_MAXPROCS counts as unset; the
 *    default stack is at least 64 KiB.
 *
 * How: children report "PROCS=<n> STACK=<bytes>" on stderr (program-mode
 * init only, no mstart needed) and the parent checks the exact numbers.
 */
#define _GNU_SOURCE
#include "check.h"

#include <sched.h>
#include <stdatomic.h>

/* ---- children ---- */

static int child(const char *mode) {
    unsetenv("GORT_MAXPROCS");
    unsetenv("GOMAXPROCS");
    unsetenv("GORT_STACKSIZE");
    unsetenv("GORT_DEBUG");
    if (!strcmp(mode, "gomaxprocs")) {
        setenv("GOMAXPROCS", "5", 1);
    } else if (!strcmp(mode, "both")) {
        setenv("GORT_MAXPROCS", "3", 1);
        setenv("GOMAXPROCS", "5", 1);
    } else if (!strcmp(mode, "empty")) {
        setenv("GORT_MAXPROCS", "", 1);
        setenv("GOMAXPROCS", "2", 1);
    } else if (!strcmp(mode, "affinity1") || !strcmp(mode, "affinity2")) {
        int want = mode[8] - '0';
        cpu_set_t cur, set;
        CHECK(sched_getaffinity(0, sizeof cur, &cur) == 0);
        CPU_ZERO(&set);
        int n = 0;
        for (int c = 0; c < CPU_SETSIZE && n < want; c++)
            if (CPU_ISSET(c, &cur)) {
                CPU_SET(c, &set);
                n++;
            }
        CHECK_EQ(n, want);
        CHECK(sched_setaffinity(0, sizeof set, &set) == 0);
    } else if (!strcmp(mode, "default")) {
        setenv("GORT_DEBUG", "containermaxprocs=0", 1);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    CHECK_OK(gort_init(0, NULL));
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    CHECK_EQ(st.procs, gort_gomaxprocs());
    fprintf(stderr, "PROCS=%d STACK=%lld\n", gort_gomaxprocs(), (long long)st.stack_size);
    return 0;
}

static char out[1 << 14];

static void expect_child(const char *mode, int want_procs) {
    char *args[] = {(char *)mode, NULL};
    int st = check_run_self(args, NULL, out, sizeof out);
    int procs = -1;
    long long stack = -1;
    const char *p = strstr(out, "PROCS=");
    if (p)
        sscanf(p, "PROCS=%d STACK=%lld", &procs, &stack);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || procs != want_procs)
        fprintf(stderr, "child %s: status 0x%x, want PROCS=%d; stderr:\n%s\n", mode, st, want_procs, out);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    CHECK_EQ(procs, want_procs);
    CHECK(stack >= 64 * 1024);
    printf("child %-10s -> gomaxprocs %d, stack %lld\n", mode, procs, stack);
}

/* ---- the main process: GORT_MAXPROCS=3, GORT_STACKSIZE=256k ---- */

enum { BIG = 200 * 1024 };
static atomic_int deep_ok;

__attribute__((noinline)) static int recurse(int depth) {
    volatile char buf[1024];
    for (int i = 0; i < (int)sizeof buf; i++)
        buf[i] = (char)depth;
    if (depth == 0)
        return buf[0];
    return recurse(depth - 1) + buf[depth % 1024];
}

__attribute__((noinline)) static long use_big(void) {
    volatile char big[BIG];
    for (int i = BIG - 1; i >= 0; i--) /* from the top down, page by page in order */
        big[i] = (char)i;
    long sum = 0;
    for (int i = 0; i < BIG; i += 4096)
        sum += big[i];
    return sum + recurse(40); /* 40 more KiB below the array */
}

static void deep_g(void *arg) {
    (void)arg;
    long expect = 0;
    for (int i = 0; i < BIG; i += 4096)
        expect += (char)i;
    long got = use_big();
    CHECK_EQ(got - recurse(40), expect); /* recurse(40) is deterministic */
    atomic_store(&deep_ok, 1);
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_goid(), 1);
    CHECK_EQ(gort_gomaxprocs(), 3);
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    CHECK_EQ(st.procs, 3);
    CHECK_EQ(st.goroutines, 1);
    CHECK_EQ(st.goroutines_created, 1);
    CHECK(st.threads >= 2); /* m0 + sysmon */
    CHECK(st.idle_procs >= 0 && st.idle_procs <= st.procs);
    CHECK(st.stack_size >= 262144);
    printf("GORT_MAXPROCS=3 GORT_STACKSIZE=256k: procs %lld, stack_size %lld, threads %lld\n", (long long)st.procs,
           (long long)st.stack_size, (long long)st.threads);

    CHECK(gort_go(deep_g, NULL) > 1);
    while (!atomic_load(&deep_ok))
        gort_yield();
    printf("a goroutine used %d KiB of its stack without faulting\n", BIG / 1024 + 41);

    expect_child("gomaxprocs", 5);
    expect_child("both", 3);
    expect_child("empty", 2);
    expect_child("affinity1", 1);
    cpu_set_t cur;
    CHECK(sched_getaffinity(0, sizeof cur, &cur) == 0);
    if (CPU_COUNT(&cur) >= 2)
        expect_child("affinity2", 2);
    else
        printf("only one CPU available: affinity2 skipped\n");
    expect_child("default", CPU_COUNT(&cur));
    printf("test_stats_env: ok\n");
}

int main(int argc, char **argv) {
    if (argc > 1)
        return child(argv[1]);
    setenv("GORT_MAXPROCS", "3", 1);
    setenv("GORT_STACKSIZE", "256k", 1);
    unsetenv("GORT_DEBUG");
    CHECK_OK(gort_init(argc, argv));
    CHECK_EQ(gort_goid(), 0); /* m0's g0, not a goroutine */
    CHECK_EQ(gort_gomaxprocs(), 3);
    CHECK_EQ(gort_go(main_g, NULL), 1);
    CHECK_EQ(gort_goid(), 0);
    int rc = gort_mstart();
    fprintf(stderr, "gort_mstart returned %d (%s)\n", rc, gort_strerror(rc));
    return 1;
}
