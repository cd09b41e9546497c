/* test_asan_detects: AddressSanitizer works on goroutine stacks
 * (src/sanitize.rs). Skipped (77) unless built with -fsanitize=address.
 *
 *  - "clean": goroutines that switch a lot (channel ping-pong, yields,
 *    sleeps) on 2 Ps, and goroutines that end with gort_goexit deep inside
 *    instrumented frames, leaving their redzones poisoned, whose stacks are
 *    then reused: exits 0 and ASan says nothing (no false positive, no
 *    "ASan is ignoring requested __asan_handle_no_return").
 *  - "overflow": a goroutine that has switched and migrated writes one byte
 *    past a 16-byte heap block: ASan must report a heap-buffer-overflow and
 *    the process must fail.
 *
 * ctest-timeout: 120
 */
#include "check.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

#include <stdatomic.h>

static gort_chan *ping, *pong;
static gort_waitgroup wg;

static void ponger(void *arg) {
    (void)arg;
    int v;
    while (gort_chan_recv(ping, &v) == GORT_OK)
        CHECK_OK(gort_chan_send(pong, &v));
    gort_waitgroup_done(&wg);
}

/* Deep instrumented frames with stack arrays, ending the goroutine from
 * the bottom: their redzones stay poisoned. */
#pragma GCC diagnostic ignored "-Winfinite-recursion" /* it ends in gort_goexit */
static __attribute__((noinline)) int deep_exit(int depth) {
    volatile char buf[200];
    for (int i = 0; i < (int)sizeof buf; i++)
        buf[i] = (char)(i + depth);
    if (depth == 0) {
        gort_waitgroup_done(&wg);
        gort_goexit();
    }
    return deep_exit(depth - 1) + buf[depth % 200];
}

static void exiter(void *arg) {
    (void)arg;
    deep_exit(20);
}

/* On a reused stack: other frame shapes, and runtime calls whose own
 * (uninstrumented) frames land where the dead goroutine's redzones were. */
static __attribute__((noinline)) int deep_sleep(int depth) {
    volatile char buf[72];
    buf[0] = (char)depth;
    if (depth == 0) {
        CHECK_OK(gort_sleep(1000));
        CHECK_OK(gort_yield());
        return buf[0];
    }
    return deep_sleep(depth - 1) + buf[0];
}

static void sleeper(void *arg) {
    (void)arg;
    deep_sleep(30);
    gort_waitgroup_done(&wg);
}

static void clean_main(void *arg) {
    (void)arg;
    ping = gort_chan_make(sizeof(int), 0);
    pong = gort_chan_make(sizeof(int), 0);
    gort_waitgroup_add(&wg, 1);
    CHECK(gort_go(ponger, NULL) > 0);
    for (int i = 0; i < 10000; i++) {
        int v = i;
        CHECK_OK(gort_chan_send(ping, &v));
        CHECK_OK(gort_chan_recv(pong, &v));
        CHECK_EQ(v, i);
    }
    gort_chan_close(ping);
    gort_waitgroup_wait(&wg);
    for (int round = 0; round < 50; round++) {
        gort_waitgroup_add(&wg, 20);
        for (int i = 0; i < 10; i++) {
            CHECK(gort_go(exiter, NULL) > 0);
            CHECK(gort_go(sleeper, NULL) > 0);
        }
        gort_waitgroup_wait(&wg);
    }
    gort_chan_release(ping);
    gort_chan_release(pong);
    fprintf(stderr, "CLEAN-DONE\n");
}

static void overflow_goroutine(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++)
        gort_yield();
    CHECK_OK(gort_sleep(1000000));
    volatile char *volatile p = malloc(16); /* volatile: the store is not dead */
    fprintf(stderr, "OVERFLOW-WRITING on goroutine %lld\n", (long long)gort_goid());
    p[16] = 1; /* one past the end */
    fprintf(stderr, "OVERFLOW-NOT-DETECTED\n");
    free((void *)p);
    gort_waitgroup_done(&wg);
}

static void overflow_main(void *arg) {
    (void)arg;
    gort_waitgroup_add(&wg, 1);
    CHECK(gort_go(overflow_goroutine, NULL) > 0);
    gort_waitgroup_wait(&wg);
}

int main(int argc, char **argv) {
#ifndef HAVE_ASAN
    (void)argc;
    (void)argv;
    (void)clean_main;
    (void)overflow_main;
    printf("skipped: not built with -fsanitize=address\n");
    return 77;
#else
    setenv("GORT_MAXPROCS", "2", 1);
    if (argc > 1 && !strcmp(argv[1], "clean"))
        return check_run_main(argc, argv, clean_main);
    if (argc > 1 && !strcmp(argv[1], "overflow"))
        return check_run_main(argc, argv, overflow_main);

    static char out[1 << 16];
    char *clean_args[] = {(char *)"clean", NULL};
    int st = check_run_self(clean_args, NULL, out, sizeof out);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "CLEAN-DONE") &&
             !strstr(out, "AddressSanitizer") && !strstr(out, "False positive");
    if (!ok)
        fprintf(stderr, "clean: status 0x%x; stderr:\n%s\n", st, out);
    CHECK(ok);
    printf("clean: 10000 ping-pongs, 1000 goroutines, half ending by gort_goexit deep down: no report\n");

    char *overflow_args[] = {(char *)"overflow", NULL};
    st = check_run_self(overflow_args, NULL, out, sizeof out);
    ok = !(WIFEXITED(st) && WEXITSTATUS(st) == 0) && strstr(out, "OVERFLOW-WRITING") &&
         strstr(out, "ERROR: AddressSanitizer: heap-buffer-overflow") && !strstr(out, "OVERFLOW-NOT-DETECTED");
    if (!ok)
        fprintf(stderr, "overflow: status 0x%x; stderr:\n%s\n", st, out);
    CHECK(ok);
    printf("overflow: heap-buffer-overflow in a goroutine reported (status 0x%x)\n", st);
    printf("test_asan_detects: ok\n");
    return 0;
#endif
}
