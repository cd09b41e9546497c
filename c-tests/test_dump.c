/* test_dump: goroutine dumps (gort_dump_goroutines, SIGQUIT,
 * GORT_TRACEBACK) and goroutine names.
 *
 * Built with -fno-omit-frame-pointer (c-tests/CMakeLists.txt), as the
 * README asks of programs that want whole traces.
 *
 * Part A (in process): the main goroutine starts one goroutine per wait
 * state, each parked in its own function `block_<state>` (not inlined),
 * called through `via_helper` for the chan receive one; waits until every
 * one of them is parked; dumps to a pipe read by a host thread; and checks,
 * for each goroutine, the exact header line `goroutine N ["name"] [state]:`
 * (chan receive, chan send, select, select (no cases), sync.Mutex.Lock,
 * sync.RWMutex.RLock, sync.RWMutex.Lock, sync.WaitGroup.Wait,
 * sync.Cond.Wait, semacquire, sleep, IO wait, syscall), that its trace
 * names the gort call it blocks in and its own function, and `created by
 * main_g in goroutine 1`; the receiver is named with gort_setname and
 * also shows `via_helper` (one frame further out: frame pointers); the
 * dumping goroutine comes first as `goroutine 1 [running]:` with main_g
 * in its trace. Also: gort_dump_goroutines(-1) -> GORT_EINVAL, to a
 * closed fd -> -EBADF; gort_setname off a goroutine -> GORT_EPERM; a
 * 40-byte name is cut to 31 bytes; NULL clears it.
 * Part B (children): the same program parked, then SIGQUIT: exit status 2,
 * stderr starts with "SIGQUIT: quit" and has the chan receive goroutine;
 * with GORT_TRACEBACK=none: status 2 and no goroutine line; with
 * GORT_TRACEBACK=crash: killed by SIGABRT; with a SIGQUIT handler the
 * host installed before gort_init: the host's handler runs (exit 7).
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define NOINLINE __attribute__((noinline))
/* After the blocking call: keeps GCC from turning it into a tail call,
 * which would take the blocker's own frame off the stack. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

static gort_chan *never, *full;
static gort_mutex mu = GORT_MUTEX_INIT;
static gort_rwmutex rw_r = GORT_RWMUTEX_INIT, rw_w = GORT_RWMUTEX_INIT;
static gort_waitgroup wg = GORT_WAITGROUP_INIT;
static gort_mutex cmu = GORT_MUTEX_INIT;
static gort_cond cv = GORT_COND_INIT;
static gort_sema sem = GORT_SEMA_INIT(0);
static int io_pipe[2], sys_pipe[2];
static atomic_int parked;

/* Each blocker announces itself just before it blocks; the dump waits a
 * little after the last one so that all have parked. */
NOINLINE void block_chan_receive(void) {
    int v;
    atomic_fetch_add(&parked, 1);
    gort_chan_recv(never, &v);
    KEEP_FRAME();
}
NOINLINE void via_helper(void) {
    CHECK_EQ(gort_setname("receiver"), GORT_OK);
    block_chan_receive();
    KEEP_FRAME();
}
NOINLINE void block_chan_send(void) {
    int v = 1;
    atomic_fetch_add(&parked, 1);
    gort_chan_send(full, &v);
    KEEP_FRAME();
}
NOINLINE void block_select(void) {
    int v;
    gort_select_case c[1] = {{never, GORT_SELECT_RECV, &v, false}};
    atomic_fetch_add(&parked, 1);
    gort_select(c, 1, -1);
    KEEP_FRAME();
}
NOINLINE void block_select_nocases(void) {
    atomic_fetch_add(&parked, 1);
    gort_select(NULL, 0, -1);
    KEEP_FRAME();
}
NOINLINE void block_mutex(void) {
    atomic_fetch_add(&parked, 1);
    gort_mutex_lock(&mu);
    KEEP_FRAME();
}
NOINLINE void block_rlock(void) {
    atomic_fetch_add(&parked, 1);
    gort_rwmutex_rlock(&rw_r);
    KEEP_FRAME();
}
NOINLINE void block_wlock(void) {
    atomic_fetch_add(&parked, 1);
    gort_rwmutex_lock(&rw_w);
    KEEP_FRAME();
}
NOINLINE void block_waitgroup(void) {
    atomic_fetch_add(&parked, 1);
    gort_waitgroup_wait(&wg);
    KEEP_FRAME();
}
NOINLINE void block_cond(void) {
    gort_mutex_lock(&cmu);
    atomic_fetch_add(&parked, 1);
    gort_cond_wait(&cv, &cmu);
    KEEP_FRAME();
}
NOINLINE void block_sema(void) {
    atomic_fetch_add(&parked, 1);
    gort_sema_acquire(&sem, 1);
    KEEP_FRAME();
}
NOINLINE void block_sleep(void) {
    atomic_fetch_add(&parked, 1);
    gort_sleep(3600LL * 1000000000LL);
    KEEP_FRAME();
}
NOINLINE void block_io(void) {
    char b;
    atomic_fetch_add(&parked, 1);
    gort_read(io_pipe[0], &b, 1);
    KEEP_FRAME();
}
NOINLINE void block_syscall(void) {
    char b;
    CHECK_EQ(gort_entersyscall(), GORT_OK);
    atomic_fetch_add(&parked, 1);
    ssize_t r = read(sys_pipe[0], &b, 1); /* blocks the thread */
    (void)r;
    gort_exitsyscall();
}

