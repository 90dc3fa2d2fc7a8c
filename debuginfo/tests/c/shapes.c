/*
 * Test program for deja's DWARF reader: a struct with a nested array, a pointer chain, a
 * string, a char array, an enum, globals in linear memory, and an inlined function. It
 * prints what each report sees, so that a test can compare the debugger's values with the
 * program's own. Built at -O0 and -O2 (see build.sh); the .wasm files are committed.
 */
#include <stdio.h>
#include <string.h>

enum color { RED, GREEN = 5, BLUE };

struct point {
    int x;
    int y;
};

struct shape {
    const char *name;
    enum color color;
    struct point corners[3];
    struct shape *next;
};

struct shape shapes[2];
int counter = 7;
const char *greeting = "hello";

static inline int area2(const struct point *a, const struct point *b, const struct point *c) {
    int cross = (b->x - a->x) * (c->y - a->y) - (b->y - a->y) * (c->x - a->x);
    return cross < 0 ? -cross : cross;
}

__attribute__((noinline)) int report(struct shape *s, int scale) {
    int doubled = area2(&s->corners[0], &s->corners[1], &s->corners[2]) * scale;
    char label[8];
    strcpy(label, s->name);
    printf("report %s color=%d doubled=%d scale=%d label=%s\n", s->name, s->color, doubled,
           scale, label);
    return doubled + counter; /* the tests break here */
}

int main(void) {
    shapes[0] = (struct shape){"tri", GREEN, {{0, 0}, {4, 0}, {0, 3}}, &shapes[1]};
    shapes[1] = (struct shape){"big", BLUE, {{1, 1}, {9, 1}, {1, 7}}, 0};
    int total = 0;
    for (int i = 0; i < 2; i++) {
        total += report(&shapes[i], i + 1);
    }
    printf("%s total=%d\n", greeting, total);
    return total == 0;
}
