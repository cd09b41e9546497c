/* test_boot_program: the program-mode boot flow ends the process the way
 * Go's does.
 *
 * What: gort_init / gort_go(main) / gort_mstart, with the main goroutine
 * being goroutine 1, spawning goroutines and waiting for them, then
 * returning. When the main goroutine returns, runtime.main calls exit(0):
 * atexit handlers run and stdio is flushed. Goroutines still running at that
 * point (yielding, or spinning in C on another M) do not hold the exit up.
 * gort_exit(7) from a goroutine ends the process with status 7, also
 * through exit() (atexit handlers run).
 *
 * How: each scenario runs in a re-exec'ed child (check_run_self); the
 * parent checks the wait status and the child's stderr. The child makes
 * stderr fully buffered and registers an atexit handler that prints a
 * marker: the marker (and everything printed before it) reaches the parent
 * only if exit() ran. Each child arms alarm() as a hang cap, so a hang
 * shows up as "killed by SIGALRM" instead of a stuck test.
 */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdatomic.h>

#define HANG_CAP_S 60 /* generous: the suite also runs under qemu */

enum { NSPAWN = 100 };

static atomic_int ran[NSPAWN];
static atomic_long goids[NSPAWN];
static atomic_int done;
static char errbuf[8192];
static const char *exit_marker = "ATEXIT-MARKER";

static void on_exit_marker(void) {
    fprintf(stderr, "%s done=%d\n", exit_marker, atomic_load(&done));
    /* no fflush: exit() must flush the fully buffered stderr itself */
}

static void child_setup(void) {
    alarm(HANG_CAP_S);
    setvbuf(stderr, errbuf, _IOFBF, sizeof errbuf);
    CHECK(atexit(on_exit_marker) == 0);
}

/* ---- child "flow": the hello-like flow, main returns -> exit(0) ---- */

static void worker(void *arg) {
    int i = (int)(intptr_t)arg;
    atomic_fetch_add(&ran[i], 1);
    atomic_store(&goids[i], (long)gort_goid());
    atomic_fetch_add(&done, 1);
}

static void flow_main(void *arg) {
    (void)arg;
    CHECK_EQ(gort_goid(), 1);
    int64_t ids[NSPAWN];
    for (int i = 0; i < NSPAWN; i++) {
        ids[i] = gort_go(worker, (void *)(intptr_t)i);
        CHECK(ids[i] > 1);
    }
    while (atomic_load(&done) < NSPAWN)
        gort_yield();
    for (int i = 0; i < NSPAWN; i++) {
        CHECK_EQ(atomic_load(&ran[i]), 1);
        CHECK_EQ(atomic_load(&goids[i]), ids[i]);
        for (int j = 0; j < i; j++)
            CHECK(ids[i] != ids[j]);
    }
    CHECK_EQ(gort_goid(), 1);
    fprintf(stderr, "flow: main returning\n");
    /* returning ends the process with exit(0) */
}

/* ---- child "yielder": a goroutine yielding forever does not hold up exit ---- */

static atomic_int spinner_started;

static void yield_forever(void *arg) {
    (void)arg;
    atomic_store(&spinner_started, 1);
    for (;;)
        gort_yield();
}

static void yielder_main(void *arg) {
    (void)arg;
    CHECK(gort_go(yield_forever, NULL) > 1);
    while (!atomic_load(&spinner_started))
        gort_yield();
    for (int i = 0; i < 1000; i++) /* the spinner is in the run queue with us */
        gort_yield();
    atomic_store(&done, 1);
}

/* ---- child "spinner": a goroutine spinning in C on another M ---- */

static void spin_forever(void *arg) {
    (void)arg;
    atomic_store(&spinner_started, 1);
    for (;;)
        atomic_signal_fence(memory_order_seq_cst);
}

static void spinner_main(void *arg) {
    (void)arg;
    CHECK(gort_go(spin_forever, NULL) > 1);
    /* With 2 Ps one M ends up running the spinner for good while the other
     * one runs us (whichever M steals the other's work). */
    while (!atomic_load(&spinner_started))
        gort_yield();
    atomic_store(&done, 2);
}

/* ---- child "exit7": gort_exit(7) from a goroutine ---- */

static void exiter(void *arg) {
    (void)arg;
    atomic_store(&done, 7);
    gort_exit(7);
    CHECK(!"gort_exit returned");
}

static void exit7_main(void *arg) {
    (void)arg;
    CHECK(gort_go(exiter, NULL) > 1);
    for (;;)
        gort_yield();
}

static int run_child(int argc, char **argv, void (*fn)(void *), const char *procs) {
    setenv("GORT_MAXPROCS", procs, 1);
    child_setup();
    return check_run_main(argc, argv, fn);
}

static void expect(const char *mode, int want_code, const char *want_text) {
    char *args[] = {(char *)mode, NULL};
    static char out[1 << 16];
    int st = check_run_self(args, NULL, out, sizeof out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != want_code || !strstr(out, want_text)) {
        fprintf(stderr, "child %s: want exit %d and \"%s\"; got %s %d; stderr:\n%s\n", mode, want_code, want_text,
                WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), out);
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
            fprintf(stderr, "child %s hung (killed by the %d s cap)\n", mode, HANG_CAP_S);
    }
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), want_code);
    CHECK(strstr(out, want_text) != NULL);
    printf("child %-8s exited %d with the expected stderr\n", mode, want_code);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        if (!strcmp(argv[1], "flow"))
            return run_child(argc, argv, flow_main, "2");
        if (!strcmp(argv[1], "flow1"))
            return run_child(argc, argv, flow_main, "1");
        if (!strcmp(argv[1], "yielder"))
            return run_child(argc, argv, yielder_main, "1");
        if (!strcmp(argv[1], "spinner"))
            return run_child(argc, argv, spinner_main, "2");
        if (!strcmp(argv[1], "exit7"))
            return run_child(argc, argv, exit7_main, "2");
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    /* main returned -> exit(0): atexit ran (marker), stdio flushed (the
     * buffered "flow:" line and the marker both arrive). */
    expect("flow", 0, "flow: main returning\nATEXIT-MARKER done=100\n");
    expect("flow1", 0, "flow: main returning\nATEXIT-MARKER done=100\n");
    expect("yielder", 0, "ATEXIT-MARKER done=1\n");
    expect("spinner", 0, "ATEXIT-MARKER done=2\n");
    expect("exit7", 7, "ATEXIT-MARKER done=7\n");
    printf("test_boot_program: ok\n");
    return 0;
}
