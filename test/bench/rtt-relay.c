/*
 * Benchmarks only: a round-trip time on this machine, where the kernel has no
 * netem qdisc. Makes TUN device "tlrtt0" in the current network namespace and
 * "tlrtt1" in the namespace NETNS_PATH names, and copies every IP packet from
 * one to the other DELAY_MS / 2 after it arrived, so that a TCP connection
 * between the two namespaces sees a round-trip time of DELAY_MS. rtt.ts builds
 * it with cc, gives the devices their addresses, and stops it by PID.
 *
 *   rtt-relay NETNS_PATH DELAY_MS      prints "ready" once both devices exist
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_PACKETS 4096
/* TUN devices have a 1500-byte MTU and, without IFF_VNET_HDR, no offloads: no packet is larger. */
#define PACKET_BYTES 2048

struct packet {
  uint64_t due_ns;
  ssize_t length;
  char bytes[PACKET_BYTES];
};

/* Packets read from one device, in arrival order, waiting to be written to the other. */
struct queue {
  struct packet *packets;
  size_t head, count;
  int from, to;
};

static uint64_t now_ns(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (uint64_t)time.tv_sec * 1000000000u + (uint64_t)time.tv_nsec;
}

static int open_tun(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
  struct ifreq request;
  memset(&request, 0, sizeof request);
  request.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(request.ifr_name, name, IFNAMSIZ - 1);
  if (fd < 0 || ioctl(fd, TUNSETIFF, &request) < 0) {
    perror(name);
    exit(1);
  }
  return fd;
}

/* Reads what the device has; a full queue drops the packet, as a full link would. */
static void take(struct queue *queue, uint64_t delay_ns) {
  static char dropped[PACKET_BYTES];
  for (;;) {
    int full = queue->count == QUEUE_PACKETS;
    struct packet *slot = &queue->packets[(queue->head + queue->count) % QUEUE_PACKETS];
    ssize_t length = read(queue->from, full ? dropped : slot->bytes, PACKET_BYTES);
    if (length <= 0) return;
    if (full) continue;
    slot->length = length;
    slot->due_ns = now_ns() + delay_ns;
    queue->count++;
  }
}

/* Writes the packets whose time has come; returns ns until the next one is due (UINT64_MAX: none). */
static uint64_t deliver(struct queue *queue) {
  while (queue->count > 0) {
    struct packet *first = &queue->packets[queue->head];
    uint64_t now = now_ns();
    if (first->due_ns > now) return first->due_ns - now;
    /* EIO: the device is not up yet, or going away; such a packet is lost, as on a link that is down. */
    if (write(queue->to, first->bytes, (size_t)first->length) < 0 && errno != EIO) perror("write");
    queue->head = (queue->head + 1) % QUEUE_PACKETS;
    queue->count--;
  }
  return UINT64_MAX;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: rtt-relay NETNS_PATH DELAY_MS\n");
    return 64;
  }
  uint64_t one_way_ns = (uint64_t)(atof(argv[2]) * 1e6 / 2);
  int here = open_tun("tlrtt0");
  int namespace = open(argv[1], O_RDONLY);
  if (namespace < 0 || setns(namespace, CLONE_NEWNET) < 0) {
    perror(argv[1]);
    return 1;
  }
  int there = open_tun("tlrtt1");
  struct queue queues[2] = {
    {calloc(QUEUE_PACKETS, sizeof(struct packet)), 0, 0, here, there},
    {calloc(QUEUE_PACKETS, sizeof(struct packet)), 0, 0, there, here},
  };
  if (queues[0].packets == NULL || queues[1].packets == NULL) {
    perror("calloc");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    uint64_t wait_ns = UINT64_MAX;
    for (int index = 0; index < 2; index++) {
      uint64_t next = deliver(&queues[index]);
      if (next < wait_ns) wait_ns = next;
    }
    struct pollfd fds[2] = {{here, POLLIN, 0}, {there, POLLIN, 0}};
    struct timespec timeout = {(time_t)(wait_ns / 1000000000u), (long)(wait_ns % 1000000000u)};
    if (ppoll(fds, 2, wait_ns == UINT64_MAX ? NULL : &timeout, NULL) < 0) {
      perror("ppoll");
      return 1;
    }
    for (int index = 0; index < 2; index++) take(&queues[index], one_way_ns);
  }
}
