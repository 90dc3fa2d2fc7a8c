/*
 * Loads a settings file with one read() and trusts it to return the whole
 * file: deja's chaos example for short reads (`--chaos`, strategy short-read).
 *
 * The file ends with an `end` line; a settings file without it is refused as
 * truncated. On a real disk a 200-byte file always arrives in one read, so
 * plain re-running never fails; a host may return fewer bytes than asked
 * (POSIX and WASI both allow it), and then the check fires: exit 1.
 *
 * Run: deja record --until-failure 50 --chaos --dir data::data readall.wasm
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    int fd = open("data/settings.txt", O_RDONLY);
    if (fd < 0) {
        perror("data/settings.txt");
        return 2;
    }
    char buf[4096];
    /* The bug: one read, as if it always returned everything there is. */
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        perror("read");
        return 2;
    }
    buf[n] = '\0';
    int settings = 0;
    int complete = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strcmp(line, "end") == 0) {
            complete = 1;
            break;
        }
        if (strchr(line, '=')) {
            settings++;
        }
    }
    if (!complete) {
        fprintf(stderr, "settings file truncated after %d settings (%zd bytes)\n", settings, n);
        return 1;
    }
    printf("loaded %d settings\n", settings);
    return 0;
}
