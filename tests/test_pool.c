/* test_pool.c: the engine's worker pool runs every task of a batch exactly once, on thread ids
 * below its thread count, for every thread count and batch size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdlib.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_every_task_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
