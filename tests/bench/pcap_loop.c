/* SPDX-License-Identifier: MIT */
/* pcap_loop.c: the bare libpcap read loop the sensor is measured against:
 * every packet read and its bytes touched once, nothing else. */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = argc == 2 ? pcap_open_offline(argv[1], err) : NULL;
    if (!p) {
        fprintf(stderr, "usage: pcap_loop FILE (%s)\n", argc == 2 ? err : "");
        return 2;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned long long n = 0, sum = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        n++;
        sum += d[h->caplen - 1];
    }
    printf("%llu packets (checksum %llu)\n", n, sum);
    pcap_close(p);
    return 0;
}
