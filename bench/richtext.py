"""`python -m bench richtext [--repeat N]`: how long chat.domain.richtext.render
takes, on ordinary messages and on hostile ones. Not part of CI.

Every input is at most MAX_LENGTH characters, the longest message the server
accepts. Each is rendered --repeat times; the median and the worst wall-clock
time are printed, the median CPU time (which other processes on the machine do
not inflate), and the path it took (plain: the fast path; rich: Markdown and
nh3; flat: the fallback for nesting past MAX_NESTING). Then the throughput of a
typical plain message and of a typical Markdown one, renders per second.

The hostile shapes are markdown-it's known slow cases (markdown-it #583, #732 to
#737: `*_*_`, `[](`, `[]((`, `\\``, ``` ``\\ ```, `**_* `, `<<<`), cmark's and md4c's
(`[a](b`, `]([` lines, `<![CDATA[`), linkify-it's (`mailto:` runs, a URL ending in
thousands of `*`), the nesting that would crash a recursive parser, and the
slowest units that a search over every one-, two- and three-piece unit repeated
to 4000 characters turned up (pieces: markdown punctuation, "www.", "http://",
newlines). That search found
"www." x 1000 at 260 ms of CPU, "[http://" x 500 at 65 ms and "[_" x 2000 at
38 ms; chat/domain/richtext.py says how each was fixed.
"""

import argparse
import os
import statistics
import time

from chat.domain import richtext

MAX_LENGTH = 4000  # settings.CHAT_MAX_MESSAGE_LENGTH's default
BUDGET_MS = 50.0  # the worst case we aim to stay well under

PLAIN = "sounds good, see you at the station at half past six then!"
MARKDOWN = (
    "**Deploy** done: see https://example.com/runs/42 and `make check`\n"
    "> it was _slow_ yesterday\n"
    "- [notes](https://example.com/notes)\n- ~~rollback~~ not needed"
)


def fill(unit: str, suffix: str = "") -> str:
    """`unit` repeated up to MAX_LENGTH characters, then `suffix`."""
    count = (MAX_LENGTH - len(suffix)) // len(unit)
    return (unit * count + suffix).strip()  # as message_body_clean leaves it


def indented_list(marker: str) -> str:
    lines, depth = [], 0
    while sum(map(len, lines)) + len(lines) < MAX_LENGTH - 200:
        lines.append(" " * (depth * (len(marker) + 1)) + marker + " item")
        depth += 1
    return "\n".join(lines)


