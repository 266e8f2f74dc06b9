/* usdt_app [N [MS]]: N "requests" (default 1000), MS ms apart (default 0), each with USDT probes
 * as a C service would have them: app:request(int id, const char *path), behind its semaphore
 * as `dtrace -G` builds do, and app:done(int id, long micros), which fires whether traced or not. Used by
 * tests/docs_examples.rs (docs/probes.md's USDT examples) and bench/run's usdt row. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__extension__ unsigned short app_request_semaphore __attribute__((unused))
    __attribute__((section(".probes")));
__extension__ unsigned short app_done_semaphore __attribute__((unused))
    __attribute__((section(".probes")));

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    int ms = argc > 2 ? atoi(argv[2]) : 0;
    char paths[4][16];
    strcpy(paths[0], "/");
    strcpy(paths[1], "/cart");
    strcpy(paths[2], "/checkout");
    strcpy(paths[3], "/health");
    for (long i = 0; i < n; i++) {
        int id = (int)(i % 8);
        if (app_request_semaphore)
            STAP_PROBE2(app, request, id, paths[i % 4]);
        STAP_PROBE2(app, done, id, (long)(i % 5) * -100);
        if (ms)
            usleep(ms * 1000);
    }
    return 0;
}
