/* test_loop.c: the main loop's wait: input readiness, callbacks of registered descriptors, the
 * descriptor limit, removal, and wakeups from another thread. No timed assertions: every wait
 * either has something ready or is woken. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include "loop.h"

typedef struct seen {
    int fd_calls; /* loop_fd_fn calls */
    int last_fd;  /* fd of the last one */
    int wakes;    /* loop_wake_fn calls */
} seen;

static void on_fd(int fd, void *ctx)
{
    seen *s = ctx;
    s->fd_calls++;
    s->last_fd = fd;
    char b[16];
    ssize_t r = read(fd, b, sizeof b); /* drain it */
    (void)r;
}

static void on_wake(void *ctx) { ((seen *)ctx)->wakes++; }

static void test_loop_reports_input_and_runs_fd_callbacks(void **state)
{
    (void)state;
    loop *lp = loop_new();
    assert_non_null(lp);
    int in[2], other[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(other), 0);
    seen s = {0, -1, 0};
    assert_true(loop_add_fd(lp, other[0], on_fd, &s));
    assert_int_equal(write(in[1], "k", 1), 1);
    assert_true(loop_wait(lp, in[0], -1)); /* input ready */
    assert_int_equal(s.fd_calls, 0);
    char c;
    assert_int_equal(read(in[0], &c, 1), 1);
    assert_int_equal(write(other[1], "e", 1), 1);
    assert_false(loop_wait(lp, in[0], -1)); /* only the registered one */
    assert_int_equal(s.fd_calls, 1);
    assert_int_equal(s.last_fd, other[0]);
    loop_remove_fd(lp, other[0]);
    assert_int_equal(write(other[1], "e", 1), 1);
    assert_false(loop_wait(lp, in[0], 0)); /* removed: not watched, nothing else */
    assert_int_equal(s.fd_calls, 1);
    loop_free(lp);
    loop_free(NULL);
    close(in[0]);
    close(in[1]);
    close(other[0]);
    close(other[1]);
}

static void test_loop_refuses_more_than_its_descriptors(void **state)
{
    (void)state;
    loop *lp = loop_new();
    int p[LOOP_MAX_FDS + 1][2];
    seen s = {0, -1, 0};
    for (int i = 0; i <= LOOP_MAX_FDS; i++) {
        assert_int_equal(pipe(p[i]), 0);
        bool ok = loop_add_fd(lp, p[i][0], on_fd, &s);
        assert_int_equal(ok, i < LOOP_MAX_FDS);
    }
    loop_remove_fd(lp, p[0][0]); /* a slot is free again */
    assert_true(loop_add_fd(lp, p[LOOP_MAX_FDS][0], on_fd, &s));
    loop_free(lp);
    for (int i = 0; i <= LOOP_MAX_FDS; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
}

static void *wake_later(void *arg)
{
    loop_wakeup(arg);
    return NULL;
}

static void test_loop_wakeup_from_another_thread_ends_the_wait(void **state)
{
    (void)state;
    loop *lp = loop_new();
    seen s = {0, -1, 0};
    loop_set_wake_handler(lp, on_wake, &s);
    int in[2];
    assert_int_equal(pipe(in), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wake_later, lp), 0);
    assert_false(loop_wait(lp, in[0], -1)); /* returns only because of the wakeup */
    pthread_join(th, NULL);
    assert_int_equal(s.wakes, 1);
    loop_wakeup(lp);
    loop_wakeup(lp); /* two before a wait: one call */
    assert_false(loop_wait(lp, in[0], -1));
    assert_int_equal(s.wakes, 2);
    loop_free(lp);
    close(in[0]);
    close(in[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_reports_input_and_runs_fd_callbacks),
        cmocka_unit_test(test_loop_refuses_more_than_its_descriptors),
        cmocka_unit_test(test_loop_wakeup_from_another_thread_ends_the_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
