/* pool.c: worker threads for the forward pass's parallel loops (see pool.h). Between loops a
 * worker spins a short while on the loop counter, then sleeps on a condition variable. Depends on
 * libc and POSIX threads only. */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long a thread spins before it sleeps, waiting for the next loop (workers) or for the last
 * task of a loop (the caller). A forward pass runs a few loops per layer with short serial parts
 * between them: spinning across those gaps spares the wake-up of a sleeping thread, which costs
 * tens of microseconds per loop, more than a small call's loop takes on a core. */
#define POOL_SPIN_NS    200000L
#define POOL_SPIN_CHECK 64 /* spins between clock readings */

/* The body of one loop. Loop g lives in slot g & 1 so that a worker late for loop g never reads
 * fields that the caller is writing for loop g + 1. */
typedef struct pool_loop {
    _Atomic(pool_fn) fn; /* loop body */
    _Atomic(void *) arg; /* its argument */
    atomic_int n_tasks;  /* tasks in the loop */
} pool_loop;

struct pool {
    int n_threads;         /* threads running tasks, caller included */
    int spin;              /* 1 when threads spin before sleeping (no more threads than CPUs) */
    pthread_t *workers;    /* [n_threads - 1] */
    int n_started;         /* workers actually started */
    uint32_t gen;          /* generation of the last loop started (the caller's copy) */
    pool_loop loops[2];    /* loop g in loops[g & 1] */
    _Atomic uint64_t next; /* generation of the current loop << 32 | next task index */
    atomic_int done;       /* tasks of the current loop finished */
    atomic_int stop;       /* 1 when workers must exit */
    atomic_int sleepers;   /* workers asleep (or going to sleep) on wake */
    atomic_int waiting;    /* 1 while the caller sleeps on idle */
    pthread_mutex_t lock;  /* guards the sleeps on wake and idle */
    pthread_cond_t wake;   /* signalled when a loop starts or the pool stops */
    pthread_cond_t idle;   /* signalled when the last task of a loop finishes */
};

typedef struct pool_start {
    pool *p; /* the pool */
    int tid; /* worker thread id, 1.. */
} pool_start;

static inline void pool_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long pool_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Spins until a loop after generation seen starts or the pool stops (1), or POOL_SPIN_NS pass (0;
 * at once when p->spin is 0). */
static int pool_spin_gen(pool *p, uint32_t seen)
{
    if (!p->spin) return 0;
    long t0 = 0;
    for (int k = 0;; k++) {
        if ((uint32_t)(atomic_load(&p->next) >> 32) != seen || atomic_load(&p->stop)) return 1;
        pool_pause();
        if (k % POOL_SPIN_CHECK == 0) {
            long t = pool_ns();
            if (k == 0)
                t0 = t;
            else if (t - t0 > POOL_SPIN_NS)
                return 0;
        }
    }
}

/* Runs tasks of loop gen until none is left (or the loop is over). */
static void pool_work(pool *p, uint32_t gen, int tid)
{
    pool_loop *L = &p->loops[gen & 1];
    for (;;) {
        /* read before the claim: a stale value (the slot rewritten two loops on) fails the claim,
           whose generation has moved on by then */
        uint32_t n = (uint32_t)atomic_load_explicit(&L->n_tasks, memory_order_relaxed);
        uint64_t v = atomic_load(&p->next);
        do {
            if ((uint32_t)(v >> 32) != gen || (uint32_t)v >= n) return;
        } while (!atomic_compare_exchange_weak(&p->next, &v, v + 1));
        pool_fn fn = atomic_load_explicit(&L->fn, memory_order_relaxed);
        fn(atomic_load_explicit(&L->arg, memory_order_relaxed), (int)(uint32_t)v, tid);
        if (atomic_fetch_add(&p->done, 1) + 1 == (int)n && atomic_load(&p->waiting)) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->idle);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

static void *pool_main(void *arg)
{
    pool *p = ((pool_start *)arg)->p;
    int tid = ((pool_start *)arg)->tid;
    free(arg);
    uint32_t seen = 0;
    for (;;) {
        if (!pool_spin_gen(p, seen)) {
            pthread_mutex_lock(&p->lock);
            atomic_fetch_add(&p->sleepers, 1); /* before the check: pool_run reads it after its store */
            while (!atomic_load(&p->stop) && (uint32_t)(atomic_load(&p->next) >> 32) == seen)
                pthread_cond_wait(&p->wake, &p->lock);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->lock);
        }
        if (atomic_load(&p->stop)) break;
        seen = (uint32_t)(atomic_load(&p->next) >> 32);
        pool_work(p, seen, tid);
    }
    return NULL;
}

int pool_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long k = sysconf(_SC_NPROCESSORS_ONLN);
    return k > 0 ? (int)k : 1;
}

pool *pool_new(int n_threads)
{
    pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads < 1 ? 1 : n_threads;
    p->spin = p->n_threads <= pool_cpu_count(); /* spinning threads must not wait for a core */
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->idle, NULL);
    for (int s = 0; s < 2; s++) {
        atomic_init(&p->loops[s].fn, NULL);
        atomic_init(&p->loops[s].arg, NULL);
        atomic_init(&p->loops[s].n_tasks, 0);
    }
    atomic_init(&p->next, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->waiting, 0);
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
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->lock);
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
    /* every task of the last loop has finished (pool_run returned), so no worker runs one; a
       worker may still be reading the last loop's slot, which is why this one takes the other */
    uint32_t gen = ++p->gen;
    if (gen == 0) gen = ++p->gen; /* 0 is the workers' start value */
    pool_loop *L = &p->loops[gen & 1];
    atomic_store_explicit(&L->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&L->arg, arg, memory_order_relaxed);
    atomic_store_explicit(&L->n_tasks, n_tasks, memory_order_relaxed);
    atomic_store(&p->done, 0);
    atomic_store(&p->next, (uint64_t)gen << 32); /* publishes the slot */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    pool_work(p, gen, 0);
    /* every task is handed out; wait until the workers that took one have finished */
    if (atomic_load(&p->done) == n_tasks) return;
    long t0 = p->spin ? pool_ns() : 0;
    for (int k = 1; p->spin; k++) {
        if (atomic_load(&p->done) == n_tasks) return;
        pool_pause();
        if (k % POOL_SPIN_CHECK == 0 && pool_ns() - t0 > POOL_SPIN_NS) break;
    }
    atomic_store(&p->waiting, 1); /* before the check: a worker reads it after its increment */
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->done) < n_tasks) pthread_cond_wait(&p->idle, &p->lock);
    pthread_mutex_unlock(&p->lock);
    atomic_store(&p->waiting, 0);
}
