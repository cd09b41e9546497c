/* test_gdb_goroutines: the gdb extension (scripts/gdb/gort-gdb.py) lists
 * goroutines and shows a parked goroutine's backtrace.
 *
 * The child runs at GORT_MAXPROCS=1 with six goroutines besides the main
 * one, each started in its own function: gdbt_recv (chan receive),
 * gdbt_lock (sync.Mutex.Lock), gdbt_sleep (sleep), gdbt_named (named
 * "named-one", sync.WaitGroup.Wait), gdbt_spin (gort_yield in a loop:
 * runnable, since the main goroutine holds the only P; see SPIN_RUNNING
 * for the exception) and gdbt_syscall (blocked in read(2) between
 * gort_entersyscall and gort_exitsyscall: a running goroutine on a thread
 * of its own), and gdbt_bigstack (gort_go_ex with a 1 MiB stack, named
 * "big-stack", chan receive: its stack is in a slab of another unit size;
 * `goroutine 8 bt` must reach it too). Once all are parked the main goroutine calls gdbt_ready,
 * where gdb (batch mode, on a child copy of this program) stops, sources
 * the extension (its path comes from
 * c-tests/CMakeLists.txt as GORT_GDB_SCRIPT: the installed
 * share/gort/gort-gdb.py, else the source tree's) and runs:
 *   - `info goroutines`: exactly one line per goroutine, e.g.
 *     `  2 [chan receive] gdbt_recv in gort_chan_recv`, the named one as
 *     `  5 "named-one" [sync.WaitGroup.Wait] ...`, and
 *     `* 1 [running] child_main in gdbt_ready (thread N)` (the selected
 *     thread's goroutine);
 *   - `goroutine 2 bt`: gort_chan_recv, then gdbt_recv, then gort_gostart
 *     as the last frame, and no unwinding error ("Backtrace stopped",
 *     "corrupt stack");
 *   - `goroutine 6 bt` (runnable: gort_yield, gdbt_spin) and `goroutine 7
 *     bt` (running: "is running on thread", then that thread's frames down
 *     to gdbt_syscall);
 *   - `info goroutines` and `bt` again: the selected thread's registers are
 *     back (goroutine 1 still in gdbt_ready, frame #0 gdbt_ready).
 * Skipped (exit 77) under an emulator (gdb cannot drive a qemu-user guest
 * this way) or when gdb (with Python) is missing and GORT_TEST_REQUIRE_GDB
 * is unset.
 */
#include "check.h"

#include <stdatomic.h>

#ifndef GORT_GDB_SCRIPT
#error "GORT_GDB_SCRIPT (the path of gort-gdb.py) comes from c-tests/CMakeLists.txt"
#endif

#define NOINLINE __attribute__((noinline))
/* After the blocking call: keeps GCC from making it a tail call, which
 * would take the goroutine's own frame off the stack. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

static gort_chan *never;
static gort_mutex mu = GORT_MUTEX_INIT;
static gort_waitgroup wg = GORT_WAITGROUP_INIT;
static int sys_pipe[2];
static atomic_int parked;

NOINLINE void gdbt_recv(void *arg) {
    (void)arg;
    int v;
    atomic_fetch_add(&parked, 1);
    gort_chan_recv(never, &v);
    KEEP_FRAME();
}
NOINLINE void gdbt_lock(void *arg) {
    (void)arg;
    atomic_fetch_add(&parked, 1);
    gort_mutex_lock(&mu);
    KEEP_FRAME();
}
NOINLINE void gdbt_sleep(void *arg) {
    (void)arg;
    atomic_fetch_add(&parked, 1);
    gort_sleep(3600LL * 1000000000LL);
    KEEP_FRAME();
}
NOINLINE void gdbt_named(void *arg) {
    (void)arg;
    CHECK_EQ(gort_setname("named-one"), GORT_OK);
    atomic_fetch_add(&parked, 1);
    gort_waitgroup_wait(&wg);
    KEEP_FRAME();
}
NOINLINE void gdbt_spin(void *arg) {
    (void)arg;
    atomic_fetch_add(&parked, 1);
    for (;;) {
        gort_yield();
        KEEP_FRAME();
    }
}
NOINLINE void gdbt_syscall(void *arg) {
    (void)arg;
    char b;
    CHECK_EQ(gort_entersyscall(), GORT_OK);
    atomic_fetch_add(&parked, 1);
    ssize_t r = read(sys_pipe[0], &b, 1); /* blocks the thread */
    (void)r;
    gort_exitsyscall();
}

