/* The little the kernels need from threads: run a function on a new thread, then wait for it.
 * Windows threads on Windows (MSVC and MinGW alike), POSIX threads everywhere else. */
#ifndef MASTRA_THREAD_H
#define MASTRA_THREAD_H

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <process.h>
#include <windows.h>
#else
#include <pthread.h>
#endif

typedef struct {
    void (*fn)(void *);
    void *arg;
#if defined(_WIN32)
    HANDLE handle;
#else
    pthread_t handle;
#endif
} mastra_thread;

#if defined(_WIN32)
static unsigned __stdcall mastra_thread_entry(void *self) {
    mastra_thread *t = (mastra_thread *)self;
    t->fn(t->arg);
    return 0;
}
#else
static void *mastra_thread_entry(void *self) {
    mastra_thread *t = (mastra_thread *)self;
    t->fn(t->arg);
    return NULL;
}
#endif

/* Start fn(arg) on a new thread described by *t, which must stay in place until
 * mastra_thread_join(t). Returns 1 when the thread runs, 0 when none could be had. */
static int mastra_thread_start(mastra_thread *t, void (*fn)(void *), void *arg) {
    t->fn = fn;
    t->arg = arg;
#if defined(_WIN32)
    t->handle = (HANDLE)_beginthreadex(NULL, 0, mastra_thread_entry, t, 0, NULL);
    return t->handle != 0;
#else
    return pthread_create(&t->handle, NULL, mastra_thread_entry, t) == 0;
#endif
}

/* Wait for a thread started by mastra_thread_start and release it. */
static void mastra_thread_join(mastra_thread *t) {
#if defined(_WIN32)
    WaitForSingleObject(t->handle, INFINITE);
    CloseHandle(t->handle);
#else
    pthread_join(t->handle, NULL);
#endif
}

#endif /* MASTRA_THREAD_H */
