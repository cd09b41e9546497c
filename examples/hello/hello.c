/* hello: the smallest gort program, shaped like Go's bootstrap.
 *
 *   GORT_DEBUG=inittrace=1 ./hello     prints each boot step as it happens
 */
#include <gort.h>
#include <stdatomic.h>
#include <stdio.h>

enum { N = 8 };
static atomic_int done;

static void greet(void *arg) {
    int i = (int)(intptr_t)arg;
    printf("hello from goroutine %lld (worker %d)\n", (long long)gort_goid(), i);
    atomic_fetch_add(&done, 1);
}

/* The main goroutine: Go's main.main. When it returns, the process exits 0. */
static void real_main(void *arg) {
    (void)arg;
    printf("hello, gort %s: main goroutine %lld, GOMAXPROCS=%d\n", gort_version(),
           (long long)gort_goid(), gort_gomaxprocs());
    for (int i = 0; i < N; i++)
        gort_go(greet, (void *)(intptr_t)i);
    while (atomic_load(&done) < N)
        gort_yield();
    printf("all %d goroutines said hello\n", N);
}

int main(int argc, char **argv) {
    int rc = gort_init(argc, argv);          /* rt0_go: args, osinit, schedinit */
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_init: %s\n", gort_strerror(rc));
        return 1;
    }
    int64_t id = gort_go(real_main, NULL);   /* newproc(mainPC) */
    if (id < 0) {
        fprintf(stderr, "gort_go: %s\n", gort_strerror((int)id));
        return 1;
    }
    rc = gort_mstart();                      /* mstart: never returns on success */
    fprintf(stderr, "gort_mstart: %s\n", gort_strerror(rc));
    return 1;
}
