/* test_thread_stacks: the threads gort starts share one mapping for their
 * stacks, each stack with a guard page below it.
 *
 * GORT_MAXPROCS=4 (set before init). Four goroutines each wait, spinning
 * on the OS thread (sched_yield, not gort_yield), until all four run at
 * once, so each holds its own M. Each records its thread's stack
 * (pthread_getattr_np) and whether it runs on the main thread (m0 keeps
 * the process's own stack).
 *
 * When goroutine stacks use MADV_GUARD_INSTALL (gort_stats counts them as
 * stacks_guard_madvise), the M stacks are slots of one mapping
 * (src/stack.rs thread_stack): every non-main thread's stack lies inside
 * the same /proc/self/maps line, and the page just below each stack is a
 * guard: write(2) from it into a pipe fails with EFAULT. Without
 * MADV_GUARD_INSTALL (older kernels, qemu-user) glibc allocates the
 * stacks as usual and the test only checks that the four ran at once.
 */
#define _GNU_SOURCE
#include "check.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

enum { N = 4 };

static atomic_int arrived, recorded;
static uintptr_t stack_lo[N];
static size_t stack_size[N];
static int on_main[N];
static gort_waitgroup wg = GORT_WAITGROUP_INIT;

static void spinner(void *arg) {
    long i = (long)(intptr_t)arg;
    atomic_fetch_add(&arrived, 1);
    while (atomic_load(&arrived) < N)
        sched_yield();
    pthread_attr_t attr;
    CHECK_EQ(pthread_getattr_np(pthread_self(), &attr), 0);
    void *lo;
    size_t size;
    CHECK_EQ(pthread_attr_getstack(&attr, &lo, &size), 0);
    pthread_attr_destroy(&attr);
    stack_lo[i] = (uintptr_t)lo;
    stack_size[i] = size;
    on_main[i] = syscall(SYS_gettid) == getpid();
    /* Hold the M until every spinner has recorded its own thread. */
    atomic_fetch_add(&recorded, 1);
    while (atomic_load(&recorded) < N)
        sched_yield();
    CHECK_OK(gort_waitgroup_done(&wg));
}

/* The /proc/self/maps line containing addr: its start, or 0. */
static uintptr_t mapping_of(uintptr_t addr, uintptr_t *end) {
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    char line[512];
    uintptr_t found = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx", &a, &b) == 2 && addr >= a && addr < b) {
            found = a;
            *end = b;
            break;
        }
    }
    fclose(f);
    return found;
}

static int page_is_guard(uintptr_t page) {
    int fds[2];
    CHECK_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    ssize_t r = write(fds[1], (void *)page, 1);
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return r < 0 && err == EFAULT;
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_gomaxprocs(), N);
    CHECK_OK(gort_waitgroup_add(&wg, N));
    for (long i = 0; i < N; i++)
        CHECK(gort_go(spinner, (void *)(intptr_t)i) > 0);
    CHECK_OK(gort_waitgroup_wait(&wg));

    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    if (st.stacks_guard_madvise == 0) {
        printf("no MADV_GUARD_INSTALL here: M stacks come from glibc; %d goroutines ran at once\n", N);
        exit(0);
    }
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t shared = 0, shared_end = 0;
    int checked = 0;
    for (int i = 0; i < N; i++) {
        if (on_main[i])
            continue;
        uintptr_t end = 0, m = mapping_of(stack_lo[i], &end);
        CHECK(m != 0);
        CHECK(stack_lo[i] + stack_size[i] <= end);
        if (shared == 0) {
            shared = m;
            shared_end = end;
        }
        CHECK_EQ(m, shared);
        CHECK_EQ(end, shared_end);
        CHECK(page_is_guard(stack_lo[i] - (uintptr_t)page));
        CHECK(!page_is_guard(stack_lo[i]));
        checked++;
    }
    CHECK(checked >= N - 1);
    printf("%d M stacks in one mapping, each above a guard page\n", checked);
    exit(0);
}

int main(int argc, char **argv) {
    /* A sanitizer's static TLS (~900 KiB for TSan) does not fit gort's
     * 256 KiB thread stack slots: under one, glibc allocates thread stacks. */
    CHECK_SKIP_UNDER_SANITIZER("thread stacks come from glibc");
    setenv("GORT_MAXPROCS", "4", 1);
    CHECK_OK(gort_init(argc, argv));
    CHECK(gort_go(main_g, NULL) > 0);
    return gort_mstart();
}
