/* Unit tests for common/flags: every accepted form, every error, ownership. */
#include "common/flags.h"
#include "tests/unit/check.h"

static const struct flag_spec specs[] = {
    {"state-dir", 0, FLAG_VALUE, "DIR", "state"},
    {"host", 'H', FLAG_LIST, "URL", "listen"},
    {"no-multicast", 0, FLAG_BOOL, NULL, "off"},
    {"label", 0, FLAG_LIST, "K=V", "label"},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static struct flag_value values[NSPECS];
static char err[256];

static int parse(struct flagset *f, int argc, char **argv)
{
    *f = (struct flagset){.specs = specs, .nspecs = NSPECS, .values = values};
    err[0] = '\0';
    return flags_parse(f, argc, argv, err, sizeof(err));
}

static void test_long_forms(void)
{
    char *argv[] = {"--state-dir", "/a", "--state-dir=/b", "--no-multicast", "pos"};
    struct flagset f;
    CHECK_INT(parse(&f, 5, argv), 0);
    CHECK_INT(flags_get(&f, "state-dir")->count, 2);
    CHECK_STR(flags_get(&f, "state-dir")->value, "/b"); /* last one wins */
    CHECK_INT(flags_bool(&f, "no-multicast"), 1);
    CHECK_INT(f.npositional, 1);
    CHECK_STR(f.positional[0], "pos");
    CHECK(flags_get(&f, "nonexistent") == NULL);
    flags_release(&f);
}

static void test_short_and_list(void)
{
    char *argv[] = {"-H",      "unix:///a", "-H=tcp://127.0.0.1:1", "-Hunix:///c", "--host", "d",
                    "--label", "k=v"};
    struct flagset f;
    CHECK_INT(parse(&f, 8, argv), 0);
    const struct flag_value *h = flags_get(&f, "host");
    CHECK_INT(h->count, 4);
    CHECK_STR(h->list[0], "unix:///a");
    CHECK_STR(h->list[1], "tcp://127.0.0.1:1");
    CHECK_STR(h->list[2], "unix:///c");
    CHECK_STR(h->list[3], "d");
    CHECK_STR(flags_get(&f, "label")->list[0], "k=v");
    CHECK_INT(flags_bool(&f, "no-multicast"), 0);
    flags_release(&f);
}

static void test_bool_values(void)
{
    char *yes[] = {"--no-multicast=true"};
    char *no[] = {"--no-multicast=false"};
    char *bad[] = {"--no-multicast=maybe"};
    struct flagset f;
    CHECK_INT(parse(&f, 1, yes), 0);
    CHECK_INT(flags_bool(&f, "no-multicast"), 1);
    flags_release(&f);
    CHECK_INT(parse(&f, 1, no), 0);
    CHECK_INT(flags_bool(&f, "no-multicast"), 0);
    flags_release(&f);
    CHECK_INT(parse(&f, 1, bad), -1);
    CHECK(strstr(err, "--no-multicast") != NULL);
    flags_release(&f);
}

static void test_errors(void)
{
    struct flagset f;
    char *unknown[] = {"--bogus=1"};
    CHECK_INT(parse(&f, 1, unknown), -1);
    CHECK_STR(err, "unknown flag --bogus");
    flags_release(&f);

    char *unknown_short[] = {"-Z"};
    CHECK_INT(parse(&f, 1, unknown_short), -1);
    CHECK_STR(err, "unknown flag -Z");
    flags_release(&f);

    char *missing[] = {"--state-dir"};
    CHECK_INT(parse(&f, 1, missing), -1);
    CHECK_STR(err, "flag --state-dir needs a value (DIR)");
    flags_release(&f);

    char *empty[] = {"--state-dir="};
    CHECK_INT(parse(&f, 1, empty), -1);
    CHECK(strstr(err, "non-empty") != NULL);
    flags_release(&f);

    /* A list that fails half-way is still released without leaks (valgrind checks). */
    char *half[] = {"-H", "a", "-H", "b", "--nope"};
    CHECK_INT(parse(&f, 5, half), -1);
    flags_release(&f);

    char *dashes[] = {"--"};
    CHECK_INT(parse(&f, 1, dashes), 0);
    CHECK_INT(f.npositional, 0);
    flags_release(&f);
}

static void test_double_dash_and_help(void)
{
    char *argv[] = {"-h", "--", "--state-dir", "-"};
    struct flagset f;
    CHECK_INT(parse(&f, 4, argv), 0);
    CHECK_INT(f.help, 1);
    CHECK_INT(f.npositional, 2);
    CHECK_STR(f.positional[0], "--state-dir");
    CHECK_STR(f.positional[1], "-");
    CHECK_INT(flags_get(&f, "state-dir")->count, 0);
    flags_release(&f);
}

static void test_help_text(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    flags_print_help(out, specs, NSPECS);
    fclose(out);
    CHECK(strstr(buf, "-H, --host URL") != NULL);
    CHECK(strstr(buf, "--state-dir DIR") != NULL);
    CHECK(strstr(buf, "(repeatable)") != NULL);
    free(buf);
}

int main(void)
{
    RUN(test_long_forms);
    RUN(test_short_and_list);
    RUN(test_bool_values);
    RUN(test_errors);
    RUN(test_double_dash_and_help);
    RUN(test_help_text);
    return check_done();
}
