/*
 * curl_runtime — libcurl loaded when `swarm bench` or `swarm version` first calls it, not linked.
 *
 * Why: the agent and the manager never use libcurl, but a binary linked with it maps libcurl
 * and its TLS, Kerberos, LDAP and compression libraries at every start: about 8 MB of resident
 * pages in each agent (bench/RESULTS.md, idle memory). So the binary links none of them, and
 * curl_runtime.c defines the libcurl calls swarm makes (curl_global_init, curl_easy_*,
 * curl_slist_*, curl_free, curl_version_info). The first call dlopen()s libcurl.so.4 and each
 * definition forwards to the library's own function. Callers include <curl/curl.h> and call
 * libcurl as usual.
 *
 * Those definitions are hidden (not in the binary's dynamic symbol table), so libcurl's own
 * internal calls still bind inside libcurl. A libcurl call the file does not define fails to
 * link, which is the reminder to add it there.
 *
 * If libcurl cannot be loaded, curl_global_init() returns CURLE_FAILED_INIT, curl_easy_init()
 * NULL, curl_version_info() NULL, and curl_runtime_error() says why (dlerror's text and the
 * package to install). Loading is thread-safe and happens once per process. The library stays
 * loaded until exit.
 */
#ifndef SWARM_MANAGER_CURL_RUNTIME_H
#define SWARM_MANAGER_CURL_RUNTIME_H

/* The soname loaded (Debian's libcurl4 and libcurl3-gnutls both provide one). */
#define CURL_RUNTIME_SONAME "libcurl.so.4"

/* Loads libcurl now if it is not loaded yet; 0, or -1 (then curl_runtime_error says why). */
int curl_runtime_load(void);

/* Why the load failed ("" if it did not, or has not been tried). Static storage. */
const char *curl_runtime_error(void);

#endif
