/* test_gdb_backtrace: a debugger's backtrace of a goroutine ends cleanly at
 * its start function.
 *
 * gort_gostart, the bottom frame of every goroutine, marks the return
 * address column undefined in its CFI, so gdb stops there instead of
 * unwinding into whatever lies above the goroutine's first frame. The test
 * runs gdb in batch mode on a child copy of itself, stops in a function
 * three calls deep in a goroutine, and checks the backtrace:
 *   - frames, innermost first: leaf, middle, goroutine_start, gort_gostart;
 *   - gort_gostart is the last frame;
 *   - gdb reports no unwinding error ("Backtrace stopped", "corrupt stack").
 * Skipped (exit 77) when running under an emulator (gdb cannot attach to a
 * qemu-user guest this way) or when gdb is missing and GORT_TEST_REQUIRE_GDB
 * is unset.
 */
#include "check.h"

#include <stdatomic.h>

static atomic_int done;

__attribute__((noinline)) void gort_test_leaf(int depth) {
    __asm__ volatile("" ::: "memory");
    if (depth > 0) /* never true; keeps the call real */
        gort_test_leaf(depth - 1);
    atomic_store(&done, 1);
}

__attribute__((noinline)) void gort_test_middle(int x) {
    gort_test_leaf(x);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void gort_test_goroutine_start(void *arg) {
    (void)arg;
    gort_test_middle(0);
    __asm__ volatile("" ::: "memory");
}

static void child_main(void *arg) {
    (void)arg;
    CHECK(gort_go(gort_test_goroutine_start, NULL) > 0);
    while (!atomic_load(&done))
        gort_yield();
}

static int find_frame(const char *bt, const char *name) {
    /* returns the frame number of the first "#N ... name" line, or -1 */
    const char *p = bt;
    while ((p = strstr(p, "\n#")) != NULL) {
        p++;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[512];
        if (len >= sizeof line)
            len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = 0;
        if (strstr(line, name))
            return atoi(line + 1);
    }
    return -1;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return check_run_main(argc, argv, child_main);

    if (getenv("GORT_TEST_EMULATOR")) {
        printf("SKIP: under an emulator\n");
        return 77;
    }
    if (system("gdb --version >/dev/null 2>&1") != 0) {
        if (getenv("GORT_TEST_REQUIRE_GDB")) {
            fprintf(stderr, "gdb is required but not installed\n");
            return 1;
        }
        printf("SKIP: gdb not installed\n");
        return 77;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(n > 0);
    exe[n] = 0;
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "GORT_MAXPROCS=1 gdb -nx -batch -ex 'set pagination off' -ex 'set debuginfod enabled off' "
             "-ex 'break gort_test_leaf' -ex run -ex bt -ex kill --args '%s' child 2>&1",
             exe);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    static char out[1 << 16];
    size_t len = 0;
    out[0] = '\n';
    len = 1;
    size_t r;
    while ((r = fread(out + len, 1, sizeof out - 1 - len, f)) > 0)
        len += r;
    out[len] = 0;
    pclose(f);
    printf("%s\n", out);

    int leaf = find_frame(out, "gort_test_leaf");
    int middle = find_frame(out, "gort_test_middle");
    int start = find_frame(out, "gort_test_goroutine_start");
    int gostart = find_frame(out, "gort_gostart");
    CHECK_EQ(leaf, 0);
    CHECK_EQ(middle, 1);
    CHECK_EQ(start, 2);
    CHECK_EQ(gostart, 3);
    char next[16];
    snprintf(next, sizeof next, "\n#%d ", gostart + 1);
    CHECK(strstr(out, next) == NULL); /* nothing below gort_gostart */
    CHECK(strstr(out, "Backtrace stopped") == NULL);
    CHECK(strstr(out, "corrupt stack") == NULL);
    printf("PASS: backtrace ends at gort_gostart (frame %d)\n", gostart);
    return 0;
}
