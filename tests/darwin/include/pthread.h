/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
typedef struct _opaque_pthread_mutex_t {
	long __sig;
	char __opaque[56];
} pthread_mutex_t;
#define PTHREAD_MUTEX_INITIALIZER { 0x32AAABA7, { 0 } }
int pthread_mutex_lock(pthread_mutex_t *m);
int pthread_mutex_unlock(pthread_mutex_t *m);
typedef struct _opaque_pthread_t *pthread_t;
typedef struct _opaque_pthread_once_t {
	long __sig;
	char __opaque[8];
} pthread_once_t;
#define PTHREAD_ONCE_INIT { 0x30B1BCBA, { 0 } }
pthread_t pthread_self(void);
int pthread_equal(pthread_t a, pthread_t b);
int pthread_once(pthread_once_t *once, void (*fn)(void));
int pthread_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
