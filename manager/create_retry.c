/* create_retry — the decisions of the create retry on a missing image. See create_retry.h. */
#include "manager/create_retry.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

bool create_image_missing(int status, const char *body, size_t len)
{
    if (status != 404 || body == NULL || len == 0)
        return false;
    json_t *v = json_loadb(body, len, 0, NULL);
    const char *msg = json_string_value(json_object_get(v, "message"));
    bool missing = msg && strstr(msg, "No such image") != NULL;
    json_decref(v);
    return missing;
}

/* Appends s[0..n) percent-encoded (all but RFC 3986's unreserved characters). */
static int encode(char *out, size_t cap, size_t *off, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        size_t need = plain ? 1 : 3;
        if (*off + need >= cap)
            return -1;
        if (plain) {
            out[(*off)++] = (char)c;
        } else {
            out[(*off)++] = '%';
            out[(*off)++] = hex[c >> 4];
            out[(*off)++] = hex[c & 15];
        }
    }
    out[*off] = '\0';
    return 0;
}

static int append(char *out, size_t cap, size_t *off, const char *s, size_t n)
{
    if (*off + n >= cap)
        return -1;
    memcpy(out + *off, s, n);
    *off += n;
    out[*off] = '\0';
    return 0;
}

int create_pull_target(const char *prefix, size_t prefix_len, const char *image, char *out,
                       size_t cap)
{
    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (image == NULL || image[0] == '\0' || strncmp(image, "sha256:", 7) == 0)
        return -1;
    size_t n = strlen(image), name_len = n;
    const char *tag = "latest";
    size_t tag_len = 6;
    const char *at = strchr(image, '@');
    if (at) {
        /* name[:tag]@digest: the digest is what is pulled. */
        name_len = (size_t)(at - image);
        tag = at + 1;
        tag_len = n - name_len - 1;
    }
    const char *slash = NULL;
    for (size_t i = 0; i < name_len; i++)
        if (image[i] == '/')
            slash = image + i;
    const char *from = slash ? slash + 1 : image;
    const char *colon = memchr(from, ':', name_len - (size_t)(from - image));
    if (colon) {
        if (!at) {
            tag = colon + 1;
            tag_len = name_len - (size_t)(colon + 1 - image);
        }
        name_len = (size_t)(colon - image);
    }
    if (name_len == 0 || tag_len == 0)
        return -1;
    size_t off = 0;
    if (append(out, cap, &off, prefix ? prefix : "", prefix ? prefix_len : 0) < 0 ||
        append(out, cap, &off, "/images/create?fromImage=", 25) < 0 ||
        encode(out, cap, &off, image, name_len) < 0 || append(out, cap, &off, "&tag=", 5) < 0 ||
        encode(out, cap, &off, tag, tag_len) < 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* s if it has something to say, else NULL (an engine may send "error": ""). */
static const char *said(const char *s)
{
    return s && s[0] ? s : NULL;
}

int create_pull_result(int status, const char *body, size_t len, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (status != 200) {
        json_t *v = body && len ? json_loadb(body, len, 0, NULL) : NULL;
        const char *msg = said(json_string_value(json_object_get(v, "message")));
        if (msg)
            snprintf(err, errlen, "%s", msg);
        else
            snprintf(err, errlen, "pull failed (HTTP status %d)", status);
        json_decref(v);
        return -1;
    }
    const char *p = body ? body : "", *end = p + (body ? len : 0);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *line = l ? json_loadb(p, l, 0, NULL) : NULL;
        json_t *e = json_object_get(line, "error");
        if (e) {
            const char *msg = said(json_string_value(e));
            if (msg == NULL)
                msg = said(json_string_value(
                    json_object_get(json_object_get(line, "errorDetail"), "message")));
            snprintf(err, errlen, "%s", msg ? msg : "pull failed");
            json_decref(line);
            return -1;
        }
        json_decref(line);
        p += l + 1;
    }
    return 0;
}

bool create_has_node_constraint(const struct sched_request *req)
{
    for (size_t i = 0; req && i < req->nconstraints; i++) {
        const char *c = req->constraints[i];
        if (c && strncmp(c, "node==", 6) == 0 && c[6] != '~')
            return true;
    }
    return false;
}
