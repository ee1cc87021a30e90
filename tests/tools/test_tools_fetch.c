/* test_tools_fetch.c — web_fetch and web_search against a libmicrohttpd server on
 * 127.0.0.1 started by the test. Loopback is allowed explicitly where a test needs the
 * server; every refusal happens before a socket exists, so no packet leaves loopback. */
#include "tools_test_util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <unistd.h>

static struct MHD_Daemon *daemon_;
static unsigned port_;
static char base_[64];               /* http://127.0.0.1:PORT */
static pthread_mutex_t hits_lock = PTHREAD_MUTEX_INITIALIZER;
static int hits_;                    /* requests served */
static char last_query_[256];        /* q= of the last /search */

static const char page_html[] =
    "<!DOCTYPE html><html><head><title>Test  page</title>"
    "<style>body{color:red}</style><script>alert('x')</script></head>"
    "<body><h1>Hello &amp; welcome</h1><p>This is   the <b>test</b> page.</p></body></html>";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, size_t len, const char *location) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (type) MHD_add_response_header(r, "Content-Type", type);
    if (location) MHD_add_response_header(r, "Location", location);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req) {
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size, (void)req;
    pthread_mutex_lock(&hits_lock);
    hits_++;
    pthread_mutex_unlock(&hits_lock);
    if (strcmp(url, "/page") == 0) return reply(c, 200, "text/html; charset=utf-8", page_html, strlen(page_html), NULL);
    if (strcmp(url, "/text") == 0) return reply(c, 200, "text/plain", "just text\n", 10, NULL);
    if (strcmp(url, "/latin1") == 0)
        return reply(c, 200, "text/html; charset=ISO-8859-1", "<p>caf\xe9</p>", 11, NULL);
    if (strcmp(url, "/big") == 0) {
        static char big[200000];
        memset(big, 'a', sizeof big);
        memcpy(big, "<p>", 3);
        return reply(c, 200, "text/html", big, sizeof big, NULL);
    }
    if (strcmp(url, "/binary") == 0) return reply(c, 200, "application/octet-stream", "\x00\x01\x02", 3, NULL);
    if (strcmp(url, "/missing") == 0) return reply(c, 404, "text/html", "<p>not here</p>", 15, NULL);
    if (strcmp(url, "/slow") == 0) {
        usleep(1500 * 1000);
        return reply(c, 200, "text/plain", "late", 4, NULL);
    }
    if (strcmp(url, "/redirect-ok") == 0) return reply(c, 302, NULL, "", 0, "/page");
    if (strcmp(url, "/redirect-loop") == 0) return reply(c, 302, NULL, "", 0, "/redirect-loop");
    if (strcmp(url, "/redirect-private") == 0) return reply(c, 302, NULL, "", 0, "http://10.0.0.1/secret");
    if (strcmp(url, "/redirect-metadata") == 0)
        return reply(c, 302, NULL, "", 0, "http://169.254.169.254/latest/meta-data/");
    if (strcmp(url, "/redirect-mapped") == 0) return reply(c, 301, NULL, "", 0, "http://[::ffff:10.0.0.1]/");
    if (strcmp(url, "/redirect-decimal") == 0) return reply(c, 302, NULL, "", 0, "http://2852039166/");
    if (strcmp(url, "/redirect-file") == 0) return reply(c, 302, NULL, "", 0, "file:///etc/passwd");
    if (strcmp(url, "/search") == 0 || strcmp(url, "/bad-search") == 0) {
        const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
        const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
        pthread_mutex_lock(&hits_lock);
        snprintf(last_query_, sizeof last_query_, "%s|%s", q ? q : "", format ? format : "");
        pthread_mutex_unlock(&hits_lock);
        if (strcmp(url, "/bad-search") == 0) return reply(c, 200, "text/html", "<p>no</p>", 9, NULL);
        static const char json[] =
            "{\"query\":\"q\",\"results\":["
            "{\"title\":\"Result one\",\"url\":\"https://one.example/\",\"content\":\"First snippet\"},"
            "{\"title\":\"Result two\",\"url\":\"https://two.example/\",\"content\":\"Second snippet\"},"
            "{\"title\":\"No URL\"},"
            "{\"title\":\"Result three\",\"url\":\"https://three.example/\"}]}";
        return reply(c, 200, "application/json", json, strlen(json), NULL);
    }
    return reply(c, 404, "text/plain", "no route", 8, NULL);
}

static int start_server(void **state) {
    (void)state;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                               handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!daemon_) return -1;
    port_ = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
    snprintf(base_, sizeof base_, "http://127.0.0.1:%u", port_);
    return 0;
}

static int stop_server(void **state) {
    (void)state;
    MHD_stop_daemon(daemon_);
    return 0;
}

static int hits(void) {
    pthread_mutex_lock(&hits_lock);
    int n = hits_;
    pthread_mutex_unlock(&hits_lock);
    return n;
}

