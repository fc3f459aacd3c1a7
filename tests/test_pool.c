/* test_pool.c: the engine's worker pool runs every task of a batch exactly once, on thread ids
 * below its thread count, for every thread count and batch size, loops back to back and after
 * its workers went to sleep. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>
#include "pool.h"

typedef struct pool_count {
    atomic_int hits[1000]; /* times each task ran */
    atomic_int max_tid;    /* largest thread id seen */
} pool_count;

static void pool_count_task(void *arg, int i, int tid)
{
    pool_count *c = arg;
    atomic_fetch_add(&c->hits[i], 1);
    int m = atomic_load(&c->max_tid);
    while (tid > m && !atomic_compare_exchange_weak(&c->max_tid, &m, tid)) {}
}

static void test_pool_runs_every_task_once(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 4; threads++) {
        pool *p = pool_new(threads);
        assert_non_null(p);
        assert_int_equal(pool_threads(p), threads);
        for (int round = 0; round < 50; round++) {
            pool_count *c = calloc(1, sizeof *c);
            int n = 1 + (round * 37) % 1000;
            pool_run(p, n, pool_count_task, c);
            for (int i = 0; i < 1000; i++) assert_int_equal(atomic_load(&c->hits[i]), i < n ? 1 : 0);
            assert_true(atomic_load(&c->max_tid) < threads);
            free(c);
        }
        pool_free(p);
    }
    pool_free(NULL);
}

/* Loops of a few tasks back to back (workers still in the previous loop or spinning between
 * loops) and loops after a pause (workers asleep): each task of each loop runs exactly once. */
static void test_pool_back_to_back_and_after_pauses(void **state)
{
    (void)state;
    pool_count *c = calloc(1, sizeof *c);
    assert_non_null(c);
    for (int threads = 2; threads <= 3; threads++) {
        pool *p = pool_new(threads);
        assert_non_null(p);
        for (int round = 0; round < 20000; round++) {
            int n = 2 + round % 5;
            for (int i = 0; i < n; i++) atomic_store(&c->hits[i], 0);
            pool_run(p, n, pool_count_task, c);
            for (int i = 0; i < n; i++) assert_int_equal(atomic_load(&c->hits[i]), 1);
            if (round % 4000 == 3999) { /* long enough for the workers to stop spinning */
                struct timespec ts = {0, 5000000};
                nanosleep(&ts, NULL);
            }
        }
        pool_free(p);
    }
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_every_task_once),
        cmocka_unit_test(test_pool_back_to_back_and_after_pauses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
