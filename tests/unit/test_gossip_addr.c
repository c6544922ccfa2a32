/* Unit tests for the address parsing and formatting the agent uses for --bind and
 * --advertise, and the beacon group checks behind --mcast-group and --mcast-group6
 * (agent/gossip_uv.h). */
#include "agent/gossip_uv.h"
#include "tests/unit/check.h"

#include <arpa/inet.h>

static char err[256];

static const char *roundtrip(const char *text, uint16_t dflt)
{
    static char buf[64];
    struct proto_addr a;
    err[0] = '\0';
    if (gossip_parse_addr(text, dflt, &a, err, sizeof(err)) < 0)
        return NULL;
    gossip_format_addr(&a, buf, sizeof(buf));
    return buf;
}

static void test_valid(void)
{
    CHECK_STR(roundtrip("10.0.0.5", 7946), "10.0.0.5:7946");
    CHECK_STR(roundtrip("10.0.0.5:8000", 7946), "10.0.0.5:8000");
    CHECK_STR(roundtrip("0.0.0.0:7946", 1), "0.0.0.0:7946");
    CHECK_STR(roundtrip("[fe80::1]:7000", 7946), "[fe80::1]:7000");
    CHECK_STR(roundtrip("[::1]", 7946), "[::1]:7946");
    CHECK_STR(roundtrip("::1", 7946), "[::1]:7946"); /* bare IPv6, default port */
}

static void test_invalid(void)
{
    CHECK(roundtrip("10.0.0.5:0", 7946) == NULL);
    CHECK(strstr(err, "1..65535") != NULL);
    CHECK(roundtrip("10.0.0.5:70000", 7946) == NULL);
    CHECK(roundtrip("10.0.0.5:", 7946) == NULL);
    CHECK(roundtrip("10.0.0.5:80x", 7946) == NULL);
    CHECK(roundtrip("pi1.local", 7946) == NULL);
    CHECK(strstr(err, "numeric") != NULL);
    CHECK(roundtrip("[fe80::1", 7946) == NULL);
    CHECK(roundtrip("[::1]x", 7946) == NULL);
    CHECK(roundtrip("300.1.1.1", 7946) == NULL);
    CHECK(roundtrip("", 7946) == NULL);
}

static int group(int family, const char *text)
{
    err[0] = '\0';
    return gossip_check_mcast_group(family, text, err, sizeof(err));
}

static void test_mcast_group6(void)
{
    CHECK_INT(group(AF_INET6, GOSSIP_MCAST_GROUP6), 0);
    CHECK_INT(group(AF_INET6, "ff02::77:46"), 0);
    CHECK_INT(group(AF_INET6, "ff12::8384"), 0);
    CHECK_INT(group(AF_INET6, "FF05::1:3"), 0);                   /* site scope, upper case */
    CHECK_INT(group(AF_INET6, "ff01::1"), 0);                     /* interface-local */
    CHECK_INT(group(AF_INET6, "ff3e:40:2001:db8:cafe::1234"), 0); /* RFC 3306 prefix-based */
    CHECK_INT(group(AF_INET6, "fe80::1"), -1);                    /* unicast, link-local */
    CHECK(strstr(err, "not an IPv6 multicast address") != NULL);
    CHECK(strstr(err, GOSSIP_MCAST_GROUP6) != NULL);
    CHECK_INT(group(AF_INET6, "2001:db8::1"), -1);
    CHECK_INT(group(AF_INET6, "::"), -1);
    CHECK_INT(group(AF_INET6, "::ffff:239.255.77.46"), -1); /* v4-mapped is not a v6 group */
    CHECK_INT(group(AF_INET6, GOSSIP_MCAST_GROUP), -1);     /* the IPv4 group */
    CHECK_INT(group(AF_INET6, "ff00::1"), -1);              /* reserved scope 0 */
    CHECK_INT(group(AF_INET6, "ff0f::1"), -1);              /* reserved scope f */
    CHECK_INT(group(AF_INET6, "[ff12::77:46]"), -1);        /* no brackets */
    CHECK_INT(group(AF_INET6, "ff12::77:46%eth0"), -1);     /* no zone: joined everywhere */
    CHECK_INT(group(AF_INET6, "ff12::1::2"), -1);
    CHECK_INT(group(AF_INET6, "ff12:::1"), -1);
    CHECK_INT(group(AF_INET6, "ff12::gg"), -1);
    CHECK_INT(group(AF_INET6, ""), -1);
    CHECK_INT(group(AF_INET6, "all-nodes"), -1);
}

static void test_mcast_group4(void)
{
    CHECK_INT(group(AF_INET, GOSSIP_MCAST_GROUP), 0);
    CHECK_INT(group(AF_INET, "224.0.0.251"), 0);
    CHECK_INT(group(AF_INET, "239.1.2.3"), 0);
    CHECK_INT(group(AF_INET, "10.0.0.1"), -1);
    CHECK(strstr(err, "not an IPv4 multicast address") != NULL);
    CHECK_INT(group(AF_INET, "240.0.0.1"), -1);
    CHECK_INT(group(AF_INET, "223.255.255.255"), -1);
    CHECK_INT(group(AF_INET, GOSSIP_MCAST_GROUP6), -1);
    CHECK_INT(group(AF_INET, "239.255.77"), -1);
    CHECK_INT(group(AF_INET, ""), -1);
}

int main(void)
{
    RUN(test_valid);
    RUN(test_invalid);
    RUN(test_mcast_group6);
    RUN(test_mcast_group4);
    return check_done();
}
