/* test_misuse: every misuse of the API returns its exact error code and
 * leaves the runtime working.
 *
 * What (in this process, in order):
 *  - before init: gort_go, gort_yield, gort_goid, gort_numgoroutine,
 *    gort_gomaxprocs, gort_stats (also with NULL), gort_mstart and
 *    gort_goexit return GORT_ENOTINIT; gort_go(NULL) too (not initialised
 *    comes first);
 *  - gort_strerror: every code non-NULL and distinct, an unknown code gets
 *    a text containing "unknown"; gort_version() == "%d.%d.%d" of the
 *    GORT_VERSION_* macros;
 *  - after gort_init, on the init thread before gort_mstart: gort_init and
 *    gort_init_lib -> GORT_EALREADY; gort_go(NULL) -> GORT_EINVAL;
 *    gort_stats(NULL) -> GORT_EINVAL; gort_mstart with no main goroutine
 *    -> GORT_EINVAL; gort_goexit (not a goroutine) -> GORT_EPERM;
 *    gort_goid() == 0; gort_yield() == GORT_OK; gort_mstart from another
 *    pthread -> GORT_EPERM (before and after the main goroutine exists);
 *  - on the main goroutine: gort_mstart -> GORT_EPERM, gort_init ->
 *    GORT_EALREADY, gort_go(NULL) -> GORT_EINVAL; on another goroutine
 *    gort_mstart -> GORT_EPERM; on a foreign pthread gort_goexit and
 *    gort_mstart -> GORT_EPERM, gort_goid == 0; after all of it 1000
 *    goroutines still run exactly once each.
 * In re-exec'ed children:
 *  - "env": each malformed variable (GORT_MAXPROCS=0, GORT_MAXPROCS=abc,
 *    GOMAXPROCS=abc, GORT_STACKSIZE=12x, GORT_STACKSIZE=4k,
 *    GORT_DEBUG=inittrace=maybe, GORT_DEBUG=guard=steel, and the unknown
 *    key or item of GORT_DEBUG=bogus=1, =garbage, =inittrace=1,unknown=7)
 *    makes gort_init
 *    (and gort_init_lib) fail with GORT_EINVAL, naming the variable on
 *    stderr, and leaves the runtime uninitialised (gort_go ->
 *    GORT_ENOTINIT); a retry with the variable fixed succeeds and runs a
 *    goroutine;
 *  - "enomem": after init, RLIMIT_AS is lowered to the current size +
 *    512 MiB; goroutines that wait on a gate are spawned until gort_go
 *    returns GORT_ENOMEM (at least 1000 must succeed first, capped at
 *    1,000,000); the gate opens, every one of them completes, and 1000 more
 *    goroutines (reusing the freed stacks) still spawn and run under the
 *    same limit; the child exits 0 by returning from main. Run with the
 *    default stack size and with GORT_STACKSIZE=16k (see run_enomem for
 *    the runtime bug the latter used to reproduce every time). Where
 *    RLIMIT_AS is accepted but not enforced (qemu-user) the child notices
 *    with a probe mapping and this part is skipped, saying so.
 *  - "initfail": gort_init_lib failing part-way leaves the runtime
 *    re-initialisable: with RLIMIT_NOFILE at the number of open fds the
 *    netpoller cannot be made (GORT_ENOMEM); with GORT_STACKSIZE=1g and
 *    RLIMIT_AS 512 MiB above the current size the runtime.main goroutine
 *    cannot get a stack, after the scheduler was built (GORT_ENOMEM); each
 *    time gort_go says GORT_ENOTINIT; with the limits restored the third
 *    gort_init_lib returns GORT_OK and 100 goroutines run exactly once.
 *    The RLIMIT_AS step is skipped where the limit is not enforced.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define CAP_NS (60LL * 1000000000LL)

static void nop(void *arg) { (void)arg; }

static void wait_counter(atomic_int *v, int want, const char *what) {
    int64_t deadline = check_now_ns() + CAP_NS;
    while (atomic_load(v) < want) {
        if (check_now_ns() > deadline) {
            fprintf(stderr, "hang: %s %d of %d\n", what, atomic_load(v), want);
            CHECK(0);
        }
        gort_yield();
    }
}

/* ------------------------------------------------------------------ env */

