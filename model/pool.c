/* pool.c: worker threads for the forward pass's parallel loops (see pool.h). Workers sleep on a
 * condition variable between loops. Depends on libc and POSIX threads only. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct pool {
    int n_threads;        /* threads running tasks, caller included */
    pthread_t *workers;   /* [n_threads - 1] */
    int n_started;        /* workers actually started */
    pthread_mutex_t lock; /* guards everything below except next/done */
    pthread_cond_t wake;  /* signalled when a loop starts or the pool stops */
    pthread_cond_t idle;  /* signalled when the last task of a loop finishes */
    unsigned long gen;    /* loop generation, bumped by pool_run */
    int stop;             /* 1 when workers must exit */
    pool_fn fn;           /* current loop body */
    void *arg;            /* its argument */
    int n_tasks;          /* tasks in the current loop */
    atomic_int next;      /* next task index to hand out */
    atomic_int done;      /* tasks finished */
    int busy;             /* workers inside the current loop */
};

typedef struct pool_start {
    pool *p; /* the pool */
    int tid; /* worker thread id, 1.. */
} pool_start;

static void pool_work(pool *p, int tid)
{
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n_tasks) break;
        p->fn(p->arg, i, tid);
        atomic_fetch_add(&p->done, 1);
    }
}

static void *pool_main(void *arg)
{
    pool *p = ((pool_start *)arg)->p;
    int tid = ((pool_start *)arg)->tid;
    free(arg);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->gen == seen) pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop) break;
        seen = p->gen;
        p->busy++;
        pthread_mutex_unlock(&p->lock);
        pool_work(p, tid);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0) pthread_cond_signal(&p->idle);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

pool *pool_new(int n_threads)
{
    pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads < 1 ? 1 : n_threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->idle, NULL);
    atomic_init(&p->next, 0);
    atomic_init(&p->done, 0);
    if (p->n_threads > 1) {
        p->workers = calloc((size_t)p->n_threads - 1, sizeof *p->workers);
        if (!p->workers) {
            pool_free(p);
            return NULL;
        }
        for (int t = 1; t < p->n_threads; t++) {
            pool_start *s = malloc(sizeof *s);
            if (!s) break;
            s->p = p;
            s->tid = t;
            if (pthread_create(&p->workers[t - 1], NULL, pool_main, s) != 0) {
                free(s);
                break;
            }
            p->n_started++;
        }
        p->n_threads = p->n_started + 1;
    }
    return p;
}

void pool_free(pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int t = 0; t < p->n_started; t++) pthread_join(p->workers[t], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->idle);
    free(p->workers);
    free(p);
}

int pool_threads(const pool *p) { return p->n_threads; }

void pool_run(pool *p, int n_tasks, pool_fn fn, void *arg)
{
    if (n_tasks <= 0) return;
    if (p->n_threads == 1 || n_tasks == 1) {
        for (int i = 0; i < n_tasks; i++) fn(arg, i, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    /* a worker that woke late for the previous loop must leave it before the fields change */
    while (p->busy > 0) pthread_cond_wait(&p->idle, &p->lock);
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    atomic_store(&p->next, 0);
    atomic_store(&p->done, 0);
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pool_work(p, 0);
    pthread_mutex_lock(&p->lock);
    /* every task is handed out; wait until the workers that took one have finished */
    while (p->busy > 0 || atomic_load(&p->done) < n_tasks) pthread_cond_wait(&p->idle, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
