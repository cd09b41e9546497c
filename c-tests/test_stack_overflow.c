/* test_stack_overflow: a goroutine that overflows its stack is reported,
 * every time, for every guard method; other faults are left alone.
 *
 * What:
 *  - A goroutine recursing with a volatile 1 KiB buffer per frame overflows
 *    its stack. With a guard page (default method: MADV_GUARD_INSTALL, or
 *    mprotect where that is unavailable; and forced with
 *    GORT_DEBUG=guard=mprotect) the SIGSEGV handler finds the fault in the
 *    goroutine's guard page and prints
 *      "gort: fatal error: stack overflow in goroutine <goid> (stack <n>
 *       bytes, guard page hit at 0x...); raise GORT_STACKSIZE, ..."
 *    then aborts. With GORT_DEBUG=guard=canary there is no guard page: the
 *    recursion is bounded to go about 2 KiB past the bottom of the usable
 *    stack (still inside the unit's unprotected guard area, so no other
 *    goroutine is hit), then calls gort_yield with another goroutine
 *    runnable; the switch checks the canary and reports "... stack canary
 *    overwritten); raise GORT_STACKSIZE ...".
 *    Each method runs 3 times ("every time"). Asserted: the child died of
 *    SIGABRT; stderr names the goroutine's exact goid and stack size (as
 *    the child printed them from gort_goid and gort_stats), the way it was
 *    detected, and GORT_STACKSIZE; the message is followed by the failing
 *    goroutine's dump entry ("goroutine <goid> [running]:") and no other
 *    (GORT_TRACEBACK=single); the child's stats confirm the forced
 *    guard method is the one in use.
 *  - A fault that is not a stack overflow (a write to address 16) on a
 *    goroutine takes the default action: the child dies of SIGSEGV and
 *    stderr does not mention a stack overflow.
 *  - A host SIGSEGV handler installed before gort_init is chained for such
 *    faults: it runs (sa_handler and SA_SIGINFO flavours; the latter also
 *    gets si_addr == 16) and its _exit(42) is the child's status. A real
 *    overflow is still reported as one, not passed to the host handler.
 *
 * How: every case is a re-exec'ed child (check_run_self) selected by argv,
 * with alarm() as a hang cap.
 */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdatomic.h>

#define HANG_CAP_S 60

static volatile int never; /* keeps the recursion formally finite */

/* ---- the overflowing goroutines ---- */

__attribute__((noinline)) static int recurse_forever(int depth) {
    volatile char buf[1024];
    for (int i = 0; i < (int)sizeof buf; i++)
        buf[i] = (char)depth;
    if (never)
        return buf[0];
    return recurse_forever(depth + 1) + buf[depth % 1024];
}

static uintptr_t canary_limit; /* lowest address the canary recursion writes */

__attribute__((noinline)) static int recurse_to_limit(int depth) {
    volatile char buf[1024];
    for (int i = 0; i < (int)sizeof buf; i++)
        buf[i] = (char)depth;
    if ((uintptr_t)&buf[0] <= canary_limit) {
        /* past the bottom of the stack, over the canary: the switch to the
         * main goroutine (runnable, MAXPROCS=1) must detect it */
        gort_yield();
        fprintf(stderr, "canary overwrite not detected at gort_yield\n");
        _exit(3);
    }
    if (never)
        return buf[0];
    return recurse_to_limit(depth + 1) + buf[depth % 1024];
}

static void print_identity(void) {
    struct gort_stats st;
    CHECK_EQ(gort_stats(&st), GORT_OK);
    fprintf(stderr, "VICTIM goid=%lld stack=%lld madvise=%lld mprotect=%lld canary=%lld\n", (long long)gort_goid(),
            (long long)st.stack_size, (long long)st.stacks_guard_madvise, (long long)st.stacks_guard_mprotect,
            (long long)st.stacks_guard_canary);
}

static void nop_g(void *arg) { (void)arg; }

