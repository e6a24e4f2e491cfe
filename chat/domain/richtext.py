"""Message text to sanitized HTML: the small Markdown of chat (Slack, Zulip). Pure.

Supported: **bold**, *italic* and _italic_, ~~strike~~, `code`, fenced code blocks,
> quotes, bullet and numbered lists, [text](url) links and bare http(s)://, www. and
mailto: links. A single newline is a line break. Headings, rules, tables, images,
indented code, reference links, <autolinks>, entities and raw HTML are not syntax:
they show as typed.

markdown-it-py parses with raw HTML off, then nh3 keeps only the tags and attributes
that this subset produces, so a parser bug cannot smuggle anything else through.
"""

import re
from collections.abc import Sequence

import nh3
from linkify_it import LinkifyIt
from linkify_it.main import Match
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline import link as markdown_it_link
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

# Quotes and lists nested deeper than this are not parsed (a quote level costs
# one, a list level two): far past what a chat message uses, and a bound on the
# parser's recursion and work. Links cannot nest; LINK_SCAN_DEPTH bounds them.
MAX_NESTING = 12

# The blocks whose content markdown-it parses as blocks again, one level down.
NESTED_BLOCKS = frozenset({"blockquote_open", "list_item_open"})
# Levels of "[" inside a link's text that are tried as links themselves.
LINK_SCAN_DEPTH = 3

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "strong",
        "em",
        "del",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
    }
)
# rel and target are set by the cleaner on every link, whatever the input said.
ALLOWED_ATTRIBUTES = {"a": {"href"}, "code": {"class"}, "ol": {"start"}}
LINK_REL = "nofollow noopener noreferrer"
LINK_TARGET = "_blank"
URL_SCHEMES = frozenset({"http", "https", "mailto"})

# Checked on the URL markdown-it has normalized (entities and escapes decoded,
# percent-encoded): an allow-list, so "javascript:", "data:", "vbscript:", relative
# and protocol-relative URLs all stay text.
ALLOWED_URL_RE = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)
# A fence's language becomes a CSS class only when it is a plain name: the class
# is for a highlighter, and the rest of the info string is dropped.
LANGUAGE_RE = re.compile(r"[a-z0-9+#-]{1,20}")
CODE_CLASS_RE = re.compile(r"language-[a-z0-9+#-]{1,20}")
# "http" or "https" ending the text before a "://", and not the end of a longer
# word ("xhttp://" is no link): the scheme of a URL.
SCHEME_BEFORE_RE = re.compile(r"(?:^|[^a-z0-9.+-])(https?)$", re.IGNORECASE)

# The fast path. Text with none of these is one paragraph of literal text:
# - `\n` `\r` (line breaks, paragraphs, and every block after the first line),
#   `\0` (markdown-it turns it into U+FFFD) and lone surrogates (render_rich
#   does, as they cannot be written as UTF-8);
# - the inline syntax: `\` escapes, backticks, `~~`, `*` and `_` emphasis,
#   `[` links (and `![` images, shown as links);
# - a link's start: "://" (http, https), "mailto:" and "www.", case-insensitive
#   as linkify-it matches them.
# '&' is not one: entities are not parsed, so "&amp;" shows as typed. Nor '<'
# or '>' past the first character: raw HTML and <autolinks> are off.
RICH_CHARS_RE = re.compile(
    r"[\n\r\0\\`~*_\[\ud800-\udfff]|://|mailto:|www\.", re.IGNORECASE
)
# Not text: the protocol refuses them, but a message from elsewhere still renders.
LONE_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# The blocks that a single line can open: a quote, a list item (`-`, `+`, `*`,
# `1.`, `1)`) or a fence (its backticks or tildes are caught above anyway).
RICH_START_RE = re.compile(r"[>+*~`-]|[0-9]+[.)]")
# What nh3 (html5ever) escapes in text: '&', '<', '>' and the no-break space.
# Quotes are left as they are outside attributes.
PLAIN_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\xa0": "&nbsp;"}
)


def render(body: str) -> str:
    """`body`, a message as message_body_clean returns it, as sanitized HTML."""
    if is_plain(body):
        return render_plain(body)
    return render_rich(body)


