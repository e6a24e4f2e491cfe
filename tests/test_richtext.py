"""Rich text (chat/domain/richtext.py): the Markdown of chat, and nothing else.

Exact HTML for each feature; what is not a feature stays as typed; no input,
however built, gets a tag, an attribute or a URL scheme past the allow-list; and
the fast path for plain text is the full pipeline's output, not an approximation.
Speed is measured by `python -m bench richtext`, not asserted here.
"""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.domain.richtext import (
    LINK_REL,
    LINK_TARGET,
    MAX_NESTING,
    is_plain,
    render,
    render_plain,
    render_rich,
)

MAX_LENGTH = settings.CHAT_MAX_MESSAGE_LENGTH
LINK = f'target="{LINK_TARGET}" rel="{LINK_REL}"'
CODE_CLASS = re.compile(r"language-[a-z0-9+#-]{1,20}")

# --- What the output may hold ----------------------------------------------------

ALLOWED = {
    "p": set(),
    "br": set(),
    "strong": set(),
    "em": set(),
    "del": set(),
    "code": {"class"},
    "pre": set(),
    "blockquote": set(),
    "ul": set(),
    "ol": {"start"},
    "li": set(),
    "a": {"href", "rel", "target"},
}


class AllowListChecker(HTMLParser):
    """Fails on any tag, attribute, URL or markup the renderer must not emit."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED, tag
        names = [name for name, _ in attrs]
        assert len(names) == len(set(names)), attrs
        values = dict(attrs)
        assert set(values) <= ALLOWED[tag], (tag, attrs)
        if tag == "a":
            assert values.get("rel") == LINK_REL, attrs
            assert values.get("target") == LINK_TARGET, attrs
            if "href" in values:
                href = values["href"] or ""
                assert urlsplit(href).scheme.lower() in {"http", "https", "mailto"}
                assert href.lower().startswith(("http://", "https://", "mailto:"))
        if tag == "code" and "class" in values:
            assert CODE_CLASS.fullmatch(values["class"] or ""), attrs
        if tag == "ol" and "start" in values:
            assert (values["start"] or "").isdigit(), attrs

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag == "br", tag
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        assert tag in ALLOWED, tag

    def handle_comment(self, data: str) -> None:
        raise AssertionError(f"comment: {data!r}")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError(f"declaration: {decl!r}")

    def handle_pi(self, data: str) -> None:
        raise AssertionError(f"processing instruction: {data!r}")

    def unknown_decl(self, data: str) -> None:
        raise AssertionError(f"declaration: {data!r}")


def assert_safe(html: str) -> None:
    checker = AllowListChecker()
    checker.feed(html)
    checker.close()
    # Whatever the parser made of it, no markup is left half-open.
    assert not checker.rawdata, checker.rawdata


def escaped(text: str) -> str:
    """`text` as the sanitizer writes it in an element: &, <, > and no-break
    spaces as references, quotes as they are."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\xa0", "&nbsp;")
    )


# --- Each feature ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "html"),
    [
        ("**bold**", "<p><strong>bold</strong></p>"),
        ("__bold__", "<p><strong>bold</strong></p>"),
        ("*italic* and _italic_", "<p><em>italic</em> and <em>italic</em></p>"),
        ("~~gone~~", "<p><del>gone</del></p>"),
        ("`a < b`", "<p><code>a &lt; b</code></p>"),
        ("``a ` b``", "<p><code>a ` b</code></p>"),
        ("***both***", "<p><em><strong>both</strong></em></p>"),
        ("one\ntwo", "<p>one<br>\ntwo</p>"),
        ("one\n\ntwo", "<p>one</p>\n<p>two</p>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        (
            "> outer\n> > inner",
            "<blockquote>\n<p>outer</p>\n<blockquote>\n<p>inner</p>\n"
            "</blockquote>\n</blockquote>",
        ),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("* a\n+ b", "<ul>\n<li>a</li>\n</ul>\n<ul>\n<li>b</li>\n</ul>"),
        ("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>"),
        ("3) a", '<ol start="3">\n<li>a</li>\n</ol>'),
        (
            "- a\n  - b",
            "<ul>\n<li>a\n<ul>\n<li>b</li>\n</ul>\n</li>\n</ul>",
        ),
        (
            "```python\nif a < b:\n    print('&amp;')\n```",
            '<pre><code class="language-python">if a &lt; b:\n'
            "    print('&amp;amp;')\n</code></pre>",
        ),
        ("```\nplain\n```", "<pre><code>plain\n</code></pre>"),
        ("~~~C#\nx;\n~~~", '<pre><code class="language-c#">x;\n</code></pre>'),
        (
            "```c++ extra words\nx\n```",
            '<pre><code class="language-c++">x\n</code></pre>',
        ),
    ],
)
def test_each_feature_renders_as_html(body, html):
    assert render(body) == html