static void overflow_g(void *arg) {
    (void)arg;
    print_identity();
    recurse_forever(0);
    fprintf(stderr, "recursion returned\n");
    _exit(3);
}

static void canary_g(void *arg) {
    (void)arg;
    print_identity();
    struct gort_stats st;
    CHECK_EQ(gort_stats(&st), GORT_OK);
    /* The usable stack is [top - stack_size, stack_hi) where stack_hi is at
     * most a few hundred bytes above this local; go 2 KiB below its bottom,
     * which stays inside the (unprotected) guard page of this unit. */
    volatile char here;
    uintptr_t top = (uintptr_t)&here;
    canary_limit = top - (uintptr_t)st.stack_size - 2048;
    recurse_to_limit(0);
}

static void fault_g(void *arg) {
    (void)arg;
    print_identity();
    volatile uintptr_t addr = 16;
    *(volatile int *)addr = 1;
    fprintf(stderr, "write to address 16 did not fault\n");
    _exit(3);
}

/* the main goroutine of a child: start the victim, stay runnable */
static void (*victim)(void *);

static void child_main(void *arg) {
    (void)arg;
    for (int i = 0; i < 5; i++) /* so the victim's goid is not just 2 */
        CHECK(gort_go(nop_g, NULL) > 0);
    CHECK(gort_go(victim, NULL) > 0);
    for (;;)
        gort_yield();
}

/* ---- host handlers ---- */

static void host_handler(int sig) {
    (void)sig;
    static const char msg[] = "HOST-HANDLER ran\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(42);
}

static void host_handler_info(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    static const char ok[] = "HOST-HANDLER-INFO ran si_addr=16\n";
    static const char bad[] = "HOST-HANDLER-INFO ran with a wrong si_addr\n";
    if ((uintptr_t)si->si_addr == 16)
        (void)!write(2, ok, sizeof ok - 1);
    else
        (void)!write(2, bad, sizeof bad - 1);
    _exit(42);
}

static void install_host(int info) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (info) {
        sa.sa_sigaction = host_handler_info;
        sa.sa_flags = SA_SIGINFO;
    } else {
        sa.sa_handler = host_handler;
    }
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
}

static int child(int argc, char **argv) {
    alarm(HANG_CAP_S);
    const char *what = argv[1], *guard = argc > 2 ? argv[2] : "default";
    setenv("GORT_MAXPROCS", "1", 1);
    if (!strcmp(guard, "default"))
        unsetenv("GORT_DEBUG");
    else if (!strcmp(guard, "mprotect"))
        setenv("GORT_DEBUG", "guard=mprotect", 1);
    else if (!strcmp(guard, "canary"))
        setenv("GORT_DEBUG", "guard=canary", 1);
    if (!strcmp(what, "overflow")) {
        victim = overflow_g;
    } else if (!strcmp(what, "canary")) {
        victim = canary_g;
    } else if (!strcmp(what, "fault")) {
        victim = fault_g;
    } else if (!strcmp(what, "chain")) {
        install_host(0);
        victim = fault_g;
    } else if (!strcmp(what, "chain_info")) {
        install_host(1);
        victim = fault_g;
    } else if (!strcmp(what, "chain_overflow")) {
        install_host(0);
        victim = overflow_g;
    } else {
        fprintf(stderr, "unknown child mode %s\n", what);
        return 2;
    }
    return check_run_main(argc, argv, child_main);
}

/* ---- parent ---- */

static char out[1 << 16];

struct ident {
    long long goid, stack, madvise, mprotect, canary;
};

static struct ident run(const char *what, const char *guard, int *status) {
    char *args[] = {(char *)what, (char *)guard, NULL};
    *status = check_run_self(args, NULL, out, sizeof out);
    struct ident id = {-1, -1, -1, -1, -1};
    const char *line = strstr(out, "VICTIM goid=");
    if (line)
        sscanf(line, "VICTIM goid=%lld stack=%lld madvise=%lld mprotect=%lld canary=%lld", &id.goid, &id.stack,
               &id.madvise, &id.mprotect, &id.canary);
    return id;
}

