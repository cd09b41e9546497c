/* test_go_ex: gort_go_ex, a stack size and a name per goroutine.
 *
 *  - errors: GORT_ENOTINIT before init; GORT_EINVAL for a NULL function
 *    and for stack sizes below 16 KiB or above 1 GiB (nothing started:
 *    gort_stats counts no new goroutine); opts NULL and {0} behave as
 *    gort_go.
 *  - deep: with the default 64 KiB stacks, one goroutine started with
 *    stack_size 4 MiB recurses 3,000 frames of 1 KiB (3 MiB) and returns
 *    the exact sum, while 2,000 default goroutines are parked at the same
 *    time; a second one asks 100,000 bytes (rounded to 128 KiB) and
 *    recurses 100 KiB deep.
 *  - reuse: 500 goroutines of 1 MiB one after another (each waited for)
 *    make at most 2 stacks (gort_stats: stacks by guard kind), and 500
 *    default ones after them make none: sizes are reused by class, the
 *    default class untouched.
 *  - name: a goroutine started with name "big-worker" appears in
 *    gort_dump_goroutines as `goroutine N "big-worker" [chan receive]`,
 *    and a 40-byte name is cut to 31 bytes.
 *  - overflow: in a child, a goroutine with stack_size 32 KiB recursing
 *    without end dies with "stack overflow in goroutine N (stack S bytes"
 *    where S >= 32 KiB, and the advice names gort_go_ex (not
 *    GORT_STACKSIZE). Skipped under a sanitizer (the guard page fault is
 *    the sanitizer's).
 * ctest-timeout: 120
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

enum { FRAME = 1024, DEEP = 3000, PARKED = 2000, SEQ = 500 };

static gort_waitgroup wg = GORT_WAITGROUP_INIT;

static __attribute__((noinline)) long recurse(int n) {
    volatile char pad[FRAME];
    pad[0] = (char)n;
    pad[FRAME - 1] = (char)(n >> 8);
    if (n == 0)
        return 0;
    return n + recurse(n - 1) + (pad[0] - (char)n) + (pad[FRAME - 1] - (char)(n >> 8));
}

/* Polled by the main goroutine: atomics (TSan flags plain longs here). */
static atomic_long deep_result, mid_result;

static void deep(void *arg) {
    atomic_store(&deep_result, recurse((int)(intptr_t)arg));
    gort_waitgroup_done(&wg);
}

static void mid(void *arg) {
    atomic_store(&mid_result, recurse((int)(intptr_t)arg));
    gort_waitgroup_done(&wg);
}

static gort_chan *never;

static void parked(void *arg) {
    (void)arg;
    CHECK_EQ(gort_chan_recv(never, NULL), GORT_ECLOSED);
    gort_waitgroup_done(&wg);
}

static void quick(void *arg) {
    (void)arg;
    gort_waitgroup_done(&wg);
}

static long stacks_made(void) {
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    return (long)(st.stacks_guard_madvise + st.stacks_guard_mprotect + st.stacks_guard_canary);
}

static long created(void) {
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    return (long)st.goroutines_created;
}

static char dump_buf[1 << 20];

