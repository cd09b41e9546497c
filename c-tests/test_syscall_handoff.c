/* test_syscall_handoff: a goroutine blocked in read() does not stop the
 * goroutines queued behind it (Go's entersyscall/exitsyscall + retake).
 *
 * Each part runs at GORT_MAXPROCS=1 and 2 (a fresh process each):
 *   A. A goroutine blocks in read() on an empty pipe between
 *      gort_entersyscall and gort_exitsyscall. Four counting goroutines
 *      (count, yield, repeat) must each count 1,000 steps while it is still
 *      blocked; then the main goroutine (which also needs a P to run)
 *      writes the byte the reader waits for. Asserted: the reader had not
 *      returned when the counts were reached, it read exactly that byte,
 *      and gort_exitsyscall returned GORT_OK.
 *   B. The same with a plain, unannotated read() (the P is handed off after
 *      ~10 ms of C code instead of ~20 us).
 *   C. Three readers blocked in plain read() on three pipes, and a writer
 *      goroutine started after them that fills the pipes: each reader gets
 *      its own byte (the program hangs without hand-offs: the writer queues
 *      behind blocked readers).
 *   D. Misuse: gort_exitsyscall without enter and a nested
 *      gort_entersyscall return GORT_EPERM and change nothing; both calls
 *      return GORT_OK off a goroutine (a plain thread) and before init.
 *   E. Stress: 1,000 goroutines each do 20 rounds of an annotated blocking
 *      call (nanosleep 100 us) followed by a send on one channel; the
 *      collector receives exactly 20,000 values whose sum is exact; each
 *      goroutine's id is the same after every exitsyscall (no goroutine ran
 *      as another), and the threads gort_stats counts stay bounded (idle
 *      Ms are reused). The hand-offs are printed, not asserted: how many
 *      100 us calls sysmon catches depends on its sampling period.
 * A SIGALRM cap turns a hang into a failure with a message.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

enum { COUNTERS = 4, STEPS = 1000, STRESS_G = 1000, STRESS_ROUNDS = 20 };

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "hang: test_syscall_handoff did not finish in 120 s (a blocked P was not handed off?)\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(1);
}

static atomic_long counts[COUNTERS];
static atomic_int stop_counting;
static atomic_int reader_blocked, reader_returned;
static gort_waitgroup wg;

static void counter(void *arg) {
    atomic_long *c = arg;
    while (!atomic_load(&stop_counting)) {
        atomic_fetch_add(c, 1);
        CHECK_OK(gort_yield());
    }
    CHECK_OK(gort_waitgroup_done(&wg));
}

struct reader_arg {
    int fd;
    int annotate;
    char got;
    ssize_t n;
    int exit_rc;
};

static void reader(void *arg) {
    struct reader_arg *a = arg;
    if (a->annotate)
        CHECK_OK(gort_entersyscall());
    atomic_store(&reader_blocked, 1);
    a->n = read(a->fd, &a->got, 1);
    atomic_store(&reader_returned, 1);
    a->exit_rc = a->annotate ? gort_exitsyscall() : GORT_OK;
    CHECK_OK(gort_waitgroup_done(&wg));
}

/* Parts A and B. */
static void blocked_reader(int annotate) {
    int p[2];
    CHECK(pipe(p) == 0);
    for (int i = 0; i < COUNTERS; i++)
        atomic_store(&counts[i], 0);
    atomic_store(&stop_counting, 0);
    atomic_store(&reader_blocked, 0);
    atomic_store(&reader_returned, 0);
    struct reader_arg a = {p[0], annotate, 0, -1, -1};
    CHECK_OK(gort_waitgroup_add(&wg, COUNTERS + 1));
    CHECK(gort_go(reader, &a) > 0);
    for (int i = 0; i < COUNTERS; i++)
        CHECK(gort_go(counter, &counts[i]) > 0);
    /* Wait (as a goroutine: yielding) until the reader is in read() and
     * every counter made STEPS steps. */
    for (;;) {
        int done = atomic_load(&reader_blocked);
        for (int i = 0; i < COUNTERS; i++)
            done = done && atomic_load(&counts[i]) >= STEPS;
        if (done)
            break;
        CHECK_OK(gort_yield());
    }
    CHECK_EQ(atomic_load(&reader_returned), 0);
    long at_write[COUNTERS];
    for (int i = 0; i < COUNTERS; i++)
        at_write[i] = atomic_load(&counts[i]);
    char x = annotate ? 'A' : 'B';
    CHECK_EQ(write(p[1], &x, 1), 1);
    while (!atomic_load(&reader_returned))
        CHECK_OK(gort_yield());
    atomic_store(&stop_counting, 1);
    CHECK_OK(gort_waitgroup_wait(&wg));
    CHECK_EQ(a.n, 1);
    CHECK_EQ(a.got, x);
    CHECK_EQ(a.exit_rc, GORT_OK);
    fprintf(stderr, "part %c (%s read): counts while blocked %ld %ld %ld %ld\n", x,
            annotate ? "annotated" : "plain", at_write[0], at_write[1], at_write[2], at_write[3]);
    close(p[0]);
    close(p[1]);
}

