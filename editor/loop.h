/* loop.h: the main loop's wait: poll() on the terminal input plus registered file descriptors
 * and a self-pipe that other threads (the model worker) and signal handlers write to request a
 * wakeup (a redraw). Depends on POSIX only: no curses, no editor state. */
#ifndef BD3ED_LOOP_H
#define BD3ED_LOOP_H

#include <stdbool.h>

#define LOOP_MAX_FDS 8 /* registered descriptors besides the input and the wake pipe */

typedef struct loop loop;

/* Called on the main thread when fd is readable (or hung up). */
typedef void (*loop_fd_fn)(int fd, void *ctx);
/* Called on the main thread after one or more loop_wakeup calls. */
typedef void (*loop_wake_fn)(void *ctx);

loop *loop_new(void);     /* NULL when the pipe cannot be made */
void loop_free(loop *lp); /* NULL is a no-op */

/* Watches fd for input; false when LOOP_MAX_FDS are in use. */
bool loop_add_fd(loop *lp, int fd, loop_fd_fn fn, void *ctx);
void loop_remove_fd(loop *lp, int fd);
void loop_set_wake_handler(loop *lp, loop_wake_fn fn, void *ctx);

/* Wakes a loop_wait in progress (or makes the next one return at once). Thread-safe and
 * async-signal-safe. */
void loop_wakeup(loop *lp);

/* Waits up to timeout_ms (-1: no limit) for input on input_fd, a registered fd or a wakeup;
 * runs the callbacks of what became ready. Returns true when input_fd is readable. */
bool loop_wait(loop *lp, int input_fd, int timeout_ms);

#endif
