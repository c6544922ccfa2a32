#include "manager/curl_runtime.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

/* The libcurl calls below are defined here, hidden: see curl_runtime.h. */
#define CURL_DISABLE_TYPECHECK
#pragma GCC visibility push(hidden)
#include <curl/curl.h>
#pragma GCC visibility pop

typedef void (*any_fn)(void);

static struct {
    CURLcode (*global_init)(long);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    char *(*easy_escape)(CURL *, const char *, int);
    void (*free)(void *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    curl_version_info_data *(*version_info)(CURLversion);
} lib;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded = -1;
static char load_error[512];

/* dlsym's void * to a function pointer goes through a union: ISO C has no such cast. */
static any_fn sym(void *h, const char *name)
{
    union {
        void *p;
        any_fn f;
    } u = {.p = dlsym(h, name)};
    if (u.p == NULL && load_error[0] == '\0')
        snprintf(load_error, sizeof(load_error), "%s has no %s", CURL_RUNTIME_SONAME, name);
    return u.f;
}

#define LOAD(field, name) (lib.field = (__typeof__(lib.field))sym(h, name))

static void load(void)
{
    void *h = dlopen(CURL_RUNTIME_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf(load_error, sizeof(load_error),
                 "cannot load libcurl: %s (install Debian's libcurl4 package)", dlerror());
        return;
    }
    LOAD(global_init, "curl_global_init");
    LOAD(global_cleanup, "curl_global_cleanup");
    LOAD(easy_init, "curl_easy_init");
    LOAD(easy_setopt, "curl_easy_setopt");
    LOAD(easy_perform, "curl_easy_perform");
    LOAD(easy_getinfo, "curl_easy_getinfo");
    LOAD(easy_cleanup, "curl_easy_cleanup");
    LOAD(easy_strerror, "curl_easy_strerror");
    LOAD(easy_escape, "curl_easy_escape");
    LOAD(free, "curl_free");
    LOAD(slist_append, "curl_slist_append");
    LOAD(slist_free_all, "curl_slist_free_all");
    LOAD(version_info, "curl_version_info");
    if (load_error[0] != '\0') {
        dlclose(h);
        return;
    }
    loaded = 0;
}

int curl_runtime_load(void)
{
    pthread_once(&once, load);
    return loaded;
}

const char *curl_runtime_error(void)
{
    return load_error;
}

CURLcode curl_global_init(long flags)
{
    return curl_runtime_load() == 0 ? lib.global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
    if (curl_runtime_load() == 0)
        lib.global_cleanup();
}

CURL *curl_easy_init(void)
{
    return curl_runtime_load() == 0 ? lib.easy_init() : NULL;
}

/* The option's number says the type of its argument (curl.h's CURLOPTTYPE_ ranges). */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    if (curl_runtime_load() != 0)
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, option);
    CURLcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = lib.easy_setopt(curl, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_FUNCTIONPOINT)
        rc = lib.easy_setopt(curl, option, va_arg(ap, void *));
    else if (option < CURLOPTTYPE_OFF_T)
        rc = lib.easy_setopt(curl, option, va_arg(ap, any_fn));
    else if (option < CURLOPTTYPE_BLOB)
        rc = lib.easy_setopt(curl, option, va_arg(ap, curl_off_t));
    else
        rc = lib.easy_setopt(curl, option, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLcode curl_easy_perform(CURL *curl)
{
    return curl_runtime_load() == 0 ? lib.easy_perform(curl) : CURLE_FAILED_INIT;
}

/* Every CURLINFO_ kind is answered through a pointer. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    if (curl_runtime_load() != 0)
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = lib.easy_getinfo(curl, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

void curl_easy_cleanup(CURL *curl)
{
    if (curl_runtime_load() == 0)
        lib.easy_cleanup(curl);
}

const char *curl_easy_strerror(CURLcode code)
{
    return curl_runtime_load() == 0 ? lib.easy_strerror(code) : load_error;
}

char *curl_easy_escape(CURL *curl, const char *string, int length)
{
    return curl_runtime_load() == 0 ? lib.easy_escape(curl, string, length) : NULL;
}

void curl_free(void *p)
{
    if (curl_runtime_load() == 0)
        lib.free(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data)
{
    return curl_runtime_load() == 0 ? lib.slist_append(list, data) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
    if (curl_runtime_load() == 0)
        lib.slist_free_all(list);
}

curl_version_info_data *curl_version_info(CURLversion stamp)
{
    return curl_runtime_load() == 0 ? lib.version_info(stamp) : NULL;
}