/* Started by gort_go_ex with a 1 MiB stack: its units live in slabs of
 * another size, which the extension must walk too. */
NOINLINE void gdbt_bigstack(void *arg) {
    (void)arg;
    int v;
    atomic_fetch_add(&parked, 1);
    gort_chan_recv(never, &v);
    KEEP_FRAME();
}

/* gdb's breakpoint. */
NOINLINE void gdbt_ready(void) { KEEP_FRAME(); }

struct gspec {
    void (*fn)(void *);
    const char *line; /* the exact `info goroutines` line, or its prefix */
    int prefix;       /* line is a prefix (running goroutines name a thread) */
    const char *alt;  /* another acceptable line prefix, or NULL */
};
/* The spinner is runnable unless sysmon handed the P to another thread
 * because the main goroutine sat in C code (at the breakpoint) for 10 ms
 * before gdb had stopped every thread: then both run. Unlikely under
 * ptrace, which stops the threads at once, but possible on a loaded
 * machine, so it is accepted (and said). */
#define SPIN_RUNNING "  6 [running] gdbt_spin in "
static const struct gspec gs[] = {
    {NULL, "* 1 [running] child_main in gdbt_ready (thread ", 1, NULL},
    {gdbt_recv, "  2 [chan receive] gdbt_recv in gort_chan_recv", 0, NULL},
    {gdbt_lock, "  3 [sync.Mutex.Lock] gdbt_lock in gort_mutex_lock", 0, NULL},
    {gdbt_sleep, "  4 [sleep] gdbt_sleep in gort_sleep", 0, NULL},
    {gdbt_named, "  5 \"named-one\" [sync.WaitGroup.Wait] gdbt_named in gort_waitgroup_wait", 0, NULL},
    {gdbt_spin, "  6 [runnable] gdbt_spin in gort_yield", 0, SPIN_RUNNING},
    {gdbt_syscall, "  7 [syscall] gdbt_syscall in ", 1, NULL},
    {gdbt_bigstack, "  8 \"big-stack\" [chan receive] gdbt_bigstack in gort_chan_recv", 0, NULL},
};
#define NG ((int)(sizeof gs / sizeof gs[0]))

static void child_main(void *arg) {
    (void)arg;
    never = gort_chan_make(sizeof(int), 0);
    CHECK(never != NULL);
    CHECK(pipe(sys_pipe) == 0);
    CHECK_EQ(gort_mutex_lock(&mu), GORT_OK);
    CHECK_EQ(gort_waitgroup_add(&wg, 1), GORT_OK);
    for (int i = 1; i < NG; i++) {
        gort_go_opts big = {.stack_size = 1 << 20, .name = "big-stack"};
        if (gs[i].fn == gdbt_bigstack)
            CHECK_EQ(gort_go_ex(gs[i].fn, NULL, &big), i + 1);
        else
            CHECK_EQ(gort_go(gs[i].fn, NULL), i + 1); /* ids as the parent expects */
    }
    int64_t deadline = check_now_ns() + 30LL * 1000000000;
    while (atomic_load(&parked) < NG - 1) {
        CHECK(check_now_ns() < deadline);
        gort_sleep(1000000);
    }
    gort_sleep(200000000); /* from "about to block" to parked */
    gdbt_ready();
    exit(0);
}

/* The part of out between the line "==name==" and the next "==" line. */
static char *section(const char *out, const char *name) {
    char head[64];
    snprintf(head, sizeof head, "\n==%s==\n", name);
    const char *p = strstr(out, head);
    if (p == NULL) {
        fprintf(stderr, "no section %s in gdb's output\n", name);
        _exit(1);
    }
    p += strlen(head);
    const char *end = strstr(p, "\n==");
    size_t len = end ? (size_t)(end - p) + 1 : strlen(p);
    char *s = malloc(len + 1);
    CHECK(s != NULL);
    memcpy(s, p, len);
    s[len] = 0;
    return s;
}

