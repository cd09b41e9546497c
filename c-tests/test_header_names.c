/* test_header_names: gort.h declares only gort_ and GORT_ names, so that it
 * compiles next to whatever short names the includer uses itself.
 *
 * What: before any #include, this file declares the names a C program is
 * likely to have and a runtime is likely to use internally (Chan, Timer,
 * Mutex, G, M, P, Error, ...) as typedefs, functions and macros; then it
 * includes gort.h (through check.h) and uses the API that a leaked name
 * once sat in (gort_after returned `Chan *`). Compiling is most of the
 * test; running checks that the timer channel delivers one value.
 * tests/header.rs checks the same rule name by name on the generated
 * header. */
typedef struct { int x; } Chan;
typedef struct { int x; } Timer;
typedef struct { int x; } Mutex;
typedef struct { int x; } RwMutex;
typedef struct { int x; } Cond;
typedef struct { int x; } WaitGroup;
typedef struct { int x; } Once;
typedef struct { int x; } Sema;
typedef struct { int x; } Select;
typedef struct { int x; } SelectCase;
typedef struct { int x; } Stats;
typedef struct { int x; } Sudog;
typedef struct { int x; } Sched;
typedef struct { int x; } PollDesc;
typedef int G, M, P, Error, Kind, Config, Guard, Locked;
static int Ok(void) { return 1; }
static int Inval(void) { return 2; }
#define ELEM_MAX 1
#define MAX_ELEM 1
#define CHUNK 1

#include "check.h"

static void main_g(void *arg) {
    (void)arg;
    Chan mine = {Ok() + Inval() + ELEM_MAX + MAX_ELEM + CHUNK};
    CHECK_EQ(mine.x, 6);
    gort_chan *c = gort_after(1000000);
    CHECK(c != NULL);
    int64_t when = 0;
    CHECK_EQ(gort_chan_recv(c, &when), GORT_OK);
    CHECK(when > 0);
    CHECK_EQ(gort_chan_release(c), GORT_OK);
    printf("test_header_names: ok\n");
}

int main(int argc, char **argv) { return check_run_main(argc, argv, main_g); }
