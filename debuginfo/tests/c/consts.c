/*
 * Test program for deja's DWARF reader: variables the optimizer turned into constants
 * (DW_AT_const_value). Built at -O2 (see build.sh); the .wasm file is committed.
 */
#include <stdio.h>

__attribute__((noinline)) int scaled(int x) {
    const int factor = 3;
    const long long big = 5000000000LL;
    int y = x * factor;
    printf("scaled %d %lld\n", y, big + x); /* the tests break here */
    return y;
}

int main(int argc, char **argv) {
    (void)argv;
    return scaled(argc + 1) == 0;
}
