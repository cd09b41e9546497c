/* skynet: the skynet benchmark (github.com/atemerev/skynet) in C.
 *
 * One goroutine spawns 10 children, each of which spawns 10 children, and
 * so on for 6 levels: 1,000,000 leaf goroutines (1,111,111 in all). Leaf
 * number i sends i to its parent through the parent's channel; every inner
 * goroutine receives its 10 children's values, sends their sum to its own
 * parent, and frees its channel. The root's result is 0 + 1 + ... + 999,999.
 *
 * Prints the result and the time, and exits 0 only if the result is
 * exactly 499999500000.
 */
#include <gort.h>

#include <stdint.h>
#include <stdio.h>

enum { SIZE = 1000000, DIV = 10 };

struct node {
    gort_chan *parent; /* we hold one reference, released after our send */
    int64_t num, size;
};

static void skynet(void *arg) {
    struct node me = *(struct node *)arg; /* the parent's array may be reused once we sent */
    if (me.size == 1) {
        gort_chan_send(me.parent, &me.num);
        gort_chan_release(me.parent);
        return;
    }
    gort_chan *rc = gort_chan_make(sizeof(int64_t), 0);
    struct node children[DIV]; /* on our stack: we wait for all of them below */
    int64_t step = me.size / DIV;
    for (int i = 0; i < DIV; i++) {
        children[i] = (struct node){rc, me.num + i * step, step};
        gort_chan_retain(rc);
        if (gort_go(skynet, &children[i]) < 0) {
            fprintf(stderr, "skynet: cannot start a goroutine\n");
            gort_exit(1);
        }
    }
    int64_t sum = 0;
    for (int i = 0; i < DIV; i++) {
        int64_t v;
        gort_chan_recv(rc, &v);
        sum += v;
    }
    gort_chan_release(rc);
    gort_chan_send(me.parent, &sum);
    gort_chan_release(me.parent);
}

static void skynet_main(void *arg) {
    (void)arg;
    gort_chan *result = gort_chan_make(sizeof(int64_t), 0);
    struct node root = {result, 0, SIZE};
    gort_chan_retain(result);
    int64_t t0 = gort_nanotime();
    gort_go(skynet, &root);
    int64_t sum = -1;
    gort_chan_recv(result, &sum);
    int64_t ns = gort_nanotime() - t0;
    gort_chan_release(result);
    printf("result: %lld in %.0f ms (%d leaf goroutines, GOMAXPROCS=%d)\n", (long long)sum, ns / 1e6, SIZE,
           gort_gomaxprocs());
    if (sum != 499999500000LL) {
        printf("skynet: WRONG (expected 499999500000)\n");
        gort_exit(1);
    }
    printf("skynet: ok\n");
}

int main(int argc, char **argv) {
    int rc = gort_init(argc, argv);
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_init: %s\n", gort_strerror(rc));
        return 1;
    }
    if (gort_go(skynet_main, NULL) < 0)
        return 1;
    rc = gort_mstart();
    fprintf(stderr, "gort_mstart: %s\n", gort_strerror(rc));
    return 1;
}
