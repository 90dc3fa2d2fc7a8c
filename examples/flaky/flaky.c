/*
 * An order-pricing tool that fails now and then: deja's example for
 * `deja record --until-failure`.
 *
 * It reads a price list from the preopened directory `data`, draws a random
 * basket (random bytes from WASI), stamps it with the clock, sometimes writes
 * a receipt file, and prints the total. One run in several fails:
 *   - a basket whose last item has quantity 0 makes the "average per unit"
 *     computation divide by zero: the guest traps;
 *   - a basket over budget makes it exit with code 1.
 *
 * Build: examples/build.sh (clang + wasi-libc); flaky.wasm is committed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ITEMS 8

struct item {
    char name[32];
    int price_cents;
};

struct line {
    int item;
    int quantity;
};

static int load_prices(struct item *items) {
    FILE *f = fopen("data/prices.txt", "r");
    if (!f) {
        perror("data/prices.txt");
        exit(2);
    }
    int n = 0;
    while (n < MAX_ITEMS && fscanf(f, "%31s %d", items[n].name, &items[n].price_cents) == 2) {
        n++;
    }
    fclose(f);
    return n;
}

/* The bug: nothing stops the last line from having quantity 0. */
static int average_per_unit(const struct line *basket, int lines, int total) {
    volatile int last_quantity = basket[lines - 1].quantity;
    return total / last_quantity;
}

int main(void) {
    struct item items[MAX_ITEMS];
    int n_items = load_prices(items);

    unsigned char seed[16];
    if (getentropy(seed, sizeof seed) != 0) {
        perror("getentropy");
        return 2;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);

    struct line basket[MAX_ITEMS];
    int lines = 2 + seed[0] % 4;
    int total = 0;
    for (int i = 0; i < lines; i++) {
        basket[i].item = seed[1 + i] % n_items;
        basket[i].quantity = seed[8 + i] % 8;
        total += basket[i].quantity * items[basket[i].item].price_cents;
    }

    int average = average_per_unit(basket, lines, total);

    if (seed[15] % 2 == 0) {
        FILE *r = fopen("data/receipt.txt", "w");
        if (r) {
            fprintf(r, "receipt at %lld.%09ld\n", (long long)now.tv_sec, now.tv_nsec);
            for (int i = 0; i < lines; i++) {
                fprintf(r, "%d x %s\n", basket[i].quantity, items[basket[i].item].name);
            }
            fclose(r);
        }
    }

    printf("basket of %d lines: %d.%02d (average %d cents per unit of the last line)\n",
           lines, total / 100, total % 100, average);
    if (total > 6000) {
        fprintf(stderr, "over budget: %d cents\n", total);
        return 1;
    }
    return 0;
}
