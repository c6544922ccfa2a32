/* Unit tests for manager/create_retry: the decisions of the create retry on a missing image. */
#include "manager/create_retry.h"

#include "tests/unit/check.h"

#include <jansson.h>

#define S(lit) lit, sizeof(lit) - 1

static void test_image_missing(void)
{
    CHECK(create_image_missing(404, S("{\"message\":\"No such image: busybox:latest\"}\n")));
    CHECK(create_image_missing(404, S("{\"message\":\"No such image: 10.1.2.3:5000/bb:v2\"}")));
    /* Other 404s of a create are not about the image. */
    CHECK(!create_image_missing(404, S("{\"message\":\"network web not found\"}")));
    CHECK(!create_image_missing(404, S("{\"message\":\"No such container: db\"}")));
    /* Only a 404 counts; a body that is not JSON, or no body, is not a missing image. */
    CHECK(!create_image_missing(500, S("{\"message\":\"No such image: busybox\"}")));
    CHECK(!create_image_missing(201, S("{\"Id\":\"abc\",\"Warnings\":[]}")));
    CHECK(!create_image_missing(404, S("No such image: busybox")));
    CHECK(!create_image_missing(404, NULL, 0));
    CHECK(!create_image_missing(404, S("{\"message\":42}")));
}

static void pull_target(const char *prefix, const char *image, const char *want)
{
    char out[512];
    int rc = create_pull_target(prefix, prefix ? strlen(prefix) : 0, image, out, sizeof(out));
    if (want == NULL) {
        CHECK_INT(rc, -1);
        CHECK_STR(out, "");
    } else {
        CHECK_INT(rc, 0);
        CHECK_STR(out, want);
    }
}

static void test_pull_target(void)
{
    pull_target("", "busybox", "/images/create?fromImage=busybox&tag=latest");
    pull_target("/v1.41", "busybox:1.36", "/v1.41/images/create?fromImage=busybox&tag=1.36");
    pull_target(NULL, "library/redis:7", "/images/create?fromImage=library%2Fredis&tag=7");
    /* A registry port is not a tag. */
    pull_target("/v1.41", "10.77.0.1:5000/bb",
                "/v1.41/images/create?fromImage=10.77.0.1%3A5000%2Fbb&tag=latest");
    pull_target("", "10.77.0.1:5000/team/bb:v2",
                "/images/create?fromImage=10.77.0.1%3A5000%2Fteam%2Fbb&tag=v2");
    /* A digest is what is pulled, with or without a tag beside it. */
    pull_target("", "alpine@sha256:0123abcd",
                "/images/create?fromImage=alpine&tag=sha256%3A0123abcd");
    pull_target("", "localhost:5000/alpine:3.19@sha256:ff",
                "/images/create?fromImage=localhost%3A5000%2Falpine&tag=sha256%3Aff");
    /* Nothing to pull: no image, an image id, an empty tag or name. */
    pull_target("", "", NULL);
    pull_target("", NULL, NULL);
    pull_target("", "sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741",
                NULL);
    pull_target("", "busybox:", NULL);
    pull_target("", ":v1", NULL);
    pull_target("", "busybox@", NULL);
    /* Does not fit. */
    char small[32];
    CHECK_INT(create_pull_target("", 0, "busybox", small, sizeof(small)), -1);
    CHECK_STR(small, "");
    CHECK_INT(create_pull_target("", 0, "busybox", small, 0), -1);
    char exact[64];
    const char *want = "/images/create?fromImage=busybox&tag=latest";
    CHECK_INT(create_pull_target("", 0, "busybox", exact, strlen(want) + 1), 0);
    CHECK_STR(exact, want);
    CHECK_INT(create_pull_target("", 0, "busybox", exact, strlen(want)), -1);
}