@pytest.mark.parametrize(
    ("body", "html"),
    [
        (
            "see https://example.com/a?b=1&c=2.",
            f'<p>see <a href="https://example.com/a?b=1&amp;c=2" {LINK}>'
            "https://example.com/a?b=1&amp;c=2</a>.</p>",
        ),
        (
            "http://example.com",
            f'<p><a href="http://example.com" {LINK}>http://example.com</a></p>',
        ),
        (
            "at www.example.com/x today",
            f'<p>at <a href="https://www.example.com/x" {LINK}>www.example.com/x</a>'
            " today</p>",
        ),
        (
            "[the docs](https://example.com/docs)",
            f'<p><a href="https://example.com/docs" {LINK}>the docs</a></p>',
        ),
        (
            "[write](mailto:a@example.com)",
            f'<p><a href="mailto:a@example.com" {LINK}>write</a></p>',
        ),
        (
            "[**bold** link](https://example.com)",
            f'<p><a href="https://example.com" {LINK}>'
            "<strong>bold</strong> link</a></p>",
        ),
        # Emphasis does not cut a URL in two.
        (
            "https://example.com/__init__.py",
            f'<p><a href="https://example.com/__init__.py" {LINK}>'
            "https://example.com/__init__.py</a></p>",
        ),
        (
            "*see https://example.com*",
            f'<p><em>see <a href="https://example.com" {LINK}>https://example.com</a>'
            "</em></p>",
        ),
        # A title is dropped: hover text could claim another destination.
        (
            '[x](https://example.com "https://bank.example")',
            f'<p><a href="https://example.com" {LINK}>x</a></p>',
        ),
        # An image is a link to it: showing it would have every reader's browser
        # fetch a URL the sender chose.
        (
            "![cat](https://example.com/cat.png)",
            f'<p>!<a href="https://example.com/cat.png" {LINK}>cat</a></p>',
        ),
    ],
)
def test_links(body, html):
    assert render(body) == html


@pytest.mark.parametrize(
    "body",
    [
        "# not a heading",
        "## nor this",
        "title\n===",
        "title\n---",
        "---",
        "***",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "[1]: a note",
        "[a][1] and [a]",
        "<b>bold</b>",
        "<a@example.com>",
        "&amp; &copy; &#60; &#x3C;",
        "example.com and a@example.com",
        "ftp://example.com",
        "~single tilde~",
        "snake_case_name and 2 * 3 * 4",
        "\\",
    ],
)
def test_what_is_not_a_feature_shows_as_typed(body):
    lines = escaped(body).replace("\n", "<br>\n")
    assert render(body) == f"<p>{lines}</p>"


def test_indented_text_is_not_a_code_block():
    assert render("a\n\n    indented") == "<p>a</p>\n<p>indented</p>"


def test_a_url_in_angle_brackets_is_linked_with_the_brackets_shown():
    assert render("<https://example.com>") == (
        f'<p>&lt;<a href="https://example.com" {LINK}>https://example.com</a>&gt;</p>'
    )


def test_what_the_user_typed_is_what_they_see():
    assert render("&amp;") == "<p>&amp;amp;</p>"
    assert render("a < b && c > d") == "<p>a &lt; b &amp;&amp; c &gt; d</p>"
    assert render('"quoted" it\'s') == '<p>"quoted" it\'s</p>'
    assert render("\\*not emphasis\\*") == "<p>*not emphasis*</p>"


