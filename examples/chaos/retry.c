/*
 * Reads a batch of numbers from a descriptor opened non-blocking (it may be a
 * pipe) and checks their sum against the batch's total line: deja's chaos
 * example for EAGAIN (`--chaos`, strategy eagain).
 *
 * The bug is in the retry loop: EAGAIN is recognised and retried, but the
 * byte count is advanced by read()'s -1 first, so the next read overwrites
 * the last byte and the batch no longer adds up (exit 1). A regular file is
 * always ready, so plain re-running never fails; a non-blocking descriptor
 * may legally answer EAGAIN.
 *
 * Run: deja record --until-failure 50 --chaos --dir data::data retry.wasm
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    int fd = open("data/batch.txt", O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        perror("data/batch.txt");
        return 2;
    }
    /* One spare byte in front of the text keeps this example's bug inside the buffer. */
    static char buf[8192];
    long len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + 1 + len, 32);
        if (n == 0) {
            break;
        }
        if (n < 0 && errno != EAGAIN) {
            perror("read");
            return 2;
        }
        /* The bug: on EAGAIN n is -1, and it is added all the same. */
        len += n;
        if (len + 64 > (long)sizeof buf) {
            fprintf(stderr, "batch too large\n");
            return 2;
        }
    }
    close(fd);
    char *text = buf + 1;
    text[len] = '\0';
    long sum = 0, total = -1;
    int count = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "total ", 6) == 0) {
            total = atol(line + 6);
        } else {
            sum += atol(line);
            count++;
        }
    }
    if (sum != total) {
        fprintf(stderr, "batch does not add up: %d numbers sum to %ld, total says %ld\n", count,
                sum, total);
        return 1;
    }
    printf("batch of %d numbers adds up to %ld\n", count, sum);
    return 0;
}