struct blocker {
    void (*fn)(void);
    const char *func;  /* its name in the trace */
    const char *state; /* expected wait state */
    const char *call;  /* the gort call in the trace, or NULL */
    int64_t id;
};
static struct blocker blockers[] = {
    {via_helper, "block_chan_receive", "chan receive", "gort_chan_recv", 0},
    {block_chan_send, "block_chan_send", "chan send", "gort_chan_send", 0},
    {block_select, "block_select", "select", "gort_select", 0},
    {block_select_nocases, "block_select_nocases", "select (no cases)", "gort_select", 0},
    {block_mutex, "block_mutex", "sync.Mutex.Lock", "gort_mutex_lock", 0},
    {block_rlock, "block_rlock", "sync.RWMutex.RLock", "gort_rwmutex_rlock", 0},
    {block_wlock, "block_wlock", "sync.RWMutex.Lock", "gort_rwmutex_lock", 0},
    {block_waitgroup, "block_waitgroup", "sync.WaitGroup.Wait", "gort_waitgroup_wait", 0},
    {block_cond, "block_cond", "sync.Cond.Wait", "gort_cond_wait", 0},
    {block_sema, "block_sema", "semacquire", "gort_sema_acquire", 0},
    {block_sleep, "block_sleep", "sleep", "gort_sleep", 0},
    {block_io, "block_io", "IO wait", "gort_read", 0},
    {block_syscall, "block_syscall", "syscall", NULL, 0},
};
#define NB ((int)(sizeof blockers / sizeof blockers[0]))

static void run_blocker(void *arg) { ((struct blocker *)arg)->fn(); }

/* Sets up every blocker and waits until all are parked. */
static void start_blockers(void) {
    never = gort_chan_make(sizeof(int), 0);
    full = gort_chan_make(sizeof(int), 0);
    CHECK(pipe(io_pipe) == 0 && pipe(sys_pipe) == 0);
    CHECK_EQ(gort_mutex_lock(&mu), GORT_OK);
    CHECK_EQ(gort_rwmutex_lock(&rw_r), GORT_OK);
    CHECK_EQ(gort_rwmutex_rlock(&rw_w), GORT_OK);
    CHECK_EQ(gort_waitgroup_add(&wg, 1), GORT_OK);
    for (int i = 0; i < NB; i++) {
        blockers[i].id = gort_go(run_blocker, &blockers[i]);
        CHECK(blockers[i].id > 1);
    }
    int64_t deadline = check_now_ns() + 30LL * 1000000000;
    while (atomic_load(&parked) < NB) {
        CHECK(check_now_ns() < deadline);
        gort_sleep(1000000);
    }
    gort_sleep(100000000); /* from "about to block" to parked */
}

/* The text of goroutine `id`'s entry: from its header to the blank line. */
static const char *entry(const char *dump, int64_t id, char *out, size_t cap) {
    char head[64];
    snprintf(head, sizeof head, "goroutine %" PRId64 " ", id);
    const char *p = dump;
    while ((p = strstr(p, head)) && p != dump && p[-1] != '\n')
        p++;
    if (!p)
        return NULL;
    const char *end = strstr(p, "\n\n");
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}

static char dump_buf[1 << 20];

