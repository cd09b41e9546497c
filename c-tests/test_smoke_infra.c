/* test_smoke_infra: proves the build plumbing (find_package(gort), the
 * shared and static link flavours, ctest, the emulator for cross builds):
 * init the runtime, spawn one goroutine from the main goroutine, check that
 * it ran, and return (the runtime then exits 0). */
#include "check.h"

#include <stdatomic.h>

static atomic_int ran;
static atomic_long child_goid;

static void child(void *arg) {
    CHECK(arg == &ran);
    atomic_store(&child_goid, (long)gort_goid());
    atomic_store(&ran, 1);
}

static void real_main(void *arg) {
    (void)arg;
    CHECK_EQ(gort_goid(), 1);
    CHECK(gort_version() != NULL && gort_version()[0] != 0);
    int64_t id = gort_go(child, &ran);
    CHECK(id > 1);
    int64_t deadline = check_now_ns() + 10LL * 1000000000;
    while (!atomic_load(&ran)) {
        CHECK(check_now_ns() < deadline);
        CHECK_OK(gort_yield());
    }
    CHECK_EQ(atomic_load(&child_goid), id);
    printf("smoke: goroutine %lld ran\n", (long long)id);
}

int main(int argc, char **argv) { return check_run_main(argc, argv, real_main); }
