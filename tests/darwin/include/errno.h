/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
extern int *__error(void);
#define errno (*__error())
#define EINTR 4
#define EIO 5
#define ENOEXEC 8
#define EDEADLK 11
#define EAGAIN 35
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define ENOENT 2
#define EINVAL 22
#define ERANGE 34
#define ENOSYS 78
