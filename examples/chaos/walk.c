/*
 * Applies the migration steps in data/steps in the order the directory lists
 * them: deja's chaos example for directory order (`--chaos`, strategy
 * dir-order).
 *
 * The bug: the listing is assumed to be sorted. Step 02 inserts into the
 * table step 01 creates and step 03 indexes it, so any other order fails
 * (exit 1). deja's host lists entries sorted, so plain re-running never
 * fails; but POSIX and WASI promise no order, and real file systems (ext4's
 * hashed directories) list in any order they like.
 *
 * Run: deja record --until-failure 50 --chaos --dir data::data walk.wasm
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

static int have_table = 0;
static int rows = 0;
static int indexed = 0;

static int apply(const char *step) {
    if (strstr(step, "create")) {
        have_table = 1;
    } else if (strstr(step, "insert")) {
        if (!have_table) {
            fprintf(stderr, "%s: no such table: users\n", step);
            return 1;
        }
        rows += 3;
    } else if (strstr(step, "index")) {
        if (!have_table || rows == 0) {
            fprintf(stderr, "%s: nothing to index\n", step);
            return 1;
        }
        indexed = 1;
    }
    printf("applied %s\n", step);
    return 0;
}

int main(void) {
    DIR *d = opendir("data/steps");
    if (!d) {
        perror("data/steps");
        return 2;
    }
    struct dirent *e;
    int applied = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        /* The bug: applied in listing order, never sorted. */
        if (apply(e->d_name) != 0) {
            closedir(d);
            return 1;
        }
        applied++;
    }
    closedir(d);
    printf("%d steps applied, %d rows, %s\n", applied, rows, indexed ? "indexed" : "no index");
    return 0;
}
