/* test_cgroup_procs: the default number of Ps honours the cgroup CPU limit
 * (Go 1.25's container-aware GOMAXPROCS), and the inittrace schedinit line
 * says which bound decided.
 *
 * What: re-exec'ed children, each in a private mount namespace where fake
 * files are bind-mounted over /proc/<pid>/cgroup and /proc/<pid>/mountinfo
 * (pointing at a fake cgroup tree under a temporary directory), run
 * gort_init with GORT_DEBUG=inittrace=1 and report gort_gomaxprocs().
 * gort reads the real /proc/self paths: there is no test hook in the
 * library. With N = the CPUs in the affinity mask:
 *  - v2 cpu.max "150000 100000" (1.5 CPUs, rounds up to 2) and
 *    "50000 100000" (0.5 CPUs, Go's minimum of 2): procs = min(N, 2); the
 *    line says "from cgroup cpu.max ..." when N > 2, else "from affinity
 *    mask; cgroup cpu.max ... allows 2" (ties go to the mask, as in Go);
 *  - v1, container without a cgroup namespace (cgroup /docker/abc, mounted
 *    with that root), quota 250000 period 100000: min(N, 3);
 *  - the affinity mask pinned to 1 CPU with the 0.5-CPU limit: 1 (the
 *    minimum of 2 never raises the mask);
 *  - cpu.max "max 100000" and a malformed cpu.max: N, "no cgroup CPU
 *    limit", and init succeeds;
 *  - GORT_MAXPROCS=3 wins over the limit ("from GORT_MAXPROCS");
 *    GORT_DEBUG=containermaxprocs=0 ignores it.
 * Skipped (77) where no mount namespace can be made (neither
 * unshare(CLONE_NEWNS) nor an unprivileged user namespace is allowed).
 * The namespace's mounts are private, so nothing leaks to the host.
 */
#define _GNU_SOURCE
#include "check.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

/* ---- child ---- */

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* A mount namespace whose mounts do not propagate back; NULL on success,
 * else what failed. Must run before any thread exists (user namespaces). */
static const char *enter_private_mounts(void) {
    if (unshare(CLONE_NEWNS) != 0) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
            return "unshare(CLONE_NEWNS) and unshare(CLONE_NEWUSER|CLONE_NEWNS)";
        char map[64];
        write_file("/proc/self/setgroups", "deny"); /* absent before Linux 3.19 */
        snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
        if (write_file("/proc/self/uid_map", map) != 0)
            return "writing uid_map";
        snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
        if (write_file("/proc/self/gid_map", map) != 0)
            return "writing gid_map";
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return "making / private";
    return NULL;
}

static int child(const char *dir, int ncpu) {
    const char *why = enter_private_mounts();
    char src[4096], dst[64];
    for (int i = 0; !why && i < 2; i++) {
        const char *name = i ? "mountinfo" : "cgroup";
        snprintf(src, sizeof src, "%s/%s", dir, name);
        snprintf(dst, sizeof dst, "/proc/%d/%s", (int)getpid(), name);
        if (mount(src, dst, NULL, MS_BIND, NULL) != 0)
            why = "bind-mounting over /proc/<pid>/cgroup or mountinfo";
    }
    if (why) {
        fprintf(stderr, "NO-NAMESPACE: %s: %s\n", why, strerror(errno));
        return 0;
    }
    if (ncpu > 0) { /* keep the first ncpu CPUs of the mask */
        cpu_set_t cur, set;
        CHECK(sched_getaffinity(0, sizeof cur, &cur) == 0);
        CPU_ZERO(&set);
        for (int c = 0, n = 0; c < CPU_SETSIZE && n < ncpu; c++)
            if (CPU_ISSET(c, &cur)) {
                CPU_SET(c, &set);
                n++;
            }
        CHECK(sched_setaffinity(0, sizeof set, &set) == 0);
    }
    CHECK_OK(gort_init(0, NULL));
    fprintf(stderr, "PROCS=%d\n", gort_gomaxprocs());
    return 0;
}

/* ---- parent: the fake tree ---- */

static char dir[] = "/tmp/gort-cgroup-XXXXXX";
static char made[32][4096]; /* created paths, removed in reverse */
static int nmade;

static void remember(const char *path) {
    for (int i = 0; i < nmade; i++)
        if (!strcmp(made[i], path))
            return;
    CHECK(nmade < 32);
    snprintf(made[nmade++], sizeof made[0], "%s", path);
}

/* Writes dir/rel, creating the directories on the way. */
static void put(const char *rel, const char *text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
        *s = 0;
        if (mkdir(path, 0755) == 0)
            remember(path);
        else
            CHECK(errno == EEXIST);
        *s = '/';
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    remember(path);
}

static void cleanup(void) {
    while (nmade > 0) {
        const char *p = made[--nmade];
        if (unlink(p) != 0)
            rmdir(p);
    }
    rmdir(dir);
}

/* A v2 hierarchy mounted at dir/v2, this process in /test.slice, whose
 * cpu.max says `cpumax`. */
static void fake_v2(const char *cpumax) {
    char mi[8192];
    snprintf(mi, sizeof mi,
             "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
             "30 23 0:26 / %s/v2 rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
             dir);
    put("mountinfo", mi);
    put("cgroup", "0::/test.slice\n");
    put("v2/test.slice/cpu.max", cpumax);
}