/* Part C. */
static int pipes[3][2];
static char got3[3];
static atomic_int blocked3;

static void reader3(void *arg) {
    long i = (long)(intptr_t)arg;
    atomic_fetch_add(&blocked3, 1);
    CHECK_EQ(read(pipes[i][0], &got3[i], 1), 1);
    CHECK_OK(gort_waitgroup_done(&wg));
}

static void writer3(void *arg) {
    (void)arg;
    /* Started after the readers; it runs only if their Ps were handed off
     * (at 2 Ps, two of the three readers hold both Ps). */
    while (atomic_load(&blocked3) < 3)
        CHECK_OK(gort_yield());
    for (int i = 0; i < 3; i++) {
        char c = (char)('x' + i);
        CHECK_EQ(write(pipes[i][1], &c, 1), 1);
    }
    CHECK_OK(gort_waitgroup_done(&wg));
}

static void three_readers(void) {
    for (int i = 0; i < 3; i++)
        CHECK(pipe(pipes[i]) == 0);
    CHECK_OK(gort_waitgroup_add(&wg, 4));
    for (long i = 0; i < 3; i++)
        CHECK(gort_go(reader3, (void *)(intptr_t)i) > 0);
    CHECK(gort_go(writer3, NULL) > 0);
    CHECK_OK(gort_waitgroup_wait(&wg));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(got3[i], 'x' + i);
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
    fprintf(stderr, "part C: three blocked readers and their writer finished\n");
}

/* Part D. */
static void *plain_thread(void *arg) {
    (void)arg;
    CHECK_EQ(gort_entersyscall(), GORT_OK);
    CHECK_EQ(gort_entersyscall(), GORT_OK);
    CHECK_EQ(gort_exitsyscall(), GORT_OK);
    return NULL;
}

static void misuse(void) {
    CHECK_EQ(gort_exitsyscall(), GORT_EPERM);
    CHECK_OK(gort_entersyscall());
    CHECK_EQ(gort_entersyscall(), GORT_EPERM);
    CHECK_OK(gort_exitsyscall());
    CHECK_EQ(gort_exitsyscall(), GORT_EPERM);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, plain_thread, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    fprintf(stderr, "part D: misuse answered with GORT_EPERM\n");
}

/* Part E. */
static gort_chan *results;

static void stresser(void *arg) {
    long id = (long)(intptr_t)arg;
    int64_t goid = gort_goid();
    for (long r = 0; r < STRESS_ROUNDS; r++) {
        CHECK_OK(gort_entersyscall());
        struct timespec ts = {0, 100 * 1000};
        nanosleep(&ts, NULL);
        CHECK_OK(gort_exitsyscall());
        CHECK_EQ(gort_goid(), goid);
        int64_t v = id * STRESS_ROUNDS + r;
        CHECK_OK(gort_chan_send(results, &v));
    }
}

static void stress(void) {
    results = gort_chan_make(sizeof(int64_t), 16);
    CHECK(results != NULL);
    for (long i = 0; i < STRESS_G; i++)
        CHECK(gort_go(stresser, (void *)(intptr_t)i) > 0);
    long long sum = 0;
    const long total = (long)STRESS_G * STRESS_ROUNDS;
    for (long i = 0; i < total; i++) {
        int64_t v;
        CHECK_OK(gort_chan_recv(results, &v));
        CHECK(v >= 0 && v < total);
        sum += v;
    }
    CHECK_EQ(sum, (long long)total * (total - 1) / 2);
    int64_t v;
    CHECK_EQ(gort_chan_try_recv(results, &v), GORT_EAGAIN);
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    fprintf(stderr, "part E: %ld values, sum exact; hand-offs: %lld syscall, %lld preempt; threads %lld\n", total,
            (long long)st.handoffs_syscall, (long long)st.handoffs_preempt, (long long)st.threads);
    /* How many calls were handed off depends on timing (sysmon samples
     * every 20 us to 10 ms); what must hold is that threads are reused:
     * never more than the goroutines that can block at once, plus one M
     * per P, m0 and sysmon. (Parts A to C show that hand-offs happen.) */
    CHECK(st.threads <= STRESS_G + gort_gomaxprocs() + 2);
}

static void main_g(void *arg) {
    (void)arg;
    signal(SIGALRM, on_alarm);
    alarm(120);
    blocked_reader(1);
    blocked_reader(0);
    three_readers();
    misuse();
    stress();
    fprintf(stderr, "test_syscall_handoff: ok at GORT_MAXPROCS=%d\n", gort_gomaxprocs());
}

int main(int argc, char **argv) {
    CHECK_EQ(gort_entersyscall(), GORT_OK); /* before init: nothing to do */
    CHECK_EQ(gort_exitsyscall(), GORT_OK);
    return check_run_procs(argc, argv, main_g, "1,2");
}