static void dump(const char *what, const char *guard, int st) {
    fprintf(stderr, "child %s/%s: %s %d; stderr:\n%s\n", what, guard, WIFSIGNALED(st) ? "signal" : "exit",
            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), out);
}

static void expect_overflow(const char *what, const char *guard, const char *how) {
    int st;
    struct ident id = run(what, guard, &st);
    char want[160];
    snprintf(want, sizeof want, "gort: fatal error: stack overflow in goroutine %lld (stack %lld bytes, %s", id.goid,
             id.stack, how);
    int ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && id.goid > 1 && strstr(out, want) &&
             strstr(out, "GORT_STACKSIZE") && !strstr(out, "HOST-HANDLER");
    if (!ok) {
        fprintf(stderr, "expected \"%s\"\n", want);
        dump(what, guard, st);
    }
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), SIGABRT);
    CHECK(id.goid > 1);
    CHECK(strstr(out, want) != NULL);
    CHECK(strstr(out, "raise GORT_STACKSIZE") != NULL);
    CHECK(strstr(out, "HOST-HANDLER") == NULL);
    /* after the message, the failing goroutine (GORT_TRACEBACK=single:
     * only that one) */
    char head[64];
    snprintf(head, sizeof head, "\ngoroutine %lld [running]:\n", id.goid);
    if (!strstr(out, head) || strstr(out, "\ngoroutine 1 ["))
        dump(what, guard, st);
    CHECK(strstr(out, head) != NULL);
    CHECK(strstr(out, "\ngoroutine 1 [") == NULL);
    /* the forced guard method is the one in use */
    if (!strcmp(guard, "mprotect")) {
        CHECK(id.mprotect > 0);
        CHECK_EQ(id.madvise, 0);
    } else if (!strcmp(guard, "canary")) {
        CHECK(id.canary > 0);
        CHECK_EQ(id.madvise + id.mprotect, 0);
    } else {
        CHECK(id.madvise + id.mprotect > 0);
    }
    printf("%s/%s: SIGABRT, \"%s...\" (stacks madvise=%lld mprotect=%lld canary=%lld)\n", what, guard, want,
           id.madvise, id.mprotect, id.canary);
}

int main(int argc, char **argv) {
    /* The sanitizer's own SEGV handler reports the faults this test expects
     * as signals, and instrumented frames change how deep a goroutine gets. */
    CHECK_SKIP_UNDER_SANITIZER("guard pages and SIGSEGV are the sanitizer's");
    if (argc > 1)
        return child(argc, argv);

    for (int i = 0; i < 3; i++) {
        expect_overflow("overflow", "default", "guard page hit at 0x");
        expect_overflow("overflow", "mprotect", "guard page hit at 0x");
        expect_overflow("canary", "canary", "stack canary overwritten)");
    }
    expect_overflow("chain_overflow", "default", "guard page hit at 0x");

    /* not a stack overflow: default action, no report */
    int st;
    run("fault", "default", &st);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV || strstr(out, "stack overflow"))
        dump("fault", "default", st);
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), SIGSEGV);
    CHECK(strstr(out, "stack overflow") == NULL);
    CHECK(strstr(out, "did not fault") == NULL);
    printf("fault: SIGSEGV, no overflow report\n");

    /* a host handler installed before gort_init gets non-stack faults */
    run("chain", "default", &st);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
        dump("chain", "default", st);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 42);
    CHECK(strstr(out, "HOST-HANDLER ran") != NULL);
    CHECK(strstr(out, "stack overflow") == NULL);

    run("chain_info", "default", &st);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
        dump("chain_info", "default", st);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 42);
    CHECK(strstr(out, "HOST-HANDLER-INFO ran si_addr=16") != NULL);
    CHECK(strstr(out, "stack overflow") == NULL);
    printf("chain: host handlers ran (exit 42)\n");

    printf("test_stack_overflow: ok\n");
    return 0;
}