def is_plain(text: str) -> bool:
    """Whether `text` is one paragraph of literal text: render_plain(text) is then
    exactly render_rich(text), much faster (most messages are such text)."""
    return (
        bool(text)
        and text == text.strip()
        and not RICH_START_RE.match(text)
        and not RICH_CHARS_RE.search(text)
    )


def render_plain(text: str) -> str:
    """`text` as one paragraph of literal text. Precondition: is_plain(text)."""
    return "<p>" + text.translate(PLAIN_ESCAPES) + "</p>"


def render_rich(body: str) -> str:
    """`body` through the whole pipeline: Markdown, then the allow-list."""
    body = LONE_SURROGATE_RE.sub("\ufffd", body)
    tokens = _MARKDOWN.parse(body)
    if _too_deep(tokens):
        return _render_flat(body)
    html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    # Deterministic: same text, same HTML. Compact: no trailing newline.
    return _CLEANER.clean(html).rstrip("\n")


def _too_deep(tokens: Sequence[Token]) -> bool:
    """Whether a quote or list item reached MAX_NESTING, past which markdown-it
    drops the rest of the message without a word ("> " x 30 + "hi" loses "hi")."""
    return any(t.type in NESTED_BLOCKS and t.level + 1 >= MAX_NESTING for t in tokens)


def _render_flat(body: str) -> str:
    """`body` as literal text with its line breaks: what a message nested deeper
    than any chat needs gets instead of losing its end. Cheap, as a fallback for
    a hostile shape should be."""
    # markdown-it's normalization, then the cleaner's escaping.
    text = body.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    lines = text.translate(PLAIN_ESCAPES).replace("\n", "<br>\n")
    return _CLEANER.clean("<p>" + lines + "</p>")


# --- markdown-it ---------------------------------------------------------------


def _markdown() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark",
        {
            "html": False,
            "breaks": True,
            "linkify": True,
            "typographer": False,
            "xhtmlOut": False,
            "maxNesting": MAX_NESTING,
        },
    )
    md.enable(["strikethrough", "linkify"])
    # Not chat syntax: "# hi" or "---" under a line mean what they say, four
    # leading spaces are indentation, and "[1]: note" is a note. Images would
    # make every reader's browser fetch a URL the sender chose (a tracking pixel):
    # "![alt](url)" shows as "!" and a link to the image instead. "<url>" is off
    # (the URL inside is linked anyway, and the brackets shown as typed), and so
    # are entities, so that "&amp;" shows as typed.
    md.disable(
        [
            *("heading", "lheading", "hr", "code", "reference", "image"),
            *("autolink", "entity", "html_block", "html_inline"),
        ]
    )
    md.linkify = _Linkifier()
    md.inline.ruler.at("linkify", _linkify_inline)
    md.validateLink = _link_allowed  # type: ignore[method-assign]
    md.inline.ruler.at("link", _link)
    md.renderer.rules["fence"] = _render_fence
    # ~~text~~ is deleted text (<del>, as docs/PROTOCOL.md says), not markdown-it's
    # merely "no longer accurate" <s>.
    md.renderer.rules["s_open"] = lambda *_: "<del>"
    md.renderer.rules["s_close"] = lambda *_: "</del>"
    return md


def _link_allowed(url: str) -> bool:
    return ALLOWED_URL_RE.match(url.strip()) is not None


def _link(state: StateInline, silent: bool) -> bool:
    """markdown-it's link rule, where a "[" nested LINK_SCAN_DEPTH deep in a
    link's text ends the search for the "]" of the text around it.

    Finding where a link's text ends means trying each "[" inside it as a link
    (a link cannot hold one), and each inside those, down to MAX_NESTING levels,
    where markdown-it gives up on the text around them: "[_" x 2000 took 38 ms
    of CPU, "[" x 4000 27 ms. Giving up as it does, but three levels down, takes
    23 and 15 ms; text with brackets that deep in a link is no chat message.
    """
    if silent and state.level >= LINK_SCAN_DEPTH:
        state.pos = state.posMax
        return True
    return markdown_it_link(state, silent)


