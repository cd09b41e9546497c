/* test_inittrace: GORT_DEBUG=inittrace=1 prints Go's boot sequence, in
 * order, and nothing without it.
 *
 * What: a re-exec'ed child runs the hello-like program-mode flow (init, go
 * main, mstart; main spawns a few goroutines, waits, returns) with
 * GORT_DEBUG=inittrace=1. Its stderr lines starting with "gort: boot @"
 * are parsed ("gort: boot @<ms>ms: <step>: <details>"). Asserted:
 *  - the steps, with consecutive repeats collapsed, are exactly
 *    rt0_go, args, osinit, schedinit, newproc, mstart, runtime.main;
 *  - timestamps never decrease;
 *  - rt0_go says mode=program; args has argc=3 and argv[0]; osinit has
 *    ncpu= and physPageSize=; schedinit has procs=3 (from GORT_MAXPROCS)
 *    and maxmcount=10000; newproc and runtime.main name goid=1;
 *  - the child exits 0.
 * Without GORT_DEBUG (unset in the child), with it empty, and with
 * GORT_DEBUG=inittrace=0, the same flow prints
 * no "gort: boot" line at all.
 * Library mode (gort_init_lib) with inittrace=1: rt0_go says
 * mode=c-archive, then args, osinit, schedinit, newproc in this order,
 * followed by mstart and runtime.main (these two race: the init thread
 * prints mstart while m0 may already run runtime.main), and runtime.main
 * is goroutine 1 ("runtime.main: goid=1 ").
 *
 * Regression check for a runtime bug found by this test: the c-archive
 * runtime.main traced its goid with gort_goid() before the runtime was
 * marked ready, so the line read "runtime.main: goid=-1000" (GORT_ENOTINIT).
 */
#define _GNU_SOURCE
#include "check.h"

#include <stdatomic.h>

/* ---- child ---- */

static atomic_int done;

static void greet(void *arg) {
    (void)arg;
    atomic_fetch_add(&done, 1);
}

static void hello_main(void *arg) {
    (void)arg;
    for (int i = 0; i < 8; i++)
        CHECK(gort_go(greet, NULL) > 1);
    while (atomic_load(&done) < 8)
        gort_yield();
}

/* ---- parent ---- */

static char out[1 << 16];

struct step {
    double ms;
    char name[32];
    const char *line; /* into out */
};

static int parse(struct step *steps, int max) {
    int n = 0;
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, "gort: boot @", 12) != 0)
            continue;
        CHECK(n < max);
        struct step *s = &steps[n++];
        s->line = p;
        s->name[0] = 0;
        CHECK(sscanf(p, "gort: boot @%lfms: %31[^:\n]", &s->ms, s->name) == 2);
    }
    return n;
}

static int line_has(const struct step *s, const char *needle) {
    const char *end = strchr(s->line, '\n');
    size_t len = end ? (size_t)(end - s->line) : strlen(s->line);
    char buf[512];
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, s->line, len);
    buf[len] = 0;
    if (!strstr(buf, needle)) {
        fprintf(stderr, "boot line \"%s\" lacks \"%s\"\n", buf, needle);
        return 0;
    }
    return 1;
}

static const struct step *find(const struct step *steps, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(steps[i].name, name))
            return &steps[i];
    fprintf(stderr, "no boot line for step %s\n", name);
    CHECK(0);
    return NULL;
}

static int run_child(const char *mode, const char *debug) {
    char *args[] = {(char *)mode, (char *)(debug ? debug : "unset"), NULL};
    int st = check_run_self(args, NULL, out, sizeof out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "child %s (GORT_DEBUG=%s): status 0x%x; stderr:\n%s\n", mode, args[1], st, out);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    return st;
}

