/* loop.c: poll()-based wait with a self-pipe for wakeups (see loop.h). Depends on POSIX only. */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct loop_watch {
    int fd;        /* watched descriptor */
    loop_fd_fn fn; /* its callback */
    void *ctx;     /* callback context */
} loop_watch;

struct loop {
    int wake[2];                    /* self-pipe: [0] read end (non-blocking), [1] write end */
    loop_watch watch[LOOP_MAX_FDS]; /* registered descriptors, n_watch used */
    int n_watch;                    /* count */
    loop_wake_fn wake_fn;           /* wakeup callback, or NULL */
    void *wake_ctx;                 /* its context */
};

loop *loop_new(void)
{
    loop *lp = calloc(1, sizeof *lp);
    if (!lp) return NULL;
    if (pipe2(lp->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        free(lp);
        return NULL;
    }
    return lp;
}

void loop_free(loop *lp)
{
    if (!lp) return;
    close(lp->wake[0]);
    close(lp->wake[1]);
    free(lp);
}

bool loop_add_fd(loop *lp, int fd, loop_fd_fn fn, void *ctx)
{
    if (lp->n_watch >= LOOP_MAX_FDS || fd < 0 || !fn) return false;
    lp->watch[lp->n_watch++] = (loop_watch){.fd = fd, .fn = fn, .ctx = ctx};
    return true;
}

void loop_remove_fd(loop *lp, int fd)
{
    for (int i = 0; i < lp->n_watch; i++)
        if (lp->watch[i].fd == fd) {
            lp->watch[i] = lp->watch[--lp->n_watch];
            return;
        }
}

void loop_set_wake_handler(loop *lp, loop_wake_fn fn, void *ctx)
{
    lp->wake_fn = fn;
    lp->wake_ctx = ctx;
}

void loop_wakeup(loop *lp)
{
    int saved = errno;
    char c = 1;
    ssize_t r = write(lp->wake[1], &c, 1); /* a full pipe already means "wake up" */
    (void)r;
    errno = saved;
}

bool loop_wait(loop *lp, int input_fd, int timeout_ms)
{
    struct pollfd p[LOOP_MAX_FDS + 2];
    int n = 0;
    p[n++] = (struct pollfd){.fd = lp->wake[0], .events = POLLIN};
    if (input_fd >= 0) p[n++] = (struct pollfd){.fd = input_fd, .events = POLLIN};
    int first = n;
    loop_watch w[LOOP_MAX_FDS];
    int nw = lp->n_watch;
    for (int i = 0; i < nw; i++) {
        w[i] = lp->watch[i];
        p[n++] = (struct pollfd){.fd = w[i].fd, .events = POLLIN};
    }
    int r = poll(p, (nfds_t)n, timeout_ms);
    if (r <= 0) return false; /* timeout, or a signal (EINTR): the caller looks at its flags */
    if (p[0].revents) {
        char buf[64];
        while (read(lp->wake[0], buf, sizeof buf) > 0) {}
        if (lp->wake_fn) lp->wake_fn(lp->wake_ctx);
    }
    for (int i = 0; i < nw; i++)
        if (p[first + i].revents) w[i].fn(w[i].fd, w[i].ctx);
    return input_fd >= 0 && p[1].revents != 0;
}