def _render_fence(
    tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    words = token.info.split(maxsplit=1)
    language = words[0].lower() if words else ""
    attrs = f' class="language-{language}"' if LANGUAGE_RE.fullmatch(language) else ""
    return f"<pre><code{attrs}>{escapeHtml(token.content)}</code></pre>\n"


class _Linkifier(LinkifyIt):
    """linkify-it with URLs that start with a scheme or "www." only, found in
    time linear in the text.

    Its fuzzy links would also take "example.com", "file.py" or "v1.2.3" and its
    fuzzy emails every address; chat means a link when it writes one.
    """

    def __init__(self) -> None:
        super().__init__(
            schemas={
                "ftp:": None,
                "//": None,
                "www.": {"validate": self._validate_www, "normalize": self._https},
            },
            options={"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False},
        )
        self._schema_re = re.compile(self.re["schema_search"], re.IGNORECASE)
        self._www_re = re.compile(
            self.re["src_host_port_strict"] + self.re["src_path"], re.IGNORECASE
        )

    def test(self, text: str) -> bool:
        return self.match(text) is not None

    def match(self, text: str) -> list[Match] | None:
        """The links in `text`, left to right, or None.

        Upstream validates every schema it finds, even those inside a link
        already found, and each validation reads on to the link's end:
        "www." x 1000 took 260 ms of CPU. Here the search goes on after each
        link: 2.4 ms.
        """
        links = []
        pos = 0
        while found := self._schema_re.search(text, pos):
            schema, tail = found.group(2), found.end()
            length = self.test_schema_at(text, schema, tail)
            if not length:
                pos = tail
                continue
            links.append(
                self._create_match(text, schema, found.start(2), tail + length)
            )
            # The link's last character may be what stands before the next one.
            pos = tail + length - 1
        return links or None

    def _validate_www(self, text: str, pos: int) -> int:
        """The length of the host (after "www.") and path at `pos`, or 0."""
        found = self._www_re.match(text, pos)
        return len(found.group()) if found else 0

    def _https(self, match: Match) -> None:
        # Most sites serve https, and the few that don't redirect from it
        # less often than the reverse; the text still shows "www.".
        match.url = "https://" + match.url


def _linkify_inline(state: StateInline, silent: bool) -> bool:
    """markdown-it's inline linkify rule, in linear time: an http(s) URL becomes a
    link before emphasis can split it ("https://x.org/__init__.py").

    Upstream searches the whole pending text for the scheme at every "://" and
    hands linkify-it a copy of the rest of the message: "[http://" x 500 took
    65 ms of CPU. Here the scheme is read from the end of the pending text only,
    and the URL validated in place: 5 ms.
    """
    pos = state.pos
    if state.linkLevel > 0 or not state.src.startswith("://", pos, state.posMax):
        return False
    # "https" and the character before it are the pending text's last six.
    scheme = SCHEME_BEFORE_RE.search(state.pending[-6:])
    if scheme is None:
        return False
    proto = scheme.group(1)
    linkify = state.md.linkify
    assert linkify is not None
    length = linkify.test_schema_at(state.src, proto + ":", pos + 1)
    if not length:
        return False
    # A '*' ending a URL closes emphasis: "*see http://x.org*".
    url = state.src[pos - len(proto) : pos + 1 + length].rstrip("*")
    full_url = state.md.normalizeLink(url)
    if not state.md.validateLink(full_url):
        return False
    if not silent:
        state.pending = state.pending[: -len(proto)]
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": full_url}
        token.markup, token.info = "linkify", "auto"
        token = state.push("text", "", 0)
        token.content = state.md.normalizeLinkText(url)
        token = state.push("link_close", "a", -1)
        token.markup, token.info = "linkify", "auto"
    state.pos += len(url) - len(proto)
    return True


_MARKDOWN = _markdown()

# Everything not listed goes, whatever markdown-it emitted; classes only as
# "language-<name>".
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    # "*": none on every tag (ammonia's default would keep "lang" and "title").
    attributes={"*": set()}
    | {tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=lambda tag, name, value: (
        value
        if tag != "code" or name != "class" or CODE_CLASS_RE.fullmatch(value)
        else None
    ),
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": LINK_TARGET}},
    url_schemes=set(URL_SCHEMES),
    url_relative="deny",
    strip_comments=True,
)