static void test_pull_result(void)
{
    char err[128];
    const char ok[] =
        "{\"status\":\"Pulling from bb\",\"id\":\"v2\"}\r\n"
        "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"a1b2\"}\r\n"
        "{\"status\":\"Status: Downloaded newer image for 10.77.0.1:5000/bb:v2\"}\r\n";
    CHECK_INT(create_pull_result(200, S(ok), err, sizeof(err)), 0);
    CHECK_STR(err, "");
    /* An empty stream is not an error (an engine that had nothing to do). */
    CHECK_INT(create_pull_result(200, "", 0, err, sizeof(err)), 0);
    CHECK_INT(create_pull_result(200, NULL, 0, err, sizeof(err)), 0);
    /* The error line, wherever it is; the last line without its newline too. */
    const char bad[] = "{\"status\":\"Pulling repository nothere\"}\r\n"
                       "{\"errorDetail\":{\"message\":\"manifest for nothere:latest not found\"},"
                       "\"error\":\"manifest for nothere:latest not found\"}";
    CHECK_INT(create_pull_result(200, S(bad), err, sizeof(err)), -1);
    CHECK_STR(err, "manifest for nothere:latest not found");
    const char detail_only[] = "{\"error\":null,\"errorDetail\":{\"message\":\"denied\"}}\n";
    CHECK_INT(create_pull_result(200, S(detail_only), err, sizeof(err)), -1);
    CHECK_STR(err, "denied");
    const char bare[] = "{\"error\":{}}\n";
    CHECK_INT(create_pull_result(200, S(bare), err, sizeof(err)), -1);
    CHECK_STR(err, "pull failed");
    /* An empty text says nothing: the next one in line, else the generic one. */
    const char empty[] = "{\"error\":\"\",\"errorDetail\":{\"message\":\"\"}}\n";
    CHECK_INT(create_pull_result(200, S(empty), err, sizeof(err)), -1);
    CHECK_STR(err, "pull failed");
    const char empty_error[] = "{\"error\":\"\",\"errorDetail\":{\"message\":\"denied\"}}\n";
    CHECK_INT(create_pull_result(200, S(empty_error), err, sizeof(err)), -1);
    CHECK_STR(err, "denied");
    CHECK_INT(create_pull_result(500, S("{\"message\":\"\"}"), err, sizeof(err)), -1);
    CHECK_STR(err, "pull failed (HTTP status 500)");
    /* Lines that are not JSON objects are skipped. */
    const char noise[] = "\n\nnot json\n[1,2]\n{\"status\":\"done\"}\n";
    CHECK_INT(create_pull_result(200, S(noise), err, sizeof(err)), 0);
    /* A non-200 answer: its message, else the status. */
    const char e404[] = "{\"message\":\"pull access denied for nothere\"}\n";
    CHECK_INT(create_pull_result(404, S(e404), err, sizeof(err)), -1);
    CHECK_STR(err, "pull access denied for nothere");
    CHECK_INT(create_pull_result(502, S("<html>"), err, sizeof(err)), -1);
    CHECK_STR(err, "pull failed (HTTP status 502)");
    /* The text is cut to the buffer, never past it. */
    char tiny[8];
    CHECK_INT(create_pull_result(200, S(bad), tiny, sizeof(tiny)), -1);
    CHECK_STR(tiny, "manifes");
}

static void test_node_constraint(void)
{
    const char *hard[] = {"zone==a", "node==h2"};
    const char *soft[] = {"node==~h2"};
    const char *other[] = {"node!=h2", "nodes==h1", "storagedriver==vfs"};
    struct sched_request r;
    memset(&r, 0, sizeof(r));
    CHECK(!create_has_node_constraint(&r));
    CHECK(!create_has_node_constraint(NULL));
    r.constraints = hard;
    r.nconstraints = 2;
    CHECK(create_has_node_constraint(&r));
    r.nconstraints = 1;
    CHECK(!create_has_node_constraint(&r));
    r.constraints = soft;
    r.nconstraints = 1;
    CHECK(!create_has_node_constraint(&r));
    r.constraints = other;
    r.nconstraints = 3;
    CHECK(!create_has_node_constraint(&r));
    /* From a real body: the Env expression becomes a constraint. */
    json_t *body =
        json_pack("{s:s, s:[s, s]}", "Image", "busybox", "Env", "constraint:node==h3", "A=1");
    struct sched_request *req = NULL;
    int status = 0;
    char err[128];
    CHECK_INT(sched_request_from_body(body, "web", NULL, &req, &status, err, sizeof(err)), 0);
    CHECK(req && create_has_node_constraint(req));
    sched_request_free(req);
    json_decref(body);
}

int main(void)
{
    RUN(test_image_missing);
    RUN(test_pull_target);
    RUN(test_pull_result);
    RUN(test_node_constraint);
    return check_done();
}
