/* bench_switch: the raw context switch, nothing but asm/<arch>.S.
 *
 * Two contexts ping-pong through gort_swap: the program's own stack and a
 * second one entered through gort_gostart with a first frame laid out
 * exactly as src/arch.rs init_frame builds it. Both sides switch from the
 * SAME call site (the noinline pingpong() below), as the runtime does, so
 * the return-stack buffer predicts every `ret`.
 *
 * gort_swap's convention is not the C ABI: it preserves only rbx, rbp (x19,
 * x29 on aarch64) and the stack pointer. swap() below therefore declares
 * every other register clobbered, as src/arch.rs does with clobber_abi("C")
 * plus r12-r15 (x20-x28, v8-v15). On x86_64 the call pushes its return
 * address into the caller's red zone, so this file is built with
 * -mno-red-zone (benches/CMakeLists.txt defines GORT_BENCH_NO_RED_ZONE with
 * it): the compiler then keeps nothing below the stack pointer, as rustc
 * does around src/arch.rs's asm! (no `nostack` option). Stepping over the
 * red zone inside the asm instead (lea -128(%rsp) before the call, lea 128
 * after) cost 0.5 ns per switch here (2.1 against 1.6 ns, ten alternating
 * runs): the runtime's switch has no such instructions, so neither may the
 * benchmark.
 *
 * Result: ns per one-way switch (-n round trips = 2n switches per run).
 * Checked: every value handed over arrived: each side passes its iteration
 * number + 1 as the handoff, which the resumed gort_swap on the other side
 * returns; main's sum of them must be n(n+1)/2, and the first entry into
 * the second context must have received 1.
 * Runs natively on x86_64 and aarch64; under qemu it is a correctness check
 * only (GORT_BENCH_EMULATED=1 in the environment marks the line).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && !defined(GORT_BENCH_NO_RED_ZONE)
#error "bench_switch.c must be built with -mno-red-zone -DGORT_BENCH_NO_RED_ZONE (see above)"
#endif

/* From asm/<arch>.S; called only through swap(). */
extern void gort_swap(void);
extern void gort_gostart(void);

#define FAIL(...)                                                        \
    do {                                                                 \
        fprintf(stderr, "FAIL bench_switch: " __VA_ARGS__);              \
        fputc('\n', stderr);                                             \
        exit(1);                                                         \
    } while (0)

static inline __attribute__((always_inline)) uintptr_t swap(uintptr_t *save, uintptr_t resume,
                                                             uintptr_t handoff) {
#if defined(__x86_64__)
    register uintptr_t rdi __asm__("rdi") = (uintptr_t)save;
    register uintptr_t rsi __asm__("rsi") = resume;
    register uintptr_t rdx __asm__("rdx") = handoff;
    uintptr_t ret;
    __asm__ volatile("call gort_swap"
                     : "=a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx)
                     :
                     : "rcx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                       "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                       "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
                       "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)",
                       "memory", "cc");
    return ret;
#elif defined(__aarch64__)
    register uintptr_t x0 __asm__("x0") = (uintptr_t)save;
    register uintptr_t x1 __asm__("x1") = resume;
    register uintptr_t x2 __asm__("x2") = handoff;
    __asm__ volatile("bl gort_swap"
                     : "+r"(x0), "+r"(x1), "+r"(x2)
                     :
                     : "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
                       "x14", "x15", "x16", "x17", "x18", "x20", "x21", "x22", "x23", "x24",
                       "x25", "x26", "x27", "x28", "x30",
                       "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",
                       "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20",
                       "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
                       "v31", "memory", "cc");
    return x0;
#else
#error "bench_switch: x86_64 or aarch64 only"
#endif
}

/* Shared by both contexts. The compiler cannot see that pingpong() leads to
 * other_main() and the entry hook, so what they read or write across a
 * switch is volatile. */