static void check_program(void) {
    run_child("program", "inittrace=1");
    struct step steps[64];
    int n = parse(steps, 64);
    static const char *const want[] = {"rt0_go", "args", "osinit", "schedinit", "newproc", "mstart", "runtime.main"};
    const int nwant = (int)(sizeof want / sizeof want[0]);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0) {
            CHECK(steps[i].ms >= steps[i - 1].ms);
            if (!strcmp(steps[i].name, steps[i - 1].name))
                continue;
        }
        if (k >= nwant || strcmp(steps[i].name, want[k]) != 0) {
            fprintf(stderr, "boot step %d is \"%s\", want \"%s\"; stderr:\n%s\n", k, steps[i].name,
                    k < nwant ? want[k] : "(end)", out);
            CHECK(0);
        }
        k++;
    }
    if (k != nwant)
        fprintf(stderr, "only %d of %d boot steps; stderr:\n%s\n", k, nwant, out);
    CHECK_EQ(k, nwant);
    CHECK(line_has(find(steps, n, "rt0_go"), "mode=program"));
    CHECK(line_has(find(steps, n, "args"), "argc=3 argv[0]=\"/proc/self/exe\""));
    CHECK(line_has(find(steps, n, "osinit"), "ncpu="));
    CHECK(line_has(find(steps, n, "osinit"), "physPageSize="));
    CHECK(line_has(find(steps, n, "schedinit"), "procs=3 (from GORT_MAXPROCS)"));
    CHECK(line_has(find(steps, n, "schedinit"), "maxmcount=10000"));
    CHECK(line_has(find(steps, n, "newproc"), "goid=1 "));
    CHECK(line_has(find(steps, n, "runtime.main"), "goid=1 "));
    printf("program mode: %d boot lines, steps in order:", n);
    for (int i = 0; i < nwant; i++)
        printf(" %s", want[i]);
    printf("\n");
}

static void check_silent(const char *debug) {
    run_child("program", debug);
    if (strstr(out, "gort: boot"))
        fprintf(stderr, "GORT_DEBUG=%s printed boot lines:\n%s\n", debug ? debug : "(unset)", out);
    CHECK(strstr(out, "gort: boot") == NULL);
    printf("GORT_DEBUG=%s: no boot lines\n", debug ? debug : "(unset)");
}

static void check_lib(void) {
    run_child("lib", "inittrace=1");
    struct step steps[64];
    int n = parse(steps, 64);
    static const char *const ordered[] = {"rt0_go", "args", "osinit", "schedinit", "newproc"};
    if (n < 7)
        fprintf(stderr, "lib mode: %d boot lines; stderr:\n%s\n", n, out);
    CHECK(n >= 7);
    for (int i = 0; i < 5; i++) {
        if (strcmp(steps[i].name, ordered[i]))
            fprintf(stderr, "lib mode: boot step %d is \"%s\", want \"%s\"\n", i, steps[i].name, ordered[i]);
        CHECK_EQ(strcmp(steps[i].name, ordered[i]), 0);
    }
    int mstart = 0, rtmain = 0;
    for (int i = 5; i < n; i++) {
        mstart += !strcmp(steps[i].name, "mstart");
        rtmain += !strcmp(steps[i].name, "runtime.main");
    }
    CHECK_EQ(mstart, 1);
    CHECK_EQ(rtmain, 1);
    CHECK(line_has(find(steps, n, "rt0_go"), "mode=c-archive"));
    CHECK(line_has(find(steps, n, "newproc"), "goid=1 "));
    CHECK(line_has(find(steps, n, "runtime.main"), "goid=1 ")); /* runtime.main is goroutine 1 */
    printf("library mode: boot steps in order, runtime.main is goroutine 1\n");
}

int main(int argc, char **argv) {
    if (argc > 2) {
        setenv("GORT_MAXPROCS", "3", 1);
        if (!strcmp(argv[2], "unset"))
            unsetenv("GORT_DEBUG");
        else
            setenv("GORT_DEBUG", argv[2], 1);
        if (!strcmp(argv[1], "program"))
            return check_run_main(argc, argv, hello_main);
        if (!strcmp(argv[1], "lib")) {
            CHECK_OK(gort_init_lib(argc, argv));
            CHECK(gort_go(greet, NULL) > 1);
            while (atomic_load(&done) < 1)
                usleep(1000);
            return 0;
        }
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress survives a failing CHECK */
    check_program();
    check_silent(NULL);
    check_silent("");
    check_silent("inittrace=0");
    check_lib();
    printf("test_inittrace: ok\n");
    return 0;
}
