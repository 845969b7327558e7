/*
 * test_tcp_info.c - tcp_min_rtt_us() reads the kernel's minimum RTT: small
 * and positive on a loopback connection that has carried data, an error on
 * a socket that is not TCP. The fetch response limit grows with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "net/tcp_info.h"

/* A connected loopback pair: out[0] the client side, out[1] the accepted one. 0 or -1. */
static int loopback_pair(int out[2])
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 1) < 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &len) < 0)
        return -1;
    out[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (out[0] < 0 || connect(out[0], (struct sockaddr *)&addr, sizeof addr) < 0)
        return -1;
    out[1] = accept(listener, NULL, NULL);
    close(listener);
    return out[1] < 0 ? -1 : 0;
}

int main(void)
{
    int fds[2] = {-1, -1};
    if (loopback_pair(fds) < 0) {
        printf("FAIL: no loopback connection: %s\n", strerror(errno));
        return 1;
    }
    char buf[64] = "ping";
    for (int i = 0; i < 10; i++) { /* a few round trips, each acknowledged */
        CHECK(write(fds[0], buf, 4) == 4, "write");
        CHECK(read(fds[1], buf, sizeof buf) == 4, "read");
        CHECK(write(fds[1], buf, 4) == 4, "write back");
        CHECK(read(fds[0], buf, sizeof buf) == 4, "read back");
    }
    int64_t rtt = tcp_min_rtt_us(fds[0]);
    CHECK(rtt > 0 && rtt < 100000, "loopback minimum RTT %lld us", (long long)rtt);
    close(fds[0]);
    close(fds[1]);

    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(tcp_min_rtt_us(udp) < 0, "a UDP socket has no TCP_INFO");
    close(udp);

    if (failures)
        return 1;
    printf("test_tcp_info: ok\n");
    return 0;
}