static uintptr_t sp[2];         /* saved stack pointers: main, other */
static volatile long rounds;    /* round trips per run */
static uintptr_t received;      /* sum of the handoffs the main side got back */

/* The one call site of swap() for both sides. Hands the other side i + 1
 * each time and sums what comes back. */
__attribute__((noinline)) static uintptr_t pingpong(int self, long n) {
    uintptr_t sum = 0;
    for (long i = 0; i < n; i++) {
        sum += swap(&sp[self], sp[!self], (uintptr_t)i + 1);
    }
    return sum;
}

/* The second context, entered through gort_gostart like a goroutine. It
 * never returns: the main side stops resuming it after its last switch. */
static void other_main(void *arg) {
    (void)arg;
    pingpong(1, rounds);
    FAIL("the second context ran past its last switch");
}

static volatile uintptr_t first_handoff; /* handed to the first switch into other_main */
static void entry_hook(void *handoff, void *gp) {
    (void)gp;
    first_handoff = (uintptr_t)handoff;
}

static void exit_hook(void) { FAIL("exit hook reached"); }

enum { STACK = 64 * 1024 };
static _Alignas(64) unsigned char other_stack[STACK];

/* src/arch.rs init_frame: the frame gort_swap pops, whose return address is
 * gort_gostart, then fn, arg, entry hook, exit hook above it; gort_gostart
 * starts with a 16-byte aligned stack pointer pointing at fn. */
static uintptr_t init_frame(uintptr_t stack_hi) {
#if defined(__x86_64__)
    enum { WORDS = 8, GP = 0, RESUME = 2, FN = 3 }; /* [rbx][rbp][ret] */
#else
    enum { WORDS = 8, GP = 2, RESUME = 1, FN = 4 }; /* [x29][x30][x19][pad] */
#endif
    uintptr_t fn_slot = (stack_hi - 32 - 16) & ~(uintptr_t)15;
    uintptr_t s = fn_slot - FN * 8;
    uintptr_t *w = (uintptr_t *)s;
    for (int i = 0; i < WORDS; i++)
        w[i] = 0;
    w[GP] = 0x6770; /* the "G": unused here */
    w[RESUME] = (uintptr_t)gort_gostart;
    w[FN] = (uintptr_t)other_main;
    w[FN + 1] = 0;
    w[FN + 2] = (uintptr_t)entry_hook;
    w[FN + 3] = (uintptr_t)exit_hook;
    return s;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One run: a fresh second context, n round trips. Returns ns per one-way
 * switch. */
static double run_once(long n) {
    rounds = n;
    first_handoff = 0;
    sp[1] = init_frame((uintptr_t)(other_stack + STACK));
    int64_t t0 = now_ns();
    received = pingpong(0, n);
    int64_t t1 = now_ns();
    /* main's i-th switch came back with the other side's i-th handoff, i + 1 */
    uintptr_t want = (uintptr_t)n * (uintptr_t)(n + 1) / 2;
    if (received != want || first_handoff != 1)
        FAIL("run of %ld: received %lu (want %lu), first handoff %lu", n,
             (unsigned long)received, (unsigned long)want, (unsigned long)first_handoff);
    return (double)(t1 - t0) / (2.0 * (double)n);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int runs = 9;
    long n = 10 * 1000 * 1000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [-runs R] [-n round-trips]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 1000 || n < 1)
        FAIL("bad -runs/-n");
    run_once(n / 10 + 1); /* warm-up */
    double v[1000];
    for (int r = 0; r < runs; r++)
        v[r] = run_once(n);
    qsort(v, (size_t)runs, sizeof *v, cmp);
    double med = runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
    const char *emu = getenv("GORT_BENCH_EMULATED");
    printf("BENCH name=switch procs=1 impl=gort unit=ns/switch median=%.6g runs=%d min=%.6g "
           "max=%.6g switches=%ld%s\n",
           med, runs, v[0], v[runs - 1], 2 * n, emu && *emu ? " emulated=1" : "");
    return 0;
}
