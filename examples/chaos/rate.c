/*
 * Reports a throughput: items processed per second, over the elapsed
 * monotonic time. deja's chaos example for clocks (`--chaos`, strategies
 * clock-equal and clock-coarse).
 *
 * The bug: the elapsed time is taken to be non-zero. With nanosecond clocks
 * and real work in between it always is, so plain re-running never fails;
 * but two readings may legally be equal (a coarse clock, a fast machine), and
 * then the integer division traps.
 *
 * Run: deja record --until-failure 50 --chaos rate.wasm
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(void) {
    uint64_t start = now_ns();
    volatile uint64_t sum = 0;
    uint64_t items = 2000;
    for (uint64_t i = 0; i < items; i++) {
        sum += i * i % 7;
    }
    uint64_t elapsed = now_ns() - start;
    uint64_t per_second = items * 1000000000u / elapsed;
    printf("processed %llu items in %llu ns: %llu items/s (checksum %llu)\n",
           (unsigned long long)items, (unsigned long long)elapsed,
           (unsigned long long)per_second, (unsigned long long)sum);
    return 0;
}
