// The machine's own cost of handing work from one thread to another: two threads, a pipe each way, one
// byte bounced between them `rounds` times, one round trip every `gap` µs (two wake-ups, no work). While
// it waits for the next round the writer either sleeps (both threads idle: the scheduler keeps them on one
// vCPU) or spins (its vCPU stays busy: the echo thread is woken on the other vCPU, as a bot's reader is
// while the connector or another thread runs). Prints p50 / p99 / p99.9 / max in µs and a JSON line.
// Built and run by bench/wakeup.sh; not part of Keel.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int there[2], back[2];

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *echo(void *unused) {
    (void)unused;
    char byte;
    while (read(there[0], &byte, 1) == 1) {
        if (write(back[1], &byte, 1) != 1) break;
    }
    return NULL;
}

static int ascending(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[3], "spin") != 0 && strcmp(argv[3], "sleep") != 0)) {
        fprintf(stderr, "usage: wakeup ROUNDS GAP_US spin|sleep\n");
        return 2;
    }
    long rounds = atol(argv[1]), gap = atol(argv[2]);
    int spin = strcmp(argv[3], "spin") == 0;
    if (rounds < 100 || rounds > 1000000 || gap < 0 || gap > 100000) {
        fprintf(stderr, "wakeup: ROUNDS must be 100–1000000 and GAP_US 0–100000\n");
        return 2;
    }
    if (pipe(there) != 0 || pipe(back) != 0) { perror("pipe"); return 1; }
    pthread_t thread;
    if (pthread_create(&thread, NULL, echo, NULL) != 0) { perror("pthread_create"); return 1; }
    long long *samples = malloc(sizeof(long long) * rounds);
    if (!samples) return 1;
    char byte = 'x';
    for (long i = 0; i < rounds; i++) {
        long long due = now_ns() + gap * 1000;
        if (spin) {
            while (now_ns() < due) {}
        } else {
            struct timespec pause = {gap / 1000000, (gap % 1000000) * 1000};
            nanosleep(&pause, NULL);
        }
        long long start = now_ns();
        if (write(there[1], &byte, 1) != 1 || read(back[0], &byte, 1) != 1) { perror("pipe"); return 1; }
        samples[i] = now_ns() - start;
    }
    qsort(samples, rounds, sizeof(long long), ascending);
    double p50 = samples[rounds / 2] / 1e3, p99 = samples[rounds * 99 / 100] / 1e3;
    double p999 = samples[rounds * 999 / 1000] / 1e3, max = samples[rounds - 1] / 1e3;
    printf("%ld round trips, %ld µs apart, writer %s between them: p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs\n",
           rounds, gap, spin ? "spinning" : "asleep", p50, p99, p999, max);
    printf("{\"mode\":\"%s\",\"rounds\":%ld,\"gap_us\":%ld,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}\n",
           spin ? "spin" : "sleep", rounds, gap, p50, p99, p999, max);
    return 0;
}