static ember_tools *fetch_tools(bool allow_loopback, size_t max_bytes) {
    ember_tools_options opt;
    ember_tools_options_init(&opt);
    opt.fetch_allow_loopback = allow_loopback;
    opt.fetch_max_bytes = max_bytes;
    opt.fetch_max_redirects = 3;
    return tt_tools(&opt, "web_fetch");
}

/* Fetches base_ + path (when path starts with '/') or path itself; the JSON is optional. */
static ember_tool_result *fetch(ember_tools *t, const char *path, const char *extra, double timeout, json_t **j) {
    char args[512];
    snprintf(args, sizeof args, "{\"url\": \"%s%s\"%s}", path[0] == '/' ? base_ : "", path,
             extra ? extra : "");
    return tt_call(t, "web_fetch", args, timeout, j);
}

static void page_to_text(void **state) {
    (void)state;
    ember_tools *t = fetch_tools(true, 0);
    json_t *j;
    ember_tool_result *r = fetch(t, "/page", NULL, 10, &j);
    tt_expect_status(r, EMBER_OK);
    assert_string_equal(ember_tool_result_output(r), "Hello & welcome\n\nThis is the test page.");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Test page");
    assert_int_equal(json_integer_value(json_object_get(j, "http_status")), 200);
    tt_expect_contains(json_string_value(json_object_get(j, "final_url")), "/page");
    tt_expect_contains(json_string_value(json_object_get(j, "content_type")), "text/html");
    assert_true(json_is_false(json_object_get(j, "truncated")));
    json_decref(j);
    ember_tool_result_destroy(r);

    r = fetch(t, "/text", NULL, 10, NULL);
    tt_expect_status(r, EMBER_OK);
    assert_string_equal(ember_tool_result_output(r), "just text\n");
    ember_tool_result_destroy(r);

    r = fetch(t, "/latin1", NULL, 10, NULL);
    tt_expect_status(r, EMBER_OK);
    assert_string_equal(ember_tool_result_output(r), "café");
    ember_tool_result_destroy(r);

    r = fetch(t, "/redirect-ok", NULL, 10, &j);
    tt_expect_status(r, EMBER_OK);
    tt_expect_contains(json_string_value(json_object_get(j, "final_url")), "/page");
    tt_expect_contains(ember_tool_result_output(r), "test page");
    json_decref(j);
    ember_tool_result_destroy(r);

    /* A decimal host that means 127.0.0.1 reaches the server when loopback is allowed. */
    char url[96];
    snprintf(url, sizeof url, "http://2130706433:%u/text", port_);
    r = fetch(t, url, NULL, 10, NULL);
    tt_expect_status(r, EMBER_OK);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void limits(void **state) {
    (void)state;
    ember_tools *t = fetch_tools(true, 1000);
    json_t *j;
    ember_tool_result *r = fetch(t, "/big", NULL, 10, &j);
    tt_expect_status(r, EMBER_OK);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    assert_true(strlen(ember_tool_result_output(r)) <= 1000);
    assert_true(strlen(ember_tool_result_output(r)) > 900);
    json_decref(j);
    ember_tool_result_destroy(r);

    r = fetch(t, "/page", ", \"max_chars\": 5", 10, &j);
    tt_expect_status(r, EMBER_OK);
    assert_string_equal(ember_tool_result_output(r), "Hello");
    assert_true(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);
    ember_tool_result_destroy(r);

    r = fetch(t, "/redirect-loop", NULL, 10, NULL);
    tt_expect_status(r, EMBER_ERR_IO);
    tt_expect_contains(ember_tool_result_error(r), "too many redirects");
    ember_tool_result_destroy(r);

    double t0 = tt_now();
    r = fetch(t, "/slow", NULL, 0.3, NULL);
    tt_expect_status(r, EMBER_ERR_TIMEOUT);
    assert_true(tt_now() - t0 < 1.2);
    ember_tool_result_destroy(r);

    r = fetch(t, "/binary", NULL, 10, NULL);
    tt_expect_status(r, EMBER_ERR_UNSUPPORTED);
    tt_expect_contains(ember_tool_result_error(r), "application/octet-stream");
    ember_tool_result_destroy(r);

    r = fetch(t, "/missing", NULL, 10, &j);
    tt_expect_status(r, EMBER_ERR_IO);
    tt_expect_contains(ember_tool_result_error(r), "404");
    assert_string_equal(ember_tool_result_output(r), "not here");
    assert_int_equal(json_integer_value(json_object_get(j, "http_status")), 404);
    json_decref(j);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void redirects_to_refused_addresses(void **state) {
    (void)state;
    ember_tools *t = fetch_tools(true, 0);
    struct {
        const char *path, *address, *why;
    } cases[] = {
        {"/redirect-private", "10.0.0.1", "private"},
        {"/redirect-metadata", "169.254.169.254", "metadata"},
        {"/redirect-mapped", "10.0.0.1", "private"},
        {"/redirect-decimal", "169.254.169.254", "metadata"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = hits();
        ember_tool_result *r = fetch(t, cases[i].path, NULL, 10, NULL);
        tt_expect_status(r, EMBER_ERR_INVALID);
        tt_expect_contains(ember_tool_result_error(r), "refused");
        tt_expect_contains(ember_tool_result_error(r), cases[i].address);
        tt_expect_contains(ember_tool_result_error(r), cases[i].why);
        assert_int_equal(hits() - before, 1);  /* only the redirecting request reached us */
        ember_tool_result_destroy(r);
    }
    ember_tool_result *r = fetch(t, "/redirect-file", NULL, 10, NULL);
    tt_expect_status(r, EMBER_ERR_INVALID);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void loopback_refused_by_default(void **state) {
    (void)state;
    ember_tools *t = fetch_tools(false, 0);
    int before = hits();
    char url[128];
    const char *forms[] = {"127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "127.1"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(url, sizeof url, "http://%s:%u/page", forms[i], port_);
        ember_tool_result *r = fetch(t, url, NULL, 10, NULL);
        tt_expect_status(r, EMBER_ERR_INVALID);
        tt_expect_contains(ember_tool_result_error(r), "loopback");
        ember_tool_result_destroy(r);
    }
    assert_int_equal(hits(), before);  /* nothing connected */

    const char *bad[][2] = {
        {"file:///etc/passwd", "only http and https"},
        {"ftp://127.0.0.1/x", "only http and https"},
        {"not a url", "not a valid absolute URL"},
        {"http://0.0.0.0:1/", "unspecified"},
        {"http://[fe80::1]:1/", "link-local"},
        {"http://169.254.169.254/latest/meta-data/", "metadata"},
        {"http://[fd00:ec2::254]/", "metadata"},
        {"http://10.1.2.3/", "private"},
        {"http://100.64.0.1/", "shared"},
        {"http://224.0.0.1/", "multicast"},
        {"http://[fc00::1]/", "unique local"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ember_tool_result *r = fetch(t, bad[i][0], NULL, 10, NULL);
        tt_expect_status(r, EMBER_ERR_INVALID);
        tt_expect_contains(ember_tool_result_error(r), bad[i][1]);
        ember_tool_result_destroy(r);
    }
    ember_tool_result *r = tt_call(t, "web_fetch", "{}", 5, NULL);
    tt_expect_status(r, EMBER_ERR_INVALID);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void search(void **state) {
    (void)state;
    char search_url[96];
    snprintf(search_url, sizeof search_url, "%s/search", base_);
    ember_tools_options opt;
    ember_tools_options_init(&opt);
    opt.search_url = search_url;  /* the endpoint is trusted configuration: loopback is fine */
    ember_tools *t = tt_tools(&opt, "web_search");
    json_t *j;
    ember_tool_result *r = tt_call(t, "web_search", "{\"query\": \"ember tools & more\"}", 10, &j);
    tt_expect_status(r, EMBER_OK);
    assert_string_equal(ember_tool_result_output(r),
                        "1. Result one\n   https://one.example/\n   First snippet\n\n"
                        "2. Result two\n   https://two.example/\n   Second snippet\n\n"
                        "3. Result three\n   https://three.example/\n");
    json_t *results = json_object_get(j, "results");
    assert_int_equal(json_array_size(results), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(results, 1), "url")), "https://two.example/");
    assert_string_equal(json_string_value(json_object_get(json_array_get(results, 0), "snippet")), "First snippet");
    pthread_mutex_lock(&hits_lock);
    assert_string_equal(last_query_, "ember tools & more|json");
    pthread_mutex_unlock(&hits_lock);
    json_decref(j);
    ember_tool_result_destroy(r);

    r = tt_call(t, "web_search", "{\"query\": \"x\", \"max_results\": 1}", 10, &j);
    tt_expect_status(r, EMBER_OK);
    assert_int_equal(json_array_size(json_object_get(j, "results")), 1);
    json_decref(j);
    ember_tool_result_destroy(r);

    r = tt_call(t, "web_search", "{\"query\": \"\"}", 10, NULL);
    tt_expect_status(r, EMBER_ERR_INVALID);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);

    snprintf(search_url, sizeof search_url, "%s/bad-search?lang=en", base_);
    t = tt_tools(&opt, "web_search");
    r = tt_call(t, "web_search", "{\"query\": \"x\"}", 10, NULL);
    tt_expect_status(r, EMBER_ERR_IO);
    tt_expect_contains(ember_tool_result_error(r), "search JSON");
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(page_to_text),
        cmocka_unit_test(limits),
        cmocka_unit_test(redirects_to_refused_addresses),
        cmocka_unit_test(loopback_refused_by_default),
        cmocka_unit_test(search),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
