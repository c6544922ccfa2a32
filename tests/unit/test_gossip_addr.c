/* Unit tests for the address parsing and formatting the agent uses for --bind and
 * --advertise (agent/gossip_uv.h). */
#include "agent/gossip_uv.h"
#include "tests/unit/check.h"

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

int main(void)
{
    RUN(test_valid);
    RUN(test_invalid);
    return check_done();
}
