/*
 * Benchmarks only: an LD_PRELOAD shim that sets TCP_NODELAY on every socket
 * the process connects, which aws-crt-nodejs offers no way to ask for. It
 * shows what Nagle's algorithm with delayed ACKs costs a one-shot publish.
 * startup.ts builds it with cc into its temp folder.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *address, socklen_t length) {
  static int (*real_connect)(int, const struct sockaddr *, socklen_t);
  if (real_connect == NULL) real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
  int type = 0;
  socklen_t size = sizeof type;
  if ((address->sa_family == AF_INET || address->sa_family == AF_INET6) && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0 && type == SOCK_STREAM) {
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  return real_connect(fd, address, length);
}
