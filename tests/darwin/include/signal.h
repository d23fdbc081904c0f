/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
typedef unsigned int sigset_t;
#define SIGILL 4
#define SIGTRAP 5
#define SIGFPE 8
#define SIGBUS 10
#define SIGSEGV 11
#define SIGSYS 12
#define SIG_BLOCK 1
#define SIG_SETMASK 3
int sigfillset(sigset_t *set);
int sigdelset(sigset_t *set, int sig);
int pthread_sigmask(int how, const sigset_t *set, sigset_t *old);