static void main_g(void *arg) {
    (void)arg;
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    CHECK_EQ(st.stack_size >= 64 * 1024 && st.stack_size < 128 * 1024, 1);

    /* errors */
    long c0 = created();
    gort_go_opts bad = {0};
    CHECK_EQ(gort_go_ex(NULL, NULL, NULL), GORT_EINVAL);
    bad.stack_size = 16 * 1024 - 1;
    CHECK_EQ(gort_go_ex(quick, NULL, &bad), GORT_EINVAL);
    bad.stack_size = ((size_t)1 << 30) + 1;
    CHECK_EQ(gort_go_ex(quick, NULL, &bad), GORT_EINVAL);
    bad.stack_size = 1;
    CHECK_EQ(gort_go_ex(quick, NULL, &bad), GORT_EINVAL);
    CHECK_EQ(created(), c0);
    gort_go_opts zero = {0};
    CHECK_OK(gort_waitgroup_add(&wg, 2));
    CHECK(gort_go_ex(quick, NULL, NULL) > 0);
    CHECK(gort_go_ex(quick, NULL, &zero) > 0);
    CHECK_OK(gort_waitgroup_wait(&wg));
    CHECK_EQ(created(), c0 + 2);
    printf("errors: ok\n");

    /* deep, among parked default goroutines */
    never = gort_chan_make(0, 0);
    CHECK_OK(gort_waitgroup_add(&wg, PARKED));
    for (int i = 0; i < PARKED; i++)
        CHECK(gort_go(parked, NULL) > 0);
    gort_go_opts big = {.stack_size = 4 << 20};
    gort_go_opts odd = {.stack_size = 100000};
    CHECK_OK(gort_waitgroup_add(&wg, 2));
    CHECK(gort_go_ex(deep, (void *)(intptr_t)DEEP, &big) > 0);
    CHECK(gort_go_ex(mid, (void *)(intptr_t)100, &odd) > 0);
    while (atomic_load(&deep_result) == 0 || atomic_load(&mid_result) == 0)
        CHECK_OK(gort_sleep(1000000));
    CHECK_EQ(atomic_load(&deep_result), (long)DEEP * (DEEP + 1) / 2);
    CHECK_EQ(atomic_load(&mid_result), 100L * 101 / 2);
    CHECK_OK(gort_chan_close(never));
    CHECK_OK(gort_waitgroup_wait(&wg));
    gort_chan_release(never);
    printf("deep: %d KiB of frames on a 4 MiB stack, 100 KiB on a 100,000-byte one, %d parked alongside\n",
           DEEP * FRAME / 1024, PARKED);

    /* reuse by class */
    gort_go_opts mib = {.stack_size = 1 << 20};
    long s0 = stacks_made();
    for (int i = 0; i < SEQ; i++) {
        CHECK_OK(gort_waitgroup_add(&wg, 1));
        CHECK(gort_go_ex(quick, NULL, &mib) > 0);
        CHECK_OK(gort_waitgroup_wait(&wg));
    }
    long s1 = stacks_made();
    CHECK(s1 - s0 >= 1 && s1 - s0 <= 2);
    for (int i = 0; i < SEQ; i++) {
        CHECK_OK(gort_waitgroup_add(&wg, 1));
        CHECK(gort_go(quick, NULL) > 0);
        CHECK_OK(gort_waitgroup_wait(&wg));
    }
    CHECK_EQ(stacks_made(), s1);
    printf("reuse: %d goroutines of 1 MiB made %ld stacks, %d default ones after them none\n", SEQ, s1 - s0, SEQ);

    /* names */
    never = gort_chan_make(0, 0);
    gort_go_opts named = {.stack_size = 256 << 10, .name = "big-worker"};
    gort_go_opts longname = {.name = "0123456789012345678901234567890123456789"};
    CHECK_OK(gort_waitgroup_add(&wg, 2));
    int64_t id1 = gort_go_ex(parked, NULL, &named);
    int64_t id2 = gort_go_ex(parked, NULL, &longname);
    CHECK(id1 > 0 && id2 > 0);
    CHECK_OK(gort_sleep(20000000));
    check_dump_goroutines(dump_buf, sizeof dump_buf);
    char want[96];
    snprintf(want, sizeof want, "goroutine %lld \"big-worker\" [chan receive]:\n", (long long)id1);
    CHECK(strstr(dump_buf, want) != NULL);
    snprintf(want, sizeof want, "goroutine %lld \"0123456789012345678901234567890\" [chan receive]:\n",
             (long long)id2);
    CHECK(strstr(dump_buf, want) != NULL);
    CHECK_OK(gort_chan_close(never));
    CHECK_OK(gort_waitgroup_wait(&wg));
    gort_chan_release(never);
    printf("names: ok\n");

    /* overflow of a class stack, in a child */
    if (check_sanitizer()) {
        printf("overflow: skipped under -fsanitize=%s\n", check_sanitizer());
    } else {
        static char out[1 << 16];
        char *args[] = {(char *)"overflow", NULL};
        int st = check_run_self(args, NULL, out, sizeof out);
        const char *line = strstr(out, "stack overflow in goroutine ");
        long long goid = 0, size = 0;
        if (line)
            sscanf(line, "stack overflow in goroutine %lld (stack %lld bytes", &goid, &size);
        if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && goid > 1 && size >= 32 * 1024 && size < 64 * 1024 &&
              strstr(out, "gort_go_ex") && !strstr(out, "GORT_STACKSIZE=")))
            fprintf(stderr, "child: status 0x%x\n%s\n", st, out);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
        CHECK(goid > 1);
        CHECK(size >= 32 * 1024 && size < 64 * 1024);
        CHECK(strstr(out, "raise the stack_size it was started with (gort_go_ex)") != NULL);
        printf("overflow: goroutine %lld on a %lld-byte stack reported\n", goid, size);
    }
    printf("test_go_ex: ok\n");
}

static void endless(void *arg) {
    (void)arg;
    recurse(1 << 30);
}

static void overflow_main(void *arg) {
    (void)arg;
    gort_go_opts small = {.stack_size = 32 << 10};
    CHECK(gort_go_ex(endless, NULL, &small) > 1);
    gort_sleep(10LL * 1000000000);
    fprintf(stderr, "child: no overflow\n");
    exit(1);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "overflow"))
        return check_run_main(argc, argv, overflow_main);
    gort_go_opts o = {0};
    CHECK_EQ(gort_go_ex(quick, NULL, &o), GORT_ENOTINIT);
    return check_run_main(argc, argv, main_g);
}
