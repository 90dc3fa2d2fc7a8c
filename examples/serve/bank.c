/*
 * A small ledger that fails at its end: deja's example for `deja serve` and LLDB.
 *
 * Three accounts take deposits; the last one gets a balance by a transfer that
 * bypasses deposit(), so its deposit count stays 0 and average_deposit()
 * divides by zero: the guest traps. Built at -O0 so that every variable lives
 * in linear memory or a Wasm local where LLDB can read it.
 *
 * Build: examples/build.sh (clang + wasi-libc); bank.wasm is committed.
 */
#include <stdio.h>

struct account {
    const char *name;
    int balance;
    int deposits;
};

struct account accounts[3] = {{"alice", 100, 1}, {"bob", 50, 1}, {"carol", 0, 0}};
int last_touched = -1;

static void deposit(struct account *acct, int amount) {
    acct->balance += amount;
    acct->deposits++;
    last_touched = (int)(acct - accounts);
}

static void transfer(struct account *from, struct account *to, int amount) {
    from->balance -= amount;
    to->balance += amount; /* the bug: no deposit is counted */
}

static int average_deposit(const struct account *acct) {
    return acct->balance / acct->deposits;
}

int main(void) {
    for (int round = 1; round <= 3; round++) {
        deposit(&accounts[0], 10 * round);
        deposit(&accounts[1], 5);
    }
    transfer(&accounts[0], &accounts[2], 30);
    int total = 0;
    for (int i = 0; i < 3; i++) {
        int average = average_deposit(&accounts[i]);
        printf("%s: balance %d, average deposit %d\n", accounts[i].name, accounts[i].balance,
               average);
        total += average;
    }
    printf("total %d\n", total);
    return 0;
}