static void bad_env(const char *key, const char *val) {
    setenv(key, val, 1);
    fprintf(stderr, "TRY %s=%s\n", key, val);
    CHECK_EQ(gort_init(0, NULL), GORT_EINVAL);
    CHECK_EQ(gort_init_lib(0, NULL), GORT_EINVAL);
    CHECK_EQ(gort_go(nop, NULL), GORT_ENOTINIT);
    CHECK_EQ(gort_goid(), GORT_ENOTINIT);
    CHECK_EQ(gort_gomaxprocs(), GORT_ENOTINIT);
    unsetenv(key);
}

static atomic_int env_ran;
static void env_g(void *arg) {
    (void)arg;
    atomic_store(&env_ran, 1);
}

static int child_env(void) {
    unsetenv("GORT_MAXPROCS");
    unsetenv("GOMAXPROCS");
    unsetenv("GORT_STACKSIZE");
    unsetenv("GORT_DEBUG");
    bad_env("GORT_MAXPROCS", "0");
    bad_env("GORT_MAXPROCS", "abc");
    bad_env("GORT_MAXPROCS", "1025");
    bad_env("GOMAXPROCS", "abc");
    bad_env("GORT_STACKSIZE", "12x");
    bad_env("GORT_STACKSIZE", "4k");
    bad_env("GORT_DEBUG", "inittrace=maybe");
    bad_env("GORT_DEBUG", "guard=steel");
    bad_env("GORT_DEBUG", "bogus=1");
    bad_env("GORT_DEBUG", "garbage");
    bad_env("GORT_DEBUG", "inittrace=1,unknown=7");
    /* fixed: the retry succeeds (lib mode so this thread stays ours) */
    setenv("GORT_MAXPROCS", "2", 1);
    setenv("GORT_STACKSIZE", "128k", 1);
    setenv("GORT_DEBUG", "inittrace=0", 1);
    CHECK_EQ(gort_init_lib(0, NULL), GORT_OK);
    CHECK_EQ(gort_gomaxprocs(), 2);
    struct gort_stats st;
    CHECK_EQ(gort_stats(&st), GORT_OK);
    CHECK(st.stack_size >= 128 * 1024);
    CHECK(gort_go(env_g, NULL) > 0);
    int64_t deadline = check_now_ns() + CAP_NS;
    while (!atomic_load(&env_ran)) {
        CHECK(check_now_ns() < deadline);
        usleep(1000);
    }
    fprintf(stderr, "ENV-RETRY-OK\n");
    return 0;
}

/* ------------------------------------------------------------- initfail */

static atomic_int initfail_runs[100];
static void initfail_g(void *arg) { atomic_fetch_add(&initfail_runs[(intptr_t)arg], 1); }

static int child_initfail(void) {
    unsetenv("GORT_MAXPROCS");
    unsetenv("GOMAXPROCS");
    unsetenv("GORT_DEBUG");
    setenv("GORT_STACKSIZE", "1g", 1);
    struct rlimit saved_nofile, saved_as, rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &saved_nofile) == 0);
    CHECK(getrlimit(RLIMIT_AS, &saved_as) == 0);

    /* 1. no fd left for epoll: fails before the scheduler is published */
    int lowest = dup(0);
    CHECK(lowest >= 0);
    close(lowest);
    rl = saved_nofile;
    rl.rlim_cur = (rlim_t)lowest;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK_EQ(gort_init_lib(0, NULL), GORT_ENOMEM);
    CHECK(setrlimit(RLIMIT_NOFILE, &saved_nofile) == 0);
    CHECK_EQ(gort_go(initfail_g, NULL), GORT_ENOTINIT);
    fprintf(stderr, "INITFAIL-NOFILE-OK\n");

    /* 2. no address space for a 1 GiB stack: fails after it */
    long page = sysconf(_SC_PAGESIZE), vm_pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    CHECK(fscanf(f, "%ld %ld", &vm_pages, &rss) == 2);
    fclose(f);
    rl = saved_as;
    rl.rlim_cur = (rlim_t)vm_pages * (rlim_t)page + (512UL << 20);
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
    void *probe = mmap(NULL, 1UL << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (probe == MAP_FAILED) {
        CHECK_EQ(gort_init_lib(0, NULL), GORT_ENOMEM);
        CHECK(setrlimit(RLIMIT_AS, &saved_as) == 0);
        CHECK_EQ(gort_go(initfail_g, NULL), GORT_ENOTINIT);
        fprintf(stderr, "INITFAIL-AS-OK\n");
    } else {
        munmap(probe, 1UL << 30);
        CHECK(setrlimit(RLIMIT_AS, &saved_as) == 0);
        fprintf(stderr, "INITFAIL-AS-SKIPPED (RLIMIT_AS not enforced here)\n");
    }

    /* 3. the retry works */
    CHECK_EQ(gort_init_lib(0, NULL), GORT_OK);
    for (intptr_t i = 0; i < 100; i++)
        CHECK(gort_go(initfail_g, (void *)i) > 0);
    int64_t deadline = check_now_ns() + CAP_NS;
    for (int i = 0; i < 100; i++) {
        while (atomic_load(&initfail_runs[i]) == 0) {
            CHECK(check_now_ns() < deadline);
            usleep(1000);
        }
    }
    usleep(10000);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(atomic_load(&initfail_runs[i]), 1);
    fprintf(stderr, "INITFAIL-RETRY-OK\n");
    return 0;
}

