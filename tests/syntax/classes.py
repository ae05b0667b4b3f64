"""Hypothesis strategies, one per class of input the parse benchmark times (bench/corpus/).

Each builds commands the way people type that class, and now and then breaks
one (an unclosed quote, a stray `]`, items that touch), so the differential
tests compare the fast path with Lark on the valid and the broken lines of
every class.
"""

from __future__ import annotations

from hypothesis import strategies as st

_bare = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.@:+#%/-]{0,8}", fullmatch=True)
_key = st.from_regex(r"(?:--)?[A-Za-z][A-Za-z0-9_-]{0,6}", fullmatch=True)
_name = st.sampled_from(["refund", "rf", "status", "where", "order", "ticket", "callback", "address", "ping", "x"])
_text = st.text(st.sampled_from(list("ab c,=[]'\"\\%é€\n")), max_size=8)
_escape = st.sampled_from(['\\"', "\\\\", "\\n", "\\t", "\\u00e9", "\\u20AC", "\\ud83d\\ude00", "\\x", "\\u12", "\\"])
_double = st.builds(
    lambda parts: '"' + "".join(parts) + '"',
    st.lists(st.one_of(_text.filter(lambda t: '"' not in t), _escape), max_size=4),
)
_single = st.builds(lambda t: "'" + t.replace("'", "") + "'", _text)
_quoted = st.one_of(_double, _single)
_word = st.one_of(
    _bare, _quoted, st.builds(lambda a, b: a + b, _bare, _quoted), st.builds(lambda a, b: a + b, _quoted, _bare)
)
_gap = st.sampled_from([" ", " ", " ", "  ", "\n", " \n ", "\r\n"])
_list_gap = st.sampled_from(["", "", " ", "  ", "\n"])
_list = st.builds(
    lambda words, gaps, trailing: (
        "[" + gaps[0] + ("," + gaps[1]).join(words) + ("," if trailing and words else "") + gaps[2] + "]"
    ),
    st.lists(st.one_of(_bare, _quoted), max_size=5),
    st.lists(_list_gap, min_size=3, max_size=3),
    st.booleans(),
)
_value = st.one_of(_word, _list)
_option = st.builds(lambda k, v: k + "=" + v, _key, _value)
_spaced_option = st.builds(
    lambda k, left, right, v: k + left + "=" + right + v,
    _key,
    st.sampled_from(["", " ", "  ", "\n", "\t", "\x0b"]),
    st.sampled_from(["", " ", "  ", "\n", "\t", "\x0b", "\r\n"]),
    _value,
)
_flag = st.builds(
    lambda neg, k: "--" + ("no-" if neg else "") + k,
    st.booleans(),
    st.from_regex(r"[A-Za-z][\w-]{0,6}", fullmatch=True),
)
_plain_item = st.one_of(_bare, st.builds(lambda k, v: k + "=" + v, _key, _bare))
#: What breaks a line: each is a way people get the syntax wrong.
_breaker = st.sampled_from(['"', "'", "[", "]", "=", "==", "[[", "[a b]", "[a,,b]", "[a]b", '"a"b"', "k=", ",", "\\"])


def _command(items: st.SearchStrategy[str], gaps: st.SearchStrategy[str] = _gap, names=_name) -> st.SearchStrategy[str]:
    """`/name` and items, separated by gaps; sometimes a breaker put in, or an item glued to the next."""

    def build(name: str, parts: list[tuple[str, str]], breaker: str | None, where: int) -> str:
        text = "/" + name + "".join(gap + item for gap, item in parts)
        if breaker is None:
            return text
        where = where % (len(text) + 1)
        return text[:where] + breaker + text[where:]

    return st.builds(
        build,
        names,
        st.lists(st.tuples(gaps, items), max_size=6),
        st.one_of(st.none(), st.none(), _breaker),
        st.integers(0, 200),
    )


_typographic_quote = st.sampled_from(["\u201c", "\u201d", "\u201e", "\u00ab", "\u00bb", "\u2018", "\u2019"])
_typographic_word = st.builds(
    lambda open_, body, close, tail: open_ + body + close + tail,
    _typographic_quote,
    st.text(st.sampled_from(list("ab c'\u2019\u2018\"\u201c")), max_size=6),
    _typographic_quote,
    st.sampled_from(["", "", "s", "\u2019s", "'"]),
)
_unicode_gap = st.sampled_from(
    [
        " ",
        "\u00a0",
        "\u2007",
        "\u202f",
        "\u3000",
        "\u2002",
        "\u2009",
        "\u205f",
        "\u1680",
        "\t",
        " \u00a0",
        "\x85",
        "\u2028",
    ]
)
_rare_gap = st.sampled_from(["\u200b ", " \u200d", "\ufeff ", " \u202e", "\u2066 "])

CLASSES: dict[str, st.SearchStrategy[str]] = {
    "plain": _command(_plain_item),
    "quoted": _command(st.one_of(_double, st.builds(lambda k, v: k + "=" + v, _key, _double))),
    "single_quoted": _command(st.one_of(_single, st.builds(lambda k, v: k + "=" + v, _key, _single))),
    "lists": _command(st.one_of(_list, st.builds(lambda k, v: k + "=" + v, _key, _list), _bare)),
    "spaced_equals": _command(st.one_of(_spaced_option, _bare)),
    "flags": _command(st.one_of(_flag, _option, st.sampled_from(["--", "--1", "-a", "--no-", "--a=b", "--a = b"]))),
    "typographic": _command(
        st.one_of(_typographic_word, st.builds(lambda k, v: k + "=" + v, _key, _typographic_word), _bare, _list)
    ),
    "unicode_spaces": st.builds(
        lambda lead, text, tail: lead + text + tail,
        st.sampled_from(["", "", "\u00a0", "\u3000", "\t", "\u200b", "\uff0f"]),
        _command(st.one_of(_option, _bare, _flag), st.one_of(_unicode_gap, _unicode_gap, _rare_gap)),
        st.sampled_from(["", "\u00a0", "\u3000 "]),
    ),
    "aliases": _command(_plain_item, names=st.sampled_from(["rf", "RF", "Rf", "where", "WHERE", "order", "Order"])),
    "subcommands": _command(
        st.one_of(st.sampled_from(["close", "CLOSE", "Close", '"close"']), _option, _bare),
        names=st.sampled_from(["ticket", "ticket.close", "TICKET", "Ticket.Close", "a.b.c", "ticket.", "ticket..x"]),
    ),
    "long": st.builds(
        lambda text, repeat, tail: text + (" " + tail) * repeat,
        _command(st.one_of(_option, _bare)),
        st.integers(0, 400),
        st.one_of(_option, _bare, _flag),
    ),
    "errors": st.builds(
        lambda text, breaker, where: text[: where % (len(text) + 1)] + breaker + text[where % (len(text) + 1) :],
        _command(st.one_of(_option, _bare, _flag, _list)),
        _breaker,
        st.integers(0, 200),
    ),
}