CASES: list[tuple[str, str]] = [
    ("plain 60 chars", PLAIN),
    ("markdown, typical", MARKDOWN),
    ("plain 4000 chars", fill("lorem ipsum dolor sit amet, ")),
    ("4000 lines of text", fill("a\n", "a")),
    ("code block 4000", "```python\n" + fill("x = 1 < 2\n", "```")[11:]),
    ("paragraphs", fill("word word word\n\n", "end")),
    # Nesting.
    (">" * 8 + " deep quote x4000", fill(">")),
    ("'> ' x2000", fill("> ")),
    ("'> - ' x1000", fill("> - ")),
    ("'- ' x2000", fill("- ")),
    ("'1. ' x1333", fill("1. ")),
    ("'* ' x2000", fill("* ")),
    ("indented list, all levels", indented_list("-")),
    ("quote 11 deep, 166 lines", fill("> " * 11 + "x\n")),
    ("quote 19 deep, 100 lines", fill("> " * 19 + "x\n")),
    ("'-\\n' x2000 (empty items)", fill("-\n", "x")),
    ("5-deep list items, 333 lines", fill("- " * 5 + "x\n")),
    ("tab-nested list items", fill("-\t" * 5 + "x\n")),
    ("lazy quote and list lines", fill("> a\nb\n- c\nd\n")),
    ("'a' and 2 blank lines x1333", fill("a\n\n\n")),
    # Emphasis.
    ("'*' x4000", fill("*")),
    ("'_' x4000", fill("_")),
    ("'~' x4000", fill("~")),
    ("'*_' x2000", fill("*_")),
    ("'**_* ' x800", fill("**_* ")),
    ("'*a ' x1333", fill("*a ")),
    ("'a_' x2000 (a_b_c)", fill("a_", "a")),
    ("'a*' x2000", fill("a*", "a")),
    ("'*a **a ' nested", fill("*a **a ")),
    ("'~~a ' x1000", fill("~~a ")),
    ("'_*' x2000", fill("_*")),
    ("'**' x1000 then '*' x2000", fill("*", "")[:2000] + fill("**")[:2000]),
    # Links.
    ("'[' x4000", fill("[")),
    ("'[_' x2000", fill("[_")),
    ("'[*' x2000", fill("[*")),
    ("'[' x2000 then ']' x2000", "[" * 2000 + "]" * 2000),
    ("'[](' x1333", fill("[](")),
    ("'[]((' x1000", fill("[](( ")),
    ("'[a](b' x800", fill("[a](b")),
    ("'](['+newline x1000", fill("]([\n", "x")),
    ("'[]( \"' x800", fill('[]( "')),
    ("'[ (](' x800", fill("[ (](")),
    ("'![' x2000", fill("![")),
    ("'[x](' then '(' x3990", "[x](" + fill("(")[4:]),
    ("'[a](http://x ' x300", fill("[a](http://x.co ")),
    # Code spans.
    ("'`' x2000", "`" * 2000),
    ("'`' x4000", fill("`")),
    ("'\\``' x1333", fill("\\``")),
    ("'``\\' x1333", fill("``\\")),
    ("'`a' x2000", fill("`a")),
    ("'`' runs of 1..88", "".join("`" * n + "a" for n in range(1, 89))[:MAX_LENGTH]),
    # HTML-looking text and escapes.
    ("'<' x4000", fill("<")),
    ("'<>' x2000", fill("<>")),
    ("'a <![CDATA[' x360", fill("a <![CDATA[")),
    ("'<a href=x>' x400", fill("<a href=x>")),
    ("'&amp;' x800", fill("&amp;")),
    ("'\\' x4000", fill("\\")),
    # Autolinks.
    ("'http://a.co ' x333", fill("http://a.co ")),
    ("'www.a.co ' x444", fill("www.a.co ")),
    ("URL + '*' x3980 + 'a'", "http://example.com/" + fill("*", "a")[19:]),
    ("'mailto:' x571", fill("mailto:")),
    ("'mailto:a@' x444", fill("mailto:a@")),
    ("'http://' x571", fill("http://")),
    ("'www.' x1000", fill("www.")),
    ("'www.a\\n' x666", fill("www.a\n")),
    ("'www.~~\\n' x571", fill("www.~~\n")),
    ("'[http://' x500", fill("[http://")),
    ("'http://' + 'a.' x1996", "http://" + fill("a.")[7:]),
    ("'http://x.co/' + '(' x3987", "http://x.co/" + fill("(")[12:]),
    ("'https://a.' x400", fill("https://a.")),
    ("'http://a.co/_' x285", fill("http://a.co/_")),
    ("emoji + links", fill("\U0001f600\U0001f600 http://a.co/\U0001f600 ")),
]


def timed(text: str, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds per render of `text`, `repeat` times."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.thread_time()
        richtext.render(text)
        cpu.append(time.thread_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return wall, cpu


def path_of(text: str) -> str:
    """plain (the fast path), rich (Markdown and nh3) or flat (too deep)."""
    if richtext.is_plain(text):
        return "plain"
    tokens = richtext._MARKDOWN.parse(text)
    return "flat" if richtext._too_deep(tokens) else "rich"


def throughput(text: str, seconds: float = 1.0) -> float:
    """Renders per second of `text`, over about `seconds`."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            richtext.render(text)
        count += 100
    return count / elapsed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench richtext",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeat", type=int, default=21, help="renders per input")
    args = parser.parse_args(argv)

    # Wall-clock times count what else the machine runs; CPU times do not.
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} cores; {args.repeat} renders each")
    # The process's first render compiles linkify-it's patterns: not a message's.
    richtext.render(MARKDOWN)
    worst_case = ("", 0.0)
    print(
        f"{'input':<34}{'chars':>6}  {'path':<6}"
        f"{'median ms':>10}{'worst ms':>10}{'cpu med ms':>11}"
    )
    for name, text in CASES:
        assert len(text) <= MAX_LENGTH, name
        wall, cpu = timed(text, args.repeat)
        median, worst = statistics.median(wall) * 1000, max(wall) * 1000
        if worst > worst_case[1]:
            worst_case = (name, worst)
        print(
            f"{name:<34}{len(text):>6}  {path_of(text):<6}"
            f"{median:>10.3f}{worst:>10.3f}{statistics.median(cpu) * 1000:>11.3f}"
        )
    name, worst = worst_case
    verdict = "under" if worst < BUDGET_MS else "OVER"
    print(f"\nworst: {worst:.1f} ms ({name}), {verdict} the {BUDGET_MS:.0f} ms budget")
    for label, text in (("plain", PLAIN), ("markdown", MARKDOWN)):
        rate = throughput(text)
        print(f"throughput, {label} message ({len(text)} chars): {rate:,.0f} renders/s")
    return 0
