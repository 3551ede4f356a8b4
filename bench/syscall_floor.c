/* The kernel's floor for a datagram SIP server on this machine: what one sendto() and
 * one recvfrom() of a SIP-sized UDP datagram over loopback cost, with nothing else
 * around them. A REGISTER answered by a server needs one of each; a call through a
 * proxy (INVITE, 100, 180, 200, ACK, BYE, 200) about seven receives and eight sends.
 *
 *   cc -O2 -o /tmp/syscall_floor bench/syscall_floor.c
 *   taskset -c 0 /tmp/syscall_floor [bytes] [rounds]
 *
 * Prints nanoseconds per sendto (which on loopback includes delivering the datagram
 * into the receiver's queue) and per recvfrom (of a datagram already queued), each
 * timed over `rounds` calls in a row. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int bound_socket(struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int size = 64 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof *addr;
    if (fd < 0 || bind(fd, (struct sockaddr *)addr, len) < 0 ||
        getsockname(fd, (struct sockaddr *)addr, &len) < 0) {
        perror("socket");
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv) {
    int bytes = argc > 1 ? atoi(argv[1]) : 500;
    int rounds = argc > 2 ? atoi(argv[2]) : 20000;
    struct sockaddr_in a, b;
    int fa = bound_socket(&a), fb = bound_socket(&b);
    char *buf = calloc(1, 65536);
    memset(buf, 'x', bytes);
    /* In batches that fit any receive buffer (net.core.rmem_max caps SO_RCVBUF). */
    const int batch = 64;
    double best_send = 1e18, best_recv = 1e18;
    for (int trial = 0; trial < 5; trial++) {
        double send_ns = 0, recv_ns = 0;
        for (int done = 0; done < rounds; done += batch) {
            double t0 = now_ns();
            for (int i = 0; i < batch; i++) {
                if (sendto(fa, buf, bytes, 0, (struct sockaddr *)&b, sizeof b) != bytes) {
                    perror("sendto");
                    return 1;
                }
            }
            double t1 = now_ns();
            for (int i = 0; i < batch; i++) {
                if (recvfrom(fb, buf, 65536, 0, NULL, NULL) != bytes) {
                    perror("recvfrom");
                    return 1;
                }
            }
            double t2 = now_ns();
            send_ns += t1 - t0;
            recv_ns += t2 - t1;
        }
        int n = (rounds + batch - 1) / batch * batch;
        if (send_ns / n < best_send) best_send = send_ns / n;
        if (recv_ns / n < best_recv) best_recv = recv_ns / n;
    }
    printf("bytes=%d sendto_ns=%.0f recvfrom_ns=%.0f pair_ns=%.0f\n", bytes, best_send,
           best_recv, best_send + best_recv);
    return 0;
}