def test_a_lone_surrogate_renders_as_a_replacement_character():
    assert render("a\ud800 b") == "<p>a\ufffd b</p>"
    assert render("*a*\udfff") == "<p><em>a</em>\ufffd</p>"


def test_output_has_no_trailing_newline_and_is_deterministic():
    for body in ["a", "**a**", "- a", "> a", "```\na\n```", "a\n\nb"]:
        html = render(body)
        assert not html.endswith("\n")
        assert render(body) == html


# --- Unsafe input ----------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=//evil.example></iframe>",
    "<!-- comment --><![CDATA[x]]><?php x ?>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java\\script:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x]( javascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "[x](//evil.example)",
    "[x](/relative)",
    "[x](#fragment)",
    "javascript:alert(1)",
    "javascript://example.com/%0Aalert(1)",
    "<javascript:alert(1)>",
    "data:text/html,<script>alert(1)</script>",
    '[x](https://example.com" onmouseover="alert(1))',
    "[x](https://example.com'onmouseover='alert(1))",
    'https://example.com/"onmouseover="alert(1)',
    "https://example.com/<script>alert(1)</script>",
    "[<img src=x onerror=alert(1)>](https://example.com)",
    "[x](https://example.com)<script>",
    "![x](javascript:alert(1))",
    '![x" onerror="alert(1)](https://example.com/x.png)',
    '```"><script>alert(1)</script>\nx\n```',
    "```js onclick=alert(1)\nx\n```",
    "`<script>alert(1)</script>`",
    "> <script>alert(1)</script>\n- <img src=x>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\0<script>",
    "**<b>**</b>",
    "[a](https://x.example)[b](javascript:x)[c](https://y.example)",
]


@pytest.mark.parametrize("body", XSS)
def test_unsafe_input_gives_no_unsafe_output(body):
    html = render(body)
    assert_safe(html)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered
    assert "<svg" not in lowered and "<iframe" not in lowered


def test_a_javascript_link_is_text():
    assert render("[x](javascript:alert(1))") == "<p>[x](javascript:alert(1))</p>"
    assert render("javascript:alert(1)") == "<p>javascript:alert(1)</p>"


def test_raw_html_is_escaped():
    assert render("<script>alert(1)</script>") == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )
    assert render("<img src=x onerror=alert(1)>") == (
        "<p>&lt;img src=x onerror=alert(1)&gt;</p>"
    )


def test_an_unsafe_fence_language_gets_no_class():
    assert render('```"><b>\nx\n```') == "<pre><code>x\n</code></pre>"
    assert render("```" + "a" * 21 + "\nx\n```") == "<pre><code>x\n</code></pre>"
    assert render("```A\nx\n```") == '<pre><code class="language-a">x\n</code></pre>'


MARKDOWN_PIECES = [
    *"*_~`>[]()!#-+.:/<>&\\\"'=|@\n\t ",
    "1.",
    "2)",
    "```",
    "~~",
    "**",
    "- ",
    "> ",
    "    ",
    "\n\n",
    "http://",
    "https://",
    "www.",
    "mailto:",
    "javascript:",
    "data:",
    "JaVaScRiPt:",
    "&#106;",
    "&#x3A;",
    "&amp;",
    "&lt;",
    "<script>",
    "<img src=x onerror=alert(1)>",
    "<a href=",
    '" onmouseover="',
    "example.com",
    "a@b.co",
    "alert(1)",
    "\xa0",
    "\u3000",
    "\r",
    "\0",
]
markdown_text = st.lists(
    st.sampled_from(MARKDOWN_PIECES) | st.text(max_size=4), max_size=60
).map("".join)
# Any text, NUL and lone surrogates included (the protocol refuses both; a
# message from elsewhere still renders).
any_text = st.text(st.characters(codec=None, categories=None), max_size=MAX_LENGTH)
# Hypothesis' function-scoped-fixture check objects to conftest's autouse
# fixtures, which these tests neither use nor need reset between examples.
properties = hypothesis_settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@properties
@given(st.one_of(markdown_text, any_text, markdown_text.map(str.strip)))
@example("[x](javascript:alert(1))")
@example("<<script>script>alert(1)<</script>/script>")
@example("[a](https://x.example \"t\" onclick='y')")
def test_no_input_gets_past_the_allow_list(body):
    assert_safe(render(body))


