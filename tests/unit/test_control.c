/*
 * Unit tests for agent/control (the daemon's control socket) and agent/members_fmt (the table
 * `swarm members` prints). The server runs on a libuv loop in this thread; clients run in a
 * second thread with the blocking client API, as `swarm members` does.
 */
#include "agent/control.h"
#include "agent/members_fmt.h"
#include "tests/unit/check.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static int handled;

static char *handler(const char *request, void *arg)
{
    (void)arg;
    handled++;
    if (strcmp(request, "members") == 0)
        return strdup("[{\"name\":\"pi1\",\"addr\":\"10.0.0.1:7946\",\"role\":\"agent\","
                      "\"state\":\"alive\",\"incarnation\":3,\"labels\":{\"zone\":\"attic\"}}]\n");
    if (strcmp(request, "fail") == 0)
        return NULL;
    return strdup("{\"error\":\"unknown request\"}\n");
}

struct client_result {
    int rc;
    char *answer;
    char err[256];
};
static struct client_result results[4];
static const char *requests[4] = {"members", "fail", "bogus", NULL};
static uv_async_t done;

static void *client_thread(void *arg)
{
    (void)arg;
    for (int i = 0; requests[i]; i++)
        results[i].rc = control_request(dir, requests[i], 2000, &results[i].answer, results[i].err,
                                        sizeof(results[i].err));
    /* A request line longer than the bound is dropped without an answer. */
    char longreq[CONTROL_REQUEST_MAX + 10];
    memset(longreq, 'x', sizeof(longreq) - 1);
    longreq[sizeof(longreq) - 1] = '\0';
    results[3].rc = control_request(dir, longreq, 2000, &results[3].answer, results[3].err,
                                    sizeof(results[3].err));
    uv_async_send(&done);
    return NULL;
}

static int server_closed;
static void on_server_closed(struct control_server *s)
{
    (void)s;
    server_closed = 1;
}

static struct control_server server;
static void on_done(uv_async_t *a)
{
    control_server_close(&server, on_server_closed);
    uv_close((uv_handle_t *)a, NULL);
}

static void test_control_roundtrip(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    CHECK_INT(control_server_start(&loop, &server, dir, handler, NULL, err, sizeof(err)), 0);

    /* The socket is owner-only. */
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, CONTROL_SOCKET_NAME);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 077, 0);

    pthread_t t;
    uv_async_init(&loop, &done, on_done);
    pthread_create(&t, NULL, client_thread, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(t, NULL);
    CHECK_INT(server_closed, 1);
    CHECK_INT(uv_loop_close(&loop), 0); /* every handle was closed */

    CHECK_INT(results[0].rc, 0);
    CHECK(results[0].answer && strstr(results[0].answer, "\"pi1\"") != NULL);
    CHECK_INT(results[1].rc, 0);
    CHECK_STR(results[1].answer, "{\"error\":\"internal error\"}\n");
    CHECK_INT(results[2].rc, 0);
    CHECK_STR(results[2].answer, "{\"error\":\"unknown request\"}\n");
    CHECK_INT(results[3].rc, -1); /* too long: cannot even be sent */
    CHECK_INT(handled, 3);
    for (int i = 0; i < 4; i++)
        free(results[i].answer);

    /* Closed: the socket file is gone and clients say no daemon runs there. */
    CHECK(access(path, F_OK) != 0);
    char *answer = NULL;
    CHECK_INT(control_request(dir, "members", 500, &answer, err, sizeof(err)), -1);
    CHECK(strstr(err, "no swarm daemon is running") != NULL);
    CHECK(answer == NULL);
}

static void test_second_daemon_refused(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct control_server a, b;
    char err[512];
    CHECK_INT(control_server_start(&loop, &a, dir, handler, NULL, err, sizeof(err)), 0);
    CHECK_INT(control_server_start(&loop, &b, dir, handler, NULL, err, sizeof(err)), -1);
    CHECK(strstr(err, "another swarm daemon is running") != NULL);
    control_server_close(&a, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);

    /* A stale socket file (daemon killed) does not block a new daemon. */
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, CONTROL_SOCKET_NAME);
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (fp)
        fclose(fp);
    uv_loop_init(&loop);
    CHECK_INT(control_server_start(&loop, &a, dir, handler, NULL, err, sizeof(err)), 0);
    control_server_close(&a, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
}

static char *render(const char *json, int *rc, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    *rc = members_fmt_table(json, strlen(json), out, err, errlen);
    fclose(out);
    return buf;
}

static void test_members_table(void)
{
    char err[256];
    int rc;
    char *t = render("[{\"name\":\"pi1\",\"addr\":\"10.0.0.1:7946\",\"role\":\"agent\","
                     "\"state\":\"alive\",\"incarnation\":3,\"labels\":{\"zone\":\"attic\","
                     "\"disk\":\"ssd\"}},"
                     "{\"name\":\"manager-long-name\",\"addr\":\"10.0.0.2:7946\",\"role\":"
                     "\"manager\",\"state\":\"failed\",\"incarnation\":12,\"labels\":{}}]",
                     &rc, err, sizeof(err));
    CHECK_INT(rc, 0);
    CHECK_STR(
        t, "NAME               ADDRESS        ROLE     STATE   INCARNATION  LABELS\n"
           "pi1                10.0.0.1:7946  agent    alive   3            zone=attic,disk=ssd\n"
           "manager-long-name  10.0.0.2:7946  manager  failed  12           \n");
    free(t);

    t = render("[]", &rc, err, sizeof(err));
    CHECK_INT(rc, 0);
    CHECK_STR(t, "NAME  ADDRESS  ROLE  STATE  INCARNATION  LABELS\n");
    free(t);

    t = render("{\"error\":\"busy\"}", &rc, err, sizeof(err));
    CHECK_INT(rc, -1);
    CHECK_STR(err, "the daemon answered: busy");
    CHECK_STR(t, "");
    free(t);

    t = render("[{\"name\":\"a\",\"addr\":\"b\",\"role\":\"agent\",\"state\":\"alive\","
               "\"incarnation\":-1,\"labels\":{}}]",
               &rc, err, sizeof(err));
    CHECK_INT(rc, -1);
    CHECK_STR(err, "members[0].incarnation: expected a non-negative integer");
    free(t);

    t = render("[{\"name\":\"a\",\"addr\":\"b\",\"role\":\"agent\",\"state\":\"alive\","
               "\"incarnation\":1,\"labels\":{\"k\":1}}]",
               &rc, err, sizeof(err));
    CHECK_INT(rc, -1);
    CHECK_STR(err, "members[0].labels.k: expected a string");
    free(t);

    t = render("[1]", &rc, err, sizeof(err));
    CHECK_INT(rc, -1);
    CHECK_STR(err, "members[0]: expected an object");
    free(t);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/swctl.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_control_roundtrip);
    RUN(test_second_daemon_refused);
    RUN(test_members_table);
    rmdir(dir);
    return check_done();
}
