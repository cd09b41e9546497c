/* worker_pool: a pool of worker goroutines fed through a jobs channel,
 * reporting on a results channel (Go by Example's "worker pools").
 *
 * A producer goroutine sends job numbers 1..NJOBS into a buffered jobs
 * channel and closes it. NWORKERS workers receive jobs until the channel
 * is closed; for each job they compute the number of Collatz steps of the
 * job number and send {job, steps, worker} on the results channel. When
 * every worker has finished (a waitgroup), a closer goroutine closes the
 * results channel, which ends the main goroutine's receive loop.
 *
 * Prints how many jobs each worker did and exits 0 only if every job was
 * done exactly once and each result matches a sequential computation.
 */
#include <gort.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { NJOBS = 10000, NWORKERS = 8 };

struct result {
    int64_t job, steps;
    int worker;
};

static gort_chan *jobs, *results;
static gort_waitgroup workers_done = GORT_WAITGROUP_INIT;

/* The work: steps for n to reach 1 in the 3n+1 sequence. */
static int64_t collatz_steps(int64_t n) {
    int64_t steps = 0;
    for (; n != 1; steps++)
        n = n % 2 ? 3 * n + 1 : n / 2;
    return steps;
}

static void producer(void *arg) {
    (void)arg;
    for (int64_t j = 1; j <= NJOBS; j++)
        gort_chan_send(jobs, &j);
    gort_chan_close(jobs);
}

static void worker(void *arg) {
    int id = (int)(intptr_t)arg;
    int64_t j;
    while (gort_chan_recv(jobs, &j) == GORT_OK) { /* until jobs is closed and drained */
        struct result r = {j, collatz_steps(j), id};
        gort_chan_send(results, &r);
    }
    gort_waitgroup_done(&workers_done);
}

static void closer(void *arg) {
    (void)arg;
    gort_waitgroup_wait(&workers_done);
    gort_chan_close(results);
}

static void pool_main(void *arg) {
    (void)arg;
    jobs = gort_chan_make(sizeof(int64_t), 100);
    results = gort_chan_make(sizeof(struct result), 100);
    if (!jobs || !results) {
        fprintf(stderr, "worker_pool: out of memory\n");
        gort_exit(1);
    }
    gort_waitgroup_add(&workers_done, NWORKERS);
    for (int w = 0; w < NWORKERS; w++)
        gort_go(worker, (void *)(intptr_t)w);
    gort_go(producer, NULL);
    gort_go(closer, NULL);

    static int seen[NJOBS + 1];
    int per_worker[NWORKERS] = {0};
    int received = 0, errors = 0;
    int64_t total_steps = 0;
    struct result r;
    while (gort_chan_recv(results, &r) == GORT_OK) {
        if (r.job < 1 || r.job > NJOBS || r.worker < 0 || r.worker >= NWORKERS || seen[r.job]++) {
            errors++;
            continue;
        }
        received++;
        per_worker[r.worker]++;
        total_steps += r.steps;
    }

    /* check against a sequential run */
    int64_t want_steps = 0;
    for (int64_t j = 1; j <= NJOBS; j++)
        want_steps += collatz_steps(j);
    printf("jobs per worker:");
    for (int w = 0; w < NWORKERS; w++)
        printf(" %d", per_worker[w]);
    printf("\n%d results, total Collatz steps %lld (sequential: %lld)\n", received, (long long)total_steps,
           (long long)want_steps);
    gort_chan_release(jobs);
    gort_chan_release(results);
    if (errors || received != NJOBS || total_steps != want_steps) {
        printf("worker_pool: WRONG (%d bad or duplicate results)\n", errors);
        gort_exit(1);
    }
    printf("worker_pool: ok\n");
}

int main(int argc, char **argv) {
    int rc = gort_init(argc, argv);
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_init: %s\n", gort_strerror(rc));
        return 1;
    }
    if (gort_go(pool_main, NULL) < 0)
        return 1;
    rc = gort_mstart();
    fprintf(stderr, "gort_mstart: %s\n", gort_strerror(rc));
    return 1;
}
