/* test_goexit: gort_goexit ends the calling goroutine at once, and on the
 * main goroutine does not end the process (Go's runtime.Goexit).
 *
 * What:
 *  - N goroutines call gort_goexit, some directly, some three calls deep,
 *    some after a few yields: every one reaches the call (counter ==
 *    N) and none executes a statement after it (counter == 0, also not
 *    after the nested calls return); the live count drops back to 1 and
 *    goroutines_created is exact; their stacks are recycled (10,000
 *    goroutines exited in batches of 100 leave fewer than 1,000 stacks).
 *  - Re-exec'ed child "main_goexit": the main goroutine calls gort_goexit
 *    while another goroutine runs; the process goes on: the survivor sees
 *    the main goroutine gone (gort_numgoroutine() == 1), spawns and waits
 *    for 10 more goroutines, then calls gort_exit(5): status 5, and the
 *    statement after the main goroutine's gort_goexit never ran.
 *  - Re-exec'ed child "all_gone": the main goroutine calls gort_goexit and
 *    the last other goroutine returns: as in Go, the runtime reports
 *    "no goroutines (main called gort_goexit) - deadlock!" and exits 2.
 */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdatomic.h>

enum { N = 10000, BATCH = 100 };
#define CAP_NS (60LL * 1000000000LL)

static atomic_int reached, after;

__attribute__((noinline)) static void level3(void) {
    atomic_fetch_add(&reached, 1);
    gort_goexit();
    atomic_fetch_add(&after, 1);
}
__attribute__((noinline)) static void level2(void) {
    level3();
    atomic_fetch_add(&after, 1);
}
__attribute__((noinline)) static void level1(void) {
    level2();
    atomic_fetch_add(&after, 1);
}

static void exiter(void *arg) {
    int i = (int)(intptr_t)arg;
    switch (i % 3) {
    case 0:
        atomic_fetch_add(&reached, 1);
        gort_goexit();
        break;
    case 1:
        level1();
        break;
    default:
        for (int k = 0; k < 3; k++)
            gort_yield();
        atomic_fetch_add(&reached, 1);
        gort_goexit();
        break;
    }
    atomic_fetch_add(&after, 1);
}

static void wait_for(int (*cond)(void), const char *what) {
    int64_t deadline = check_now_ns() + CAP_NS;
    while (!cond()) {
        if (check_now_ns() > deadline) {
            fprintf(stderr, "hang waiting for %s\n", what);
            CHECK(0);
        }
        gort_yield();
    }
}

static int batch_target;
static int batch_reached(void) { return atomic_load(&reached) >= batch_target; }
static int one_left(void) { return gort_numgoroutine() == 1; }

static void main_g(void *arg) {
    (void)arg;
    for (int b = 0; b < N / BATCH; b++) {
        for (int i = 0; i < BATCH; i++)
            CHECK(gort_go(exiter, (void *)(intptr_t)(b * BATCH + i)) > 1);
        batch_target = (b + 1) * BATCH;
        wait_for(batch_reached, "a batch to reach gort_goexit");
        wait_for(one_left, "the batch to exit");
    }
    CHECK_EQ(atomic_load(&reached), N);
    CHECK_EQ(atomic_load(&after), 0);
    CHECK_EQ(gort_numgoroutine(), 1);
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    CHECK_EQ(st.goroutines, 1);
    CHECK_EQ(st.goroutines_created, N + 1);
    long long stacks = st.stacks_guard_madvise + st.stacks_guard_mprotect + st.stacks_guard_canary;
    CHECK(stacks >= 2);
    CHECK(stacks < 1000);
    printf("%d goroutines ended by gort_goexit, none ran past it; %lld stacks for %d goroutines\n", N, stacks,
           N + 1);

    /* the process-level cases */
    static char out[1 << 14];
    char *a1[] = {(char *)"main_goexit", NULL};
    int status = check_run_self(a1, NULL, out, sizeof out);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 5 || !strstr(out, "SURVIVOR-EXITING"))
        fprintf(stderr, "child main_goexit: status 0x%x; stderr:\n%s\n", status, out);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 5);
    CHECK(strstr(out, "SURVIVOR-EXITING") != NULL);
    CHECK(strstr(out, "AFTER-MAIN-GOEXIT") == NULL);
    printf("main goroutine gort_goexit: the process kept running; gort_exit(5) -> status 5\n");

    char *a2[] = {(char *)"all_gone", NULL};
    status = check_run_self(a2, NULL, out, sizeof out);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
        fprintf(stderr, "child all_gone: status 0x%x; stderr:\n%s\n", status, out);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 2);
    CHECK(strstr(out, "no goroutines (main called gort_goexit) - deadlock!") != NULL);
    CHECK(strstr(out, "AFTER-MAIN-GOEXIT") == NULL);
    printf("main goroutine gort_goexit, then no goroutines left: deadlock report, status 2\n");
    printf("test_goexit: ok\n");
}

/* ---- children ---- */

static atomic_int main_leaving, helpers_done;

static void helper(void *arg) {
    (void)arg;
    atomic_fetch_add(&helpers_done, 1);
}

static int helpers_all_done(void) { return atomic_load(&helpers_done) == 10; }

static void survivor(void *arg) {
    int exit_code = (int)(intptr_t)arg;
    int64_t deadline = check_now_ns() + CAP_NS;
    while (!atomic_load(&main_leaving)) {
        CHECK(check_now_ns() < deadline);
        gort_yield();
    }
    wait_for(one_left, "the main goroutine to be gone"); /* 1 == just us now */
    if (exit_code == 0)
        return; /* all_gone: the last goroutine returns */
    for (int i = 0; i < 10; i++)
        CHECK(gort_go(helper, NULL) > 1);
    wait_for(helpers_all_done, "helpers");
    wait_for(one_left, "helpers to exit");
    fprintf(stderr, "SURVIVOR-EXITING\n");
    gort_exit(exit_code);
}

static int child_exit_code;

static void child_main(void *arg) {
    (void)arg;
    CHECK(gort_go(survivor, (void *)(intptr_t)child_exit_code) > 1);
    for (int i = 0; i < 10; i++) /* let the survivor get going */
        gort_yield();
    atomic_store(&main_leaving, 1);
    gort_goexit();
    fprintf(stderr, "AFTER-MAIN-GOEXIT\n");
}

int main(int argc, char **argv) {
    setenv("GORT_MAXPROCS", "2", 1);
    if (argc > 1) {
        alarm(60);
        if (!strcmp(argv[1], "main_goexit"))
            child_exit_code = 5;
        else if (!strcmp(argv[1], "all_gone"))
            child_exit_code = 0;
        else
            return 3;
        return check_run_main(argc, argv, child_main);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    return check_run_main(argc, argv, main_g);
}