static void main_g(void *arg) {
    (void)arg;
    start_blockers();
    check_dump_goroutines(dump_buf, sizeof dump_buf);
    printf("%s", dump_buf);

    /* the dumping goroutine first */
    CHECK(strncmp(dump_buf, "goroutine 1 [running]:\n", 23) == 0);
    char e[8192];
    CHECK(entry(dump_buf, 1, e, sizeof e) != NULL);
    CHECK(strstr(e, "main_g(...)") != NULL);
    for (int i = 0; i < NB; i++) {
        struct blocker *b = &blockers[i];
        if (!entry(dump_buf, b->id, e, sizeof e)) {
            fprintf(stderr, "no entry for goroutine %" PRId64 " (%s)\n", b->id, b->func);
            CHECK(0);
        }
        char head[128];
        if (i == 0)
            snprintf(head, sizeof head, "goroutine %" PRId64 " \"receiver\" [%s]:\n", b->id, b->state);
        else
            snprintf(head, sizeof head, "goroutine %" PRId64 " [%s]:\n", b->id, b->state);
        char fn[96], call[96];
        snprintf(fn, sizeof fn, "\n%s(...)\n", b->func);
        snprintf(call, sizeof call, "\n%s(...)\n", b->call ? b->call : "");
        int ok = strncmp(e, head, strlen(head)) == 0 && strstr(e, fn) && (!b->call || strstr(e, call)) &&
                 strstr(e, "created by start_blockers in goroutine 1\n");
        if (i == 0)
            ok = ok && strstr(e, "\nvia_helper(...)\n");
        if (!ok)
            fprintf(stderr, "entry of %s does not match (want header %s, %s, %s):\n%s\n", b->func, head, fn,
                    b->call ? call : "-", e);
        CHECK(ok);
    }
    printf("dump: %d goroutines in %d states, each with its gort call, its function and its creator\n", NB + 1, NB);

    /* errors and names */
    CHECK_EQ(gort_dump_goroutines(-1), GORT_EINVAL);
    int dead[2];
    CHECK(pipe(dead) == 0);
    close(dead[1]);
    CHECK_EQ(gort_dump_goroutines(dead[1]), -EBADF);
    close(dead[0]);
    CHECK_EQ(gort_setname("0123456789012345678901234567890123456789"), GORT_OK);
    check_dump_goroutines(dump_buf, sizeof dump_buf);
    CHECK(strncmp(dump_buf, "goroutine 1 \"0123456789012345678901234567890\" [running]:\n", 57) == 0);
    CHECK_EQ(gort_setname(NULL), GORT_OK);
    printf("names: set, cut to 31 bytes, cleared\n");

    /* SIGQUIT and GORT_TRACEBACK in children. ThreadSanitizer defers an
     * asynchronous signal until the thread it landed on enters an
     * intercepted libc call, and gort's idle threads wait in raw futex
     * calls: the dump may never come, so those runs are skipped there. */
    if (check_sanitizer() && !strcmp(check_sanitizer(), "thread")) {
        printf("SIGQUIT: skipped under ThreadSanitizer (it defers asynchronous signals)\n");
        printf("test_dump: ok\n");
        return;
    }
    static char out[1 << 18];
    struct {
        const char *env, *mode;
    } runs[] = {{NULL, "quit"}, {"GORT_TRACEBACK=none", "quit"}, {"GORT_TRACEBACK=crash", "quit"}, {NULL, "hostquit"}};
    for (int i = 0; i < 4; i++) {
        char *args[] = {(char *)runs[i].mode, NULL};
        char *envs[] = {(char *)runs[i].env, NULL};
        int st = check_run_self(args, runs[i].env ? envs : NULL, out, sizeof out);
        int n_lines = 0;
        for (const char *p = out; (p = strstr(p, "\ngoroutine ")); p++)
            n_lines++;
        fprintf(stderr, "child %s %s: status 0x%x, %d goroutine headers\n", runs[i].mode,
                runs[i].env ? runs[i].env : "", st, n_lines);
        if (i == 0) {
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
            CHECK(strstr(out, "SIGQUIT: quit\nPC=0x") != NULL);
            CHECK(strstr(out, "\"receiver\" [chan receive]:") != NULL);
            CHECK(n_lines >= NB + 1);
        } else if (i == 1) {
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
            CHECK(strstr(out, "SIGQUIT: quit") != NULL);
            CHECK_EQ(n_lines, 0);
        } else if (i == 2) {
            CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
            CHECK(n_lines >= NB + 1);
        } else {
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
            CHECK(strstr(out, "HOST-QUIT") != NULL);
            CHECK(strstr(out, "SIGQUIT: quit") == NULL);
        }
    }
    printf("SIGQUIT: dump + exit 2; none: no dump; crash: SIGABRT; a host handler keeps SIGQUIT\n");
    printf("test_dump: ok\n");
}

/* Child: park everything, then have the parent... no: signal ourselves
 * from a host thread, the way `kill -QUIT` from outside would land. */
static void *quitter(void *arg) {
    (void)arg;
    while (atomic_load(&parked) < NB)
        usleep(1000);
    usleep(200000);
    kill(getpid(), SIGQUIT);
    sleep(30);
    return NULL;
}

static void child_g(void *arg) {
    (void)arg;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, quitter, NULL) == 0);
    start_blockers();
    gort_sleep(30LL * 1000000000);
    fprintf(stderr, "child: SIGQUIT did not end the process\n");
    exit(1);
}

static void host_quit(int sig) {
    (void)sig;
    static const char m[] = "HOST-QUIT\n";
    ssize_t r = write(2, m, sizeof m - 1);
    (void)r;
    _exit(7);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && !strcmp(argv[1], "quit"))
        return check_run_main(argc, argv, child_g);
    if (argc > 1 && !strcmp(argv[1], "hostquit")) {
        signal(SIGQUIT, host_quit);
        return check_run_main(argc, argv, child_g);
    }
    CHECK_EQ(gort_setname("x"), GORT_ENOTINIT);
    CHECK_EQ(gort_dump_goroutines(1), GORT_ENOTINIT);
    CHECK_OK(gort_init(argc, argv));
    CHECK_EQ(gort_setname("x"), GORT_EPERM); /* not a goroutine */
    CHECK_EQ(gort_go(main_g, NULL), 1);
    return gort_mstart();
}