# --- The fast path ---------------------------------------------------------------

plain_alphabet = st.characters(
    codec="utf-8", exclude_characters="\n\r\0\\`~*_[", categories=None
)
plainish_text = st.one_of(
    st.text(plain_alphabet, max_size=200).map(str.strip),
    st.lists(
        st.sampled_from(
            [
                *"abc ><&!#-+.:/()]=|@'\"%$^{}",
                *("1", "12", "1.5", "10:30", "\xa0"),
                *("ww.", "www", "http", "https:/", "mailto", ":/", "http:/"),
            ]
        ),
        max_size=40,
    )
    .map("".join)
    .map(str.strip),
)


@properties
@given(st.one_of(plainish_text, markdown_text, any_text))
@example("a > b")
@example("1 2. three")
@example("12.5% off")
@example("&amp;")
@example("x\xa0y")
@example("<3")
def test_the_fast_path_is_the_full_pipeline(body):
    # render() takes the fast path whenever it applies: their outputs agree.
    assert render(body) == render_rich(body)
    if is_plain(body):
        assert render_plain(body) == render_rich(body)


@pytest.mark.parametrize(
    "body",
    [
        "hello, how are you?",
        "ok :)",
        "see you at 10:30, at the café",
        "a < b & c > d",
        "50% off!!! #deal",
        "1 2 3",
        'it\'s "fine" - really',
        "مرحبا كيف حالك",
        "こんにちは",
    ],
)
def test_ordinary_messages_take_the_fast_path(body):
    assert is_plain(body)
    assert render(body) == render_rich(body)


@pytest.mark.parametrize(
    "body",
    [
        *("**a**", "a_b", "- a", "+ a", "> a", "1. a", "3) a", "a\nb", "x http://a.co"),
        *("www.a.co", "mailto:a@b.co", "[a](b)", "`a`", "~~a~~", "a\\b", " a", "a "),
    ],
)
def test_anything_else_takes_the_full_path(body):
    assert not is_plain(body)


# --- Code stays as written -------------------------------------------------------

code_text = st.text(
    st.characters(codec="utf-8", exclude_characters="`~\r\0", categories=None),
    max_size=300,
)


@properties
@given(code_text)
def test_a_code_block_keeps_its_content_verbatim(code):
    assert render(f"```\n{code}\n```") == f"<pre><code>{escaped(code)}\n</code></pre>"


@properties
@given(st.text(st.characters(codec="utf-8", exclude_characters="`\n\r\0"), min_size=1))
def test_inline_code_keeps_its_content_verbatim(code):
    html = render(f"`{code}`")
    # Markdown trims one space each side of a code span, only when both are there.
    inner = code[1:-1] if len(code) > 2 and code[0] == code[-1] == " " else code
    if inner.strip(" "):
        assert html == f"<p><code>{escaped(inner)}</code></p>"


# --- Nesting ---------------------------------------------------------------------


def test_nesting_past_the_limit_keeps_the_whole_message_as_text():
    deep = "> " * (MAX_NESTING + 5) + "the end\nand more"
    html = render(deep)
    assert_safe(html)
    assert "the end" in html and "and more" in html
    assert "<blockquote>" not in html
    assert render("- " * (MAX_NESTING + 5) + "x").endswith("x</p>")


def test_nesting_a_chat_uses_is_rendered():
    html = render("> quote\n> - a\n>   - b\n>     - c\n>       - d")
    assert html.count("<ul>") == 4 and html.count("<blockquote>") == 1
    deepest = MAX_NESTING - 1
    assert render("> " * deepest + "x").count("<blockquote>") == deepest


@pytest.mark.parametrize(
    "body",
    [
        *(">" * MAX_LENGTH, "- " * (MAX_LENGTH // 2), "[" * MAX_LENGTH, "*_" * 2000),
        *("`" * MAX_LENGTH, "www." * 1000, "http://" * 500, "\\" * MAX_LENGTH),
    ],
)
def test_hostile_shapes_render_safely(body):
    assert_safe(render(body[:MAX_LENGTH]))