/* Number of lines of text that equal line (or start with it). */
static int count_lines(const char *text, const char *line, int prefix) {
    int n = 0;
    size_t ll = strlen(line);
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (prefix ? (len >= ll && memcmp(p, line, ll) == 0) : (len == ll && memcmp(p, line, ll) == 0))
            n++;
        p += len + (eol != NULL);
    }
    return n;
}

/* Lines that look like goroutine lines: "* N " or "  N ". */
static int goroutine_lines(const char *text) {
    int n = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > 3 && (p[0] == '*' || p[0] == ' ') && p[1] == ' ' && p[2] >= '0' && p[2] <= '9')
            n++;
        p += len + (eol != NULL);
    }
    return n;
}

/* The number of the first "#N ... name" frame line of a backtrace, or -1. */
static int find_frame(const char *bt, const char *name) {
    const char *p = bt;
    if (*p == '#')
        goto line;
    while ((p = strstr(p, "\n#")) != NULL) {
        p++;
    line:;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char buf[512];
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        memcpy(buf, p, len);
        buf[len] = 0;
        char *fn = strstr(buf, name);
        /* the name as a whole word: "gdbt_recv (" or " in gdbt_recv (" */
        if (fn && (fn[strlen(name)] == ' ' || fn[strlen(name)] == '(') && (fn == buf || fn[-1] == ' '))
            return atoi(buf + 1);
        p += len;
    }
    return -1;
}

static int last_frame(const char *bt) {
    int last = -1;
    for (const char *p = bt; (p = strstr(p, "#")) != NULL; p++)
        if ((p == bt || p[-1] == '\n') && p[1] >= '0' && p[1] <= '9')
            last = atoi(p + 1);
    return last;
}

