/* pool.h: a fixed set of worker threads that run the tasks of one parallel loop at a time,
 * internal to the engine. Created with the context; running a loop never allocates.
 * Depends on libc and POSIX threads only. */
#ifndef BD3_POOL_H
#define BD3_POOL_H

/* Task i of a loop, run by thread tid (0 = the calling thread, 1.. = workers). */
typedef void (*pool_fn)(void *arg, int i, int tid);

typedef struct pool pool;

/* Starts n_threads - 1 workers (none when n_threads <= 1). NULL when out of memory or threads. */
pool *pool_new(int n_threads);
void pool_free(pool *p);         /* NULL is a no-op */
int pool_threads(const pool *p); /* threads that run tasks, the caller included */
int pool_cpu_count(void);        /* CPUs this process may run on (affinity), at least 1 */
/* Runs fn(arg, i, tid) for i < n_tasks across the threads and returns when all are done. Tasks
 * are handed out in order, one at a time. */
void pool_run(pool *p, int n_tasks, pool_fn fn, void *arg);

#endif
