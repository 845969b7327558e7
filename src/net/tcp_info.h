/*
 * tcp_info.h - what the kernel has measured of a TCP connection's path.
 *
 * Apart from connection.c because it needs <linux/tcp.h>: glibc's
 * <netinet/tcp.h> has an older struct tcp_info without the minimum RTT,
 * and the two headers cannot be included together.
 */
#ifndef EDDY_NET_TCP_INFO_H
#define EDDY_NET_TCP_INFO_H

#include <stdint.h>

/* The smallest round-trip time the kernel has seen on the socket, in
 * microseconds (0: none measured yet), or -errno (not a TCP socket, say).
 * Unlike the smoothed RTT it does not grow while a slow reader lets data
 * queue, so it tells the path's own latency. */
int64_t tcp_min_rtt_us(int fd);

#endif