static char out[1 << 16];

/* Runs a child (affinity trimmed to `ncpu` CPUs unless 0, extra env `env`)
 * and checks its gomaxprocs and that its schedinit line contains `want`.
 * Returns 0, or 77 when the child could not make its namespace. */
static int expect(const char *label, int ncpu, const char *env, int want_procs, const char *want) {
    char nbuf[16];
    snprintf(nbuf, sizeof nbuf, "%d", ncpu);
    char *args[] = {(char *)"child", dir, nbuf, NULL};
    char *envs[] = {(char *)env, NULL};
    int st = check_run_self(args, env ? envs : NULL, out, sizeof out);
    if (strstr(out, "NO-NAMESPACE")) {
        printf("skipped: %s", strstr(out, "NO-NAMESPACE"));
        return 77;
    }
    int procs = -1;
    const char *p = strstr(out, "PROCS=");
    if (p)
        sscanf(p, "PROCS=%d", &procs);
    const char *line = strstr(out, "schedinit: procs=");
    char shown[512] = "(no schedinit line)";
    if (line)
        snprintf(shown, sizeof shown, "%.*s", (int)strcspn(line, "\n"), line);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && procs == want_procs && line && strstr(shown, want);
    if (!ok)
        fprintf(stderr, "%s: status 0x%x, PROCS=%d want %d, want \"%s\" in the schedinit line; stderr:\n%s\n", label,
                st, procs, want_procs, want, out);
    CHECK(ok);
    printf("%-34s %s\n", label, shown);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 3 && !strcmp(argv[1], "child"))
        return child(argv[2], atoi(argv[3]));
    setvbuf(stdout, NULL, _IOLBF, 0);
    unsetenv("GORT_MAXPROCS");
    unsetenv("GOMAXPROCS");
    setenv("GORT_DEBUG", "inittrace=1", 1);
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    int n = CPU_COUNT(&set);
    CHECK(mkdtemp(dir) != NULL);
    atexit(cleanup);

    char want[256];
    fake_v2("150000 100000\n");
    if (n > 2)
        snprintf(want, sizeof want, "procs=2 (from cgroup cpu.max 150000/100000; affinity mask %d)", n);
    else
        snprintf(want, sizeof want, "procs=%d (from affinity mask; cgroup cpu.max 150000/100000 allows 2)", n);
    if (expect("v2 1.5 CPUs", 0, NULL, n < 2 ? n : 2, want) == 77)
        return 77;

    fake_v2("50000 100000\n");
    if (n > 2)
        snprintf(want, sizeof want, "procs=2 (from cgroup cpu.max 50000/100000; affinity mask %d)", n);
    else
        snprintf(want, sizeof want, "procs=%d (from affinity mask; cgroup cpu.max 50000/100000 allows 2)", n);
    expect("v2 0.5 CPUs", 0, NULL, n < 2 ? n : 2, want);
    expect("v2 0.5 CPUs, mask of 1 CPU", 1, NULL, 1,
           "procs=1 (from affinity mask; cgroup cpu.max 50000/100000 allows 2)");

    fake_v2("max 100000\n");
    snprintf(want, sizeof want, "procs=%d (from affinity mask; no cgroup CPU limit)", n);
    expect("v2 max", 0, NULL, n, want);
    fake_v2("150000 garbage\n");
    expect("v2 malformed cpu.max", 0, NULL, n, want);

    fake_v2("150000 100000\n");
    expect("GORT_MAXPROCS=3 over the limit", 0, "GORT_MAXPROCS=3", 3, "procs=3 (from GORT_MAXPROCS)");
    snprintf(want, sizeof want, "procs=%d (from affinity mask; cgroup not read: containermaxprocs=0)", n);
    expect("containermaxprocs=0", 0, "GORT_DEBUG=inittrace=1,containermaxprocs=0", n, want);

    /* v1 in a container without a cgroup namespace: the cgroup path is
     * the full /docker/abc, and the mount's root is that directory. */
    char mi[8192];
    snprintf(mi, sizeof mi,
             "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
             "32 31 0:29 /docker/abc %s/v1cpuset ro,nosuid - cgroup cgroup rw,cpuset\n"
             "33 31 0:30 /docker/abc %s/v1cpu ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n",
             dir, dir);
    put("mountinfo", mi);
    put("cgroup", "5:cpuset:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n");
    put("v1cpu/cpu.cfs_quota_us", "250000\n");
    put("v1cpu/cpu.cfs_period_us", "100000\n");
#define V1_LIMIT "cpu.cfs_quota_us/cpu.cfs_period_us 250000/100000"
    if (n > 3)
        snprintf(want, sizeof want, "procs=3 (from cgroup " V1_LIMIT "; affinity mask %d)", n);
    else
        snprintf(want, sizeof want, "procs=%d (from affinity mask; cgroup " V1_LIMIT " allows 3)", n);
    expect("v1 2.5 CPUs", 0, NULL, n < 3 ? n : 3, want);

    printf("test_cgroup_procs: ok (%d CPUs in the affinity mask)\n", n);
    return 0;
}