static void check_clean(const char *what, const char *text) {
    if (strstr(text, "Backtrace stopped") || strstr(text, "corrupt stack") ||
        strstr(text, "Python Exception") || strstr(text, "Error occurred in Python")) {
        fprintf(stderr, "%s: unwinding or Python error:\n%s\n", what, text);
        _exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        setenv("GORT_MAXPROCS", "1", 1);
        return check_run_main(argc, argv, child_main);
    }

    if (getenv("GORT_TEST_EMULATOR")) {
        printf("SKIP: under an emulator\n");
        return 77;
    }
    if (system("gdb -nx -batch -ex 'python print(1)' >/dev/null 2>&1") != 0) {
        if (getenv("GORT_TEST_REQUIRE_GDB")) {
            fprintf(stderr, "gdb (with Python) is required but not installed\n");
            return 1;
        }
        printf("SKIP: gdb with Python not installed\n");
        return 77;
    }
    if (access(GORT_GDB_SCRIPT, R_OK) != 0) {
        fprintf(stderr, "cannot read the gdb extension %s\n", GORT_GDB_SCRIPT);
        return 1;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(n > 0);
    exe[n] = 0;
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "gdb -nx -batch -ex 'set pagination off' -ex 'set debuginfod enabled off' "
             "-ex 'set width unlimited' -ex 'break gdbt_ready' -ex run "
             "-ex 'source %s' "
             "-ex 'echo \\n==info==\\n' -ex 'info goroutines' "
             "-ex 'echo \\n==bt2==\\n' -ex 'goroutine 2 bt' "
             "-ex 'echo \\n==bt6==\\n' -ex 'goroutine 6 bt' "
             "-ex 'echo \\n==bt7==\\n' -ex 'goroutine 7 bt' "
             "-ex 'echo \\n==bt8==\\n' -ex 'goroutine 8 bt' "
             "-ex 'echo \\n==info-again==\\n' -ex 'info goroutines' "
             "-ex 'echo \\n==bt==\\n' -ex bt "
             "-ex 'echo \\n==end==\\n' -ex kill --args '%s' child 2>&1",
             GORT_GDB_SCRIPT, exe);
    printf("%s\n", cmd);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    static char out[1 << 17];
    size_t len = 1;
    out[0] = '\n';
    size_t r;
    while ((r = fread(out + len, 1, sizeof out - 1 - len, f)) > 0)
        len += r;
    out[len] = 0;
    pclose(f);
    printf("%s\n", out);

    /* info goroutines: one line per goroutine, each as expected. */
    const char *names[] = {"info", "info-again"};
    for (int k = 0; k < 2; k++) {
        char *info = section(out, names[k]);
        check_clean(names[k], info);
        CHECK_EQ(goroutine_lines(info), NG);
        for (int i = 0; i < NG; i++) {
            if (gs[i].alt && count_lines(info, gs[i].alt, 1) == 1) {
                printf("NOTE: %s: accepted \"%s...\"\n", names[k], gs[i].alt);
                continue;
            }
            if (count_lines(info, gs[i].line, gs[i].prefix) != 1) {
                fprintf(stderr, "%s: no line %s\"%s\"\n", names[k], gs[i].prefix ? "starting with " : "",
                        gs[i].line);
                return 1;
            }
        }
        /* the running goroutines name their thread */
        char *p = strstr(info, "  7 [syscall] gdbt_syscall in ");
        CHECK(p != NULL);
        char *eol = strchr(p, '\n');
        CHECK(eol != NULL && eol - p > 10 && memcmp(eol - 1, ")", 1) == 0);
        CHECK(strstr(p, "(thread ") != NULL && strstr(p, "(thread ") < eol);
        free(info);
    }

    /* goroutine 2 bt: blocked in gort_chan_recv, called by gdbt_recv,
     * down to gort_gostart and no further. */
    char *bt2 = section(out, "bt2");
    check_clean("goroutine 2 bt", bt2);
    int recv = find_frame(bt2, "gort_chan_recv");
    int start = find_frame(bt2, "gdbt_recv");
    int gostart = find_frame(bt2, "gort_gostart");
    CHECK(recv >= 0);
    CHECK_EQ(start, recv + 1);
    CHECK_EQ(gostart, start + 1);
    CHECK_EQ(last_frame(bt2), gostart);

    /* goroutine 8 bt: the same from a 1 MiB gort_go_ex stack. */
    char *bt8 = section(out, "bt8");
    check_clean("goroutine 8 bt", bt8);
    int recv8 = find_frame(bt8, "gort_chan_recv");
    CHECK(recv8 >= 0);
    CHECK_EQ(find_frame(bt8, "gdbt_bigstack"), recv8 + 1);
    CHECK_EQ(find_frame(bt8, "gort_gostart"), recv8 + 2);
    free(bt8);

    /* goroutine 6 bt: runnable, in gort_yield in gdbt_spin (unless it was
     * found running, see SPIN_RUNNING: then its thread's frames). */
    char *bt6 = section(out, "bt6");
    if (strstr(bt6, "goroutine 6 is running on thread ") != NULL) {
        printf("NOTE: goroutine 6 was running: its runnable backtrace is not checked\n");
        char *info = section(out, "info");
        CHECK(count_lines(info, SPIN_RUNNING, 1) == 1);
        free(info);
    } else {
        check_clean("goroutine 6 bt", bt6);
        int yield = find_frame(bt6, "gort_yield");
        CHECK(yield >= 0);
        CHECK_EQ(find_frame(bt6, "gdbt_spin"), yield + 1);
        CHECK_EQ(last_frame(bt6), yield + 2);
    }

    /* goroutine 7 bt: running on its own thread, in read(2). */
    char *bt7 = section(out, "bt7");
    check_clean("goroutine 7 bt", bt7);
    CHECK(strstr(bt7, "goroutine 7 is running on thread ") != NULL);
    CHECK(find_frame(bt7, "gdbt_syscall") > 0);

    /* The selected thread's registers are back. */
    char *bt = section(out, "bt");
    check_clean("bt", bt);
    CHECK_EQ(find_frame(bt, "gdbt_ready"), 0);
    CHECK(find_frame(bt, "child_main") > 0);

    free(bt2);
    free(bt6);
    free(bt7);
    free(bt);
    printf("PASS: info goroutines and goroutine N bt\n");
    return 0;
}
