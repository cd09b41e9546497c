/* prime_sieve: Go's concurrent prime sieve, in C.
 *
 * A generator goroutine sends 2, 3, 4, ... into an unbuffered channel. The
 * main goroutine takes the first number from the channel - a prime - and
 * puts a filter goroutine in front of the channel that drops the multiples
 * of that prime; the filter's output channel becomes the new head. After
 * 1000 primes, 1000 filters are chained behind the generator and every
 * number has been handed from goroutine to goroutine through unbuffered
 * channels (about half a million hand-offs).
 *
 * As in Go's version the generator and filters are still blocked on their
 * channels when main returns; the process simply exits.
 *
 * Prints the 1000th prime and the sum of the first 1000, and exits 0 only
 * if they are right (7919 and 3682913).
 */
#include <gort.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { NPRIMES = 1000 };

/* Sends 2, 3, 4, ... to ch. */
static void generate(void *arg) {
    gort_chan *ch = arg;
    for (int64_t i = 2;; i++)
        if (gort_chan_send(ch, &i) != GORT_OK)
            return;
}

struct filter {
    gort_chan *in, *out;
    int64_t prime;
};

/* Copies the values from in to out, dropping those divisible by prime. */
static void filter(void *arg) {
    struct filter *f = arg;
    int64_t i;
    while (gort_chan_recv(f->in, &i) == GORT_OK)
        if (i % f->prime != 0 && gort_chan_send(f->out, &i) != GORT_OK)
            break;
}

static void die(const char *what) {
    fprintf(stderr, "prime_sieve: %s\n", what);
    gort_exit(1);
}

/* The main goroutine. */
static void sieve(void *arg) {
    (void)arg;
    static struct filter filters[NPRIMES];
    int64_t primes[NPRIMES];
    gort_chan *ch = gort_chan_make(sizeof(int64_t), 0);
    if (!ch || gort_go(generate, ch) < 0)
        die("cannot start the generator");
    for (int n = 0; n < NPRIMES; n++) {
        if (gort_chan_recv(ch, &primes[n]) != GORT_OK)
            die("receive failed");
        gort_chan *next = gort_chan_make(sizeof(int64_t), 0);
        if (!next)
            die("out of memory");
        filters[n] = (struct filter){ch, next, primes[n]};
        if (gort_go(filter, &filters[n]) < 0)
            die("cannot start a filter");
        ch = next;
    }

    int64_t sum = 0;
    for (int n = 0; n < NPRIMES; n++)
        sum += primes[n];
    printf("first primes: %lld %lld %lld %lld %lld ...\n", (long long)primes[0], (long long)primes[1],
           (long long)primes[2], (long long)primes[3], (long long)primes[4]);
    printf("%dth prime: %lld\n", NPRIMES, (long long)primes[NPRIMES - 1]);
    printf("sum of the first %d primes: %lld\n", NPRIMES, (long long)sum);
    if (primes[NPRIMES - 1] != 7919 || sum != 3682913) {
        printf("prime_sieve: WRONG (expected 7919 and 3682913)\n");
        gort_exit(1);
    }
    printf("prime_sieve: ok\n");
} /* returning from the main goroutine exits the process with status 0 */

int main(int argc, char **argv) {
    int rc = gort_init(argc, argv);
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_init: %s\n", gort_strerror(rc));
        return 1;
    }
    if (gort_go(sieve, NULL) < 0)
        return 1;
    rc = gort_mstart();
    fprintf(stderr, "gort_mstart: %s\n", gort_strerror(rc));
    return 1;
}
