/* test_tools_html.c — HTML to readable text for web_fetch. */
#include "tools/html_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void check(const char *html, const char *want_text, const char *want_title) {
    html_text t;
    assert_int_equal(tool_html_to_text(html, strlen(html), &t), 0);
    if (strcmp(t.text, want_text) != 0) fail_msg("text: got \"%s\", want \"%s\"", t.text, want_text);
    assert_int_equal(t.len, strlen(t.text));
    if (want_title) {
        assert_non_null(t.title);
        assert_string_equal(t.title, want_title);
    } else {
        assert_null(t.title);
    }
    tool_html_text_free(&t);
}

static void strips_scripts_styles_and_tags(void **state) {
    (void)state;
    check("<html><head><title> A &amp; B </title><style>p{color:red}</style>"
          "<script>var s = '<p>not text</p>';</script></head>"
          "<body><p>Hello <b>world</b>!</p><SCRIPT type=x>alert(1)</SCRIPT ><p>Bye</p></body></html>",
          "Hello world!\n\nBye", "A & B");
    check("<noscript>enable js</noscript><template><p>t</p></template>x<svg><text>s</text></svg>y",
          "xy", NULL);
    check("a<!-- <p>hidden</p> -->b<!---->c", "abc", NULL);
    check("<!DOCTYPE html><p>x</p><![CDATA[raw <b>]]>", "x\n\nraw <b>", NULL);
    check("<a href=\"x>y\" title='a>b'>link</a>", "link", NULL);
}

static void decodes_entities(void **state) {
    (void)state;
    check("5 &lt; 6 &gt; 4 &amp;&amp; &quot;q&quot; &#39;s&#39;", "5 < 6 > 4 && \"q\" 's'", NULL);
    check("caf&eacute; &#233; &#xE9; &mdash; &hellip; &euro;", "café é é — … €", NULL);
    check("a&nbsp;&nbsp;b", "a b", NULL);
    check("&unknown; &amp &#; &#x; &#0; &#1114112;", "&unknown; & &#; &#x; \xEF\xBF\xBD \xEF\xBF\xBD", NULL);
}

static void collapses_whitespace_and_blocks(void **state) {
    (void)state;
    check("  lots   of\n\n\t space  ", "lots of space", NULL);
    check("<div>one</div><div>two</div>", "one\ntwo", NULL);
    check("<h1>Title</h1><p>para</p>\n\n\n<p>next</p>", "Title\n\npara\n\nnext", NULL);
    check("<ul><li>one</li><li>two</li></ul>after", "- one\n- two\nafter", NULL);
    check("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>",
          "a b\nc d", NULL);
    check("line<br>break<br/>again", "line\nbreak\nagain", NULL);
}

static void tolerates_bad_markup(void **state) {
    (void)state;
    check("a < b and c > d", "a < b and c > d", NULL);
    check("x </3 y", "x </3 y", NULL);
    check("<p>unclosed <b>bold", "unclosed bold", NULL);
    check("text<script>never closed", "text", NULL);
    check("<title>never closed", "", "never closed");
    check("<a href=\"never closed", "", NULL);
    check("", "", NULL);
    check("<", "<", NULL);
    check("&", "&", NULL);
    /* A page without <body> whose head is never closed still shows its text. */
    check("<head><title>t</title><p>body text</p>", "body text", "t");
}

static void output_is_valid_utf8(void **state) {
    (void)state;
    const char bad[] = "ok \xff\xfe bad \xc3 end \xe2\x82 x";
    html_text t;
    assert_int_equal(tool_html_to_text(bad, sizeof bad - 1, &t), 0);
    assert_string_equal(t.text, "ok \xEF\xBF\xBD\xEF\xBF\xBD bad \xEF\xBF\xBD end \xEF\xBF\xBD\xEF\xBF\xBD x");
    tool_html_text_free(&t);
    /* An embedded NUL is replaced, not a terminator. */
    const char nul[] = "a\0b";
    assert_int_equal(tool_html_to_text(nul, 3, &t), 0);
    assert_string_equal(t.text, "a\xEF\xBF\xBD" "b");
    tool_html_text_free(&t);
}

static void large_input_is_linear(void **state) {
    (void)state;
    /* 4 MB of unterminated tags and quotes must not take quadratic time. */
    size_t n = 4u << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++) big[i] = "<a \"'x"[i % 6];
    big[n] = '\0';
    html_text t;
    assert_int_equal(tool_html_to_text(big, n, &t), 0);
    tool_html_text_free(&t);
    for (size_t i = 0; i < n; i++) big[i] = "<p>x&amp;"[i % 9];
    assert_int_equal(tool_html_to_text(big, n, &t), 0);
    assert_true(t.len > 0);
    tool_html_text_free(&t);
    free(big);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strips_scripts_styles_and_tags),
        cmocka_unit_test(decodes_entities),
        cmocka_unit_test(collapses_whitespace_and_blocks),
        cmocka_unit_test(tolerates_bad_markup),
        cmocka_unit_test(output_is_valid_utf8),
        cmocka_unit_test(large_input_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