/* --------------------------------------------------------------- enomem */

static atomic_int gate, completed;

static void gated(void *arg) {
    (void)arg;
    while (!atomic_load(&gate))
        gort_yield();
    atomic_fetch_add(&completed, 1);
}

static void enomem_main(void *arg) {
    (void)arg;
    long page = sysconf(_SC_PAGESIZE), vm_pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    CHECK(fscanf(f, "%ld %ld", &vm_pages, &rss) == 2);
    fclose(f);
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)vm_pages * (rlim_t)page + (512UL << 20);
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
    /* qemu-user accepts RLIMIT_AS but does not apply it (it would starve the
     * emulator itself): probe with a mapping larger than the headroom */
    void *probe = mmap(NULL, 1UL << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (probe != MAP_FAILED) {
        munmap(probe, 1UL << 30);
        fprintf(stderr, "ENOMEM-SKIPPED: RLIMIT_AS is not enforced here (qemu-user?)\n");
        return;
    }

    int ok = 0;
    int64_t rc = 0;
    for (;;) {
        rc = gort_go(gated, NULL);
        if (rc < 0)
            break;
        if (++ok >= 1000000) {
            fprintf(stderr, "no ENOMEM after 1,000,000 goroutines under RLIMIT_AS\n");
            CHECK(0);
        }
    }
    fprintf(stderr, "ENOMEM after %d goroutines: rc=%lld (%s)\n", ok, (long long)rc, gort_strerror((int)rc));
    CHECK_EQ(rc, GORT_ENOMEM);
    CHECK(ok >= 1000);
    CHECK_EQ(gort_numgoroutine(), ok + 1);

    atomic_store(&gate, 1);
    wait_counter(&completed, ok, "completed gated goroutines");
    CHECK_EQ(atomic_load(&completed), ok);

    /* the freed stacks are reused: spawning works again under the limit */
    atomic_store(&completed, 0);
    for (int i = 0; i < 1000; i++) {
        int64_t id = gort_go(gated, NULL);
        if (id < 0)
            fprintf(stderr, "respawn %d: %lld (%s)\n", i, (long long)id, gort_strerror((int)id));
        CHECK(id > 0);
    }
    wait_counter(&completed, 1000, "completed respawned goroutines");
    CHECK_EQ(atomic_load(&completed), 1000);
    fprintf(stderr, "ENOMEM-RECOVERED\n");
}

/* ------------------------------------------------------------- main flow */

/* Runs the "enomem" child with the given GORT_STACKSIZE ("default": unset).
 *
 * Regression check for a runtime bug found by this test: after gort_go
 * returned GORT_ENOMEM the stack allocator had carved the address space down
 * to less than one stack unit (StackAlloc::grow halves its mmap until a
 * single unit no longer fits), and the scheduler's own next allocation
 * aborted the process: crossbeam's Worker::pop shrinking the run queue
 * buffer (runqget <- runqget_sched <- park_switch <- goexit0), "memory
 * allocation of 131072 bytes failed". With GORT_STACKSIZE=16k (~20 KiB
 * units, smaller than that buffer) it happened every time, with the default
 * stacks now and then. The bounded local run queue (runqputslow) removed
 * that allocation; any other allocation on this path would bring it back.
 */
static void run_enomem(const char *stacksize) {
    static char out[1 << 16];
    char *args[] = {(char *)"enomem", (char *)stacksize, NULL};
    int st = check_run_self(args, NULL, out, sizeof out);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "ENOMEM-SKIPPED")) {
        printf("enomem (GORT_STACKSIZE=%s): skipped, RLIMIT_AS is not enforced (qemu-user)\n", stacksize);
        return;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, "ENOMEM-RECOVERED"))
        fprintf(stderr, "child enomem (GORT_STACKSIZE=%s): %s %d; stderr:\n%s\n", stacksize,
                WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), out);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    CHECK(strstr(out, "ENOMEM-RECOVERED") != NULL);
    const char *line = strstr(out, "ENOMEM after");
    CHECK(line != NULL);
    printf("enomem (GORT_STACKSIZE=%s): %.*s", stacksize, (int)(strchr(line, '\n') - line + 1), line);
}

