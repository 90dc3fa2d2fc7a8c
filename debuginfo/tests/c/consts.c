/*
 * Test program for deja's DWARF reader: variables the optimizer turned into constants
 * (DW_AT_const_value), a two-dimensional array and bit fields. Built at -O2 (see build.sh); the .wasm
 * file is committed.
 */
#include <stdio.h>

int grid[2][3] = {{1, 2, 3}, {4, 5, 6}};
struct flags {
    unsigned ready : 1;
    int level : 4;
    unsigned mode : 3;
} flags = {1, -3, 5};

__attribute__((noinline)) int scaled(int x) {
    const int factor = 3;
    const long long big = 5000000000LL;
    int y = x * factor;
    printf("scaled %d %lld\n", y, big + x); /* the tests break here */
    return y;
}

int main(int argc, char **argv) {
    (void)argv;
    int r = scaled(argc + 1);
    printf("grid %d flags %d %d %d\n", grid[argc % 2][argc % 3], flags.ready, flags.level, flags.mode);
    return r == 0;
}