static void *other_thread_mstart(void *arg) {
    (void)arg;
    CHECK_EQ(gort_mstart(), GORT_EPERM);
    CHECK_EQ(gort_goexit(), GORT_EPERM);
    CHECK_EQ(gort_goid(), 0);
    return NULL;
}

static void run_in_thread(void) {
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, other_thread_mstart, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
}

static atomic_int runs[1000];
static atomic_int done;

static void counted(void *arg) {
    int i = (int)(intptr_t)arg;
    atomic_fetch_add(&runs[i], 1);
    atomic_fetch_add(&done, 1);
}

static atomic_int inner_checked;
static void inner_g(void *arg) {
    (void)arg;
    CHECK(gort_goid() > 1);
    CHECK_EQ(gort_mstart(), GORT_EPERM);
    CHECK_EQ(gort_init(0, NULL), GORT_EALREADY);
    CHECK_EQ(gort_init_lib(0, NULL), GORT_EALREADY);
    atomic_store(&inner_checked, 1);
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_goid(), 1);
    CHECK_EQ(gort_mstart(), GORT_EPERM);
    CHECK_EQ(gort_init(0, NULL), GORT_EALREADY);
    CHECK_EQ(gort_init_lib(0, NULL), GORT_EALREADY);
    CHECK_EQ(gort_go(NULL, NULL), GORT_EINVAL);
    CHECK_EQ(gort_stats(NULL), GORT_EINVAL);
    CHECK(gort_go(inner_g, NULL) > 1);
    while (!atomic_load(&inner_checked))
        gort_yield();
    run_in_thread(); /* blocks this M briefly; fine for a test */

    /* still fully working */
    for (int i = 0; i < 1000; i++)
        CHECK(gort_go(counted, (void *)(intptr_t)i) > 1);
    wait_counter(&done, 1000, "done");
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(atomic_load(&runs[i]), 1);

    /* misuse in children: environment and out-of-memory */
    static char out[1 << 16];
    char *env_args[] = {(char *)"env", NULL};
    int st = check_run_self(env_args, NULL, out, sizeof out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "child env: status 0x%x; stderr:\n%s\n", st, out);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    static const char *const named[] = {
        "gort: invalid GORT_MAXPROCS=\"0\"",          "gort: invalid GORT_MAXPROCS=\"abc\"",
        "gort: invalid GORT_MAXPROCS=\"1025\"",       "gort: invalid GOMAXPROCS=\"abc\"",
        "gort: invalid GORT_STACKSIZE=\"12x\"",       "gort: invalid GORT_STACKSIZE=\"4k\"",
        "gort: invalid GORT_DEBUG=\"inittrace=maybe\"", "gort: invalid GORT_DEBUG=\"guard=steel\"",
        "gort: invalid GORT_DEBUG=\"bogus=1\"",      "gort: invalid GORT_DEBUG=\"garbage\"",
        "gort: invalid GORT_DEBUG=\"inittrace=1,unknown=7\"",
        "ENV-RETRY-OK",
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (!strstr(out, named[i]))
            fprintf(stderr, "child env: missing \"%s\" in:\n%s\n", named[i], out);
        CHECK(strstr(out, named[i]) != NULL);
    }
    printf("env: every malformed variable -> GORT_EINVAL with its name on stderr; retry ok\n");

    if (check_sanitizer()) {
        /* RLIMIT_AS cannot be applied to a process that reserved terabytes of
         * shadow, and a part-way failed init leaks what it set up, which
         * LeakSanitizer reports. */
        printf("initfail, enomem: skipped under -fsanitize=%s (RLIMIT_AS, leaks of a failed init)\n",
               check_sanitizer());
        printf("test_misuse: ok\n");
        return;
    }
    char *initfail_args[] = {(char *)"initfail", NULL};
    st = check_run_self(initfail_args, NULL, out, sizeof out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, "INITFAIL-RETRY-OK"))
        fprintf(stderr, "child initfail: status 0x%x; stderr:\n%s\n", st, out);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    CHECK(strstr(out, "INITFAIL-NOFILE-OK") != NULL);
    CHECK(strstr(out, "INITFAIL-AS-OK") != NULL || strstr(out, "INITFAIL-AS-SKIPPED") != NULL);
    CHECK(strstr(out, "INITFAIL-RETRY-OK") != NULL);
    printf("initfail: a part-way failed gort_init_lib (%s) leaves the runtime re-initialisable\n",
           strstr(out, "INITFAIL-AS-OK") ? "netpoller, then runtime.main's stack" : "netpoller; RLIMIT_AS not enforced");

    run_enomem("default");
    run_enomem("16k");

    printf("test_misuse: ok\n");
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "env"))
        return child_env();
    if (argc > 1 && !strcmp(argv[1], "initfail"))
        return child_initfail();
    if (argc > 1 && !strcmp(argv[1], "enomem")) {
        setenv("GORT_MAXPROCS", "1", 1);
        if (argc > 2 && strcmp(argv[2], "default"))
            setenv("GORT_STACKSIZE", argv[2], 1);
        else
            unsetenv("GORT_STACKSIZE");
        return check_run_main(argc, argv, enomem_main);
    }

    setvbuf(stdout, NULL, _IOLBF, 0); /* progress survives a failing CHECK */
    /* before init */
    struct gort_stats st;
    CHECK_EQ(gort_go(nop, NULL), GORT_ENOTINIT);
    CHECK_EQ(gort_go(NULL, NULL), GORT_ENOTINIT);
    CHECK_EQ(gort_yield(), GORT_ENOTINIT);
    CHECK_EQ(gort_goid(), GORT_ENOTINIT);
    CHECK_EQ(gort_numgoroutine(), GORT_ENOTINIT);
    CHECK_EQ(gort_gomaxprocs(), GORT_ENOTINIT);
    CHECK_EQ(gort_stats(&st), GORT_ENOTINIT);
    CHECK_EQ(gort_stats(NULL), GORT_ENOTINIT);
    CHECK_EQ(gort_mstart(), GORT_ENOTINIT);
    CHECK_EQ(gort_goexit(), GORT_ENOTINIT);

    /* strerror and version need no init */
    const int codes[] = {GORT_OK, GORT_EPERM, GORT_ENOMEM, GORT_EINVAL, GORT_EALREADY, GORT_ENOTINIT, 12345};
    const int ncodes = (int)(sizeof codes / sizeof codes[0]);
    for (int i = 0; i < ncodes; i++) {
        const char *s = gort_strerror(codes[i]);
        CHECK(s != NULL);
        CHECK(s[0] != 0);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(s, gort_strerror(codes[j])) != 0);
    }
    CHECK(strstr(gort_strerror(12345), "unknown") != NULL);
    CHECK(strstr(gort_strerror(-9999), "unknown") != NULL);
    CHECK_EQ(strcmp(gort_strerror(-9999), gort_strerror(12345)), 0);
    char ver[64];
    snprintf(ver, sizeof ver, "%d.%d.%d", GORT_VERSION_MAJOR, GORT_VERSION_MINOR, GORT_VERSION_PATCH);
    CHECK(gort_version() != NULL);
    CHECK_EQ(strcmp(gort_version(), ver), 0);

    /* init, then misuse on the init thread before mstart */
    setenv("GORT_MAXPROCS", "2", 1);
    unsetenv("GORT_DEBUG");
    CHECK_EQ(gort_init(argc, argv), GORT_OK);
    CHECK_EQ(gort_init(argc, argv), GORT_EALREADY);
    CHECK_EQ(gort_init_lib(argc, argv), GORT_EALREADY);
    CHECK_EQ(gort_go(NULL, NULL), GORT_EINVAL);
    CHECK_EQ(gort_stats(NULL), GORT_EINVAL);
    CHECK_EQ(gort_mstart(), GORT_EINVAL); /* no main goroutine yet */
    CHECK_EQ(gort_goexit(), GORT_EPERM);  /* not a goroutine */
    CHECK_EQ(gort_goid(), 0);
    CHECK_EQ(gort_yield(), GORT_OK);
    CHECK_EQ(gort_numgoroutine(), 0);
    run_in_thread(); /* mstart from another thread: EPERM */
    CHECK_EQ(gort_go(main_g, NULL), 1);
    run_in_thread(); /* still EPERM now that main exists */
    CHECK_EQ(gort_numgoroutine(), 1);
    int rc = gort_mstart();
    fprintf(stderr, "gort_mstart returned %d (%s)\n", rc, gort_strerror(rc));
    return 1;
}
