"""Table-driven tests of the slash syntax (spec section 1), through the `--raw` API."""

from __future__ import annotations


import pytest

from commandlang import CommandError, parse_raw


def raw(command: str, positionals=(), options=None, flags=None) -> dict:
    return {"command": command, "positionals": list(positionals), "options": options or {}, "flags": flags or {}}


# -- not a command -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "/etc/hosts is broken",
        "// note",
        "/ hi",
        "/?",
        "/",
        "",
        "   ",
        "hello /refund 1",
        "plain text",
        "/1abc",
        "/_x",
        "/-x",
        "/x/y",
        "/x.",
        "/x..y",
        "/.x",
        "\u00a0 / hi",
        "//refund 1",
    ],
)
def test_not_a_command(text: str) -> None:
    assert parse_raw(text) is None


# -- successful parses -----------------------------------------------------------

OK = [
    # names
    ("/refund", raw("refund")),
    ("/REFUND", raw("refund")),
    ("/Order.Refund 1", raw("order.refund", ["1"])),
    ("/a-b_c9 x", raw("a-b_c9", ["x"])),
    ("/v2.step-1 x", raw("v2.step-1", ["x"])),
    ("/café x", raw("café", ["x"])),
    ("  /refund 1  ", raw("refund", ["1"])),
    # positionals and whitespace of every kind between items
    ("/x a b", raw("x", ["a", "b"])),
    ("/x a\tb\nc\r\nd", raw("x", ["a", "b", "c", "d"])),
    ("/x\na", raw("x", ["a"])),
    ("/x -a --1 --", raw("x", ["-a", "--1", "--"])),
    ("/x , a,b", raw("x", [",", "a,b"])),
    ("/x 19.99 #5 @me", raw("x", ["19.99", "#5", "@me"])),
    # options
    ("/x k=v", raw("x", options={"k": "v"})),
    ("/x K=V", raw("x", options={"k": "V"})),
    ("/x amount = 5", raw("x", options={"amount": "5"})),
    ("/x amount= 5", raw("x", options={"amount": "5"})),
    ("/x amount =5", raw("x", options={"amount": "5"})),
    ("/x amount\n=\n5", raw("x", options={"amount": "5"})),
    ("/x --key=value", raw("x", options={"key": "value"})),
    ("/x --key = value", raw("x", options={"key": "value"})),
    ("/x q=a=b", raw("x", options={"q": "a=b"})),
    ("/x ok =[a]", raw("x", options={"ok": ["a"]})),
    ("/x k_1-a=v", raw("x", options={"k_1-a": "v"})),
    ('/x k=""', raw("x", options={"k": ""})),
    ("/x k=v x y=z", raw("x", ["x"], {"k": "v", "y": "z"})),
    # flags
    ("/x --notify", raw("x", flags={"notify": True})),
    ("/x --no-notify", raw("x", flags={"notify": False})),
    ("/x --NOTIFY --No-Email", raw("x", flags={"notify": True, "email": False})),
    ("/x --dry-run", raw("x", flags={"dry-run": True})),
    ("/x --a --b", raw("x", flags={"a": True, "b": True})),
    # double quotes and escapes
    ('/x "two words"', raw("x", ["two words"])),
    (r'/x "a\"b"', raw("x", ['a"b'])),
    (r'/x "a\\b"', raw("x", ["a\\b"])),
    (r'/x "a\nb"', raw("x", ["a\nb"])),
    (r'/x "a\tb"', raw("x", ["a\tb"])),
    (r'/x "\u00e9\u20AC"', raw("x", ["é€"])),
    (r'/x "\ud83d\ude00"', raw("x", ["😀"])),
    (r'/x "C:\path\q"', raw("x", ["C:\\path\\q"])),
    (r'/x "a\xb"', raw("x", ["a\\xb"])),
    (r'/x "\u12"', raw("x", ["\\u12"])),
    ('/x "line one\nline two"', raw("x", ["line one\nline two"])),
    ('/x k="a b"', raw("x", options={"k": "a b"})),
    ('/x k= "a b"', raw("x", options={"k": "a b"})),
    ('/x "k=v"', raw("x", ["k=v"])),
    ('/x "--flag"', raw("x", ["--flag"])),
    ('/x "[a]"', raw("x", ["[a]"])),
    # single quotes: no escapes
    ("/x 'a b'", raw("x", ["a b"])),
    (r"/x 'a\nb\'", raw("x", ["a\\nb\\"])),
    ("/x 'say \"hi\"'", raw("x", ['say "hi"'])),
    ('/x "it\'s"', raw("x", ["it's"])),
    # adjacent parts form one value
    ('/x "a b"c', raw("x", ["a bc"])),
    ('/x a"b c"', raw("x", ["ab c"])),
    ("/x 'a'\"b\"c", raw("x", ["abc"])),
    ('/x k="a b"c', raw("x", options={"k": "a bc"})),
    # lists
    ("/x []", raw("x", [[]])),
    ("/x [ ]", raw("x", [[]])),
    ("/x [a]", raw("x", [["a"]])),
    ("/x [a,b]", raw("x", [["a", "b"]])),
    ("/x [a, b,]", raw("x", [["a", "b"]])),
    ("/x [ a ,\n b ]", raw("x", [["a", "b"]])),
    ("/x [\"a b\", 'c,d', e]", raw("x", [["a b", "c,d", "e"]])),
    ("/x k=[a, b]", raw("x", options={"k": ["a", "b"]})),
    ("/x k = []", raw("x", options={"k": []})),
    ("/x k=[a] k=b", raw("x", options={"k": ["a", "b"]})),
    ("/x k=a k=[b, c]", raw("x", options={"k": ["a", "b", "c"]})),
    ("/x [a=b]", raw("x", [["a=b"]])),
    # percent decoding is off by default
    ("/x a%20b k=%41", raw("x", ["a%20b"], {"k": "%41"})),
    # normalisation
    ("\u00a0/x\u00a0a\u2007b\u202fc\u3000d\te", raw("x", ["a", "b", "c", "d", "e"])),
    ("/x\u200b a\u200cb\u200dc\ufeffd", raw("x", ["abcd"])),
    ("\ufeff/x a", raw("x", ["a"])),
    ("/x \u201ca b\u201d", raw("x", ["a b"])),
    ("/x \u201ea b\u201c", raw("x", ["a b"])),
    ("/x \u00aba b\u00bb", raw("x", ["a b"])),
    ("/x k=\u201ca b\u201d", raw("x", options={"k": "a b"})),
    ("/x \u2018a b\u2019", raw("x", ["a b"])),
    ("/x [\u2018a\u2019, \u201cb c\u201d]", raw("x", [["a", "b c"]])),
    ("/x don\u2019t", raw("x", ["don\u2019t"])),
    ("/x \u2018don\u2019t\u2019", raw("x", ["don\u2019t"])),
    ("\uff0fx a", raw("x", ["a"])),
    ("\u3000\uff0fx a", raw("x", ["a"])),
    ("/x a\uff0fb", raw("x", ["a\uff0fb"])),
]


@pytest.mark.parametrize(("text", "expected"), OK)
def test_parses(text: str, expected: dict) -> None:
    assert parse_raw(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/x a%20b", ["a b"]),
        ("/x caf%C3%A9", ["café"]),
        ("/x %e2%82%ac", ["€"]),
        ("/x 100%", ["100%"]),
        ("/x %zz%2", ["%zz%2"]),
        ("/x %FF%20", ["%FF "]),
        ("/x %C3", ["%C3"]),
        ("/x %C3%28", ["%C3("]),
        ('/x "a%20b"', ["a%20b"]),
        ("/x 'a%20b'", ["a%20b"]),
        ('/x a%20"b%20c"', ["a b%20c"]),
        ("/x [a%2Cb, c]", [["a,b", "c"]]),
    ],
)
def test_percent_decoding_when_enabled(text: str, expected: list) -> None:
    assert parse_raw(text, percent_decode=True)["positionals"] == expected


def test_percent_decoding_applies_to_option_values_not_keys() -> None:
    assert parse_raw("/x k=a%3Db", percent_decode=True)["options"] == {"k": "a=b"}
    # `k%41` is no key (a key has the name's characters), so this is one bare positional, decoded
    assert parse_raw("/x k%41=1", percent_decode=True)["positionals"] == ["kA=1"]


# -- errors -----------------------------------------------------------------------

ERRORS = [
    # unclosed_quote points at the opening quote
    ('/x "a b', "unclosed_quote", 4),
    ("/x 'a b", "unclosed_quote", 4),
    ('/x k="a b', "unclosed_quote", 6),
    ('/x a"b', "unclosed_quote", 5),
    ('/x "a"b"', "unclosed_quote", 8),
    ('/x ok "done" "open', "unclosed_quote", 14),
    (r'/x "a\"', "unclosed_quote", 4),
    ('/x ["a, b]', "unclosed_quote", 5),
    # unclosed_list points at the [
    ("/x [a, b", "unclosed_list", 4),
    ("/x k=[a", "unclosed_list", 6),
    ("/x [", "unclosed_list", 4),
    ("/x a [b,", "unclosed_list", 6),
    # unexpected_character
    ("/x a]", "unexpected_character", 5),
    ("/x ]", "unexpected_character", 4),
    ("/x [a [b]]", "unexpected_character", 7),
    ("/x [a b]", "unexpected_character", 7),
    ("/x [a,,b]", "unexpected_character", 7),
    ("/x k=", "unexpected_character", 5),
    ("/x k= ", "unexpected_character", 5),
    ("/x a =", "unexpected_character", 6),
    ("/x q==b", "unexpected_character", 6),  # a bare value may not start with =
    ("/x [a]b", "unexpected_character", 7),
    ('/x "a"[b]', "unexpected_character", 7),
    ("/x a[b]", "unexpected_character", 5),
    # empty_key
    ("/x =5", "empty_key", 4),
    ("/x [a] =b", "empty_key", 8),
    ("/x = 5", "empty_key", 4),
    ('/x "a" = b', "empty_key", 8),
    # duplicate_option (raw mode: a scalar repeated)
    ("/x a=1 a=2", "duplicate_option", 8),
    ("/x a=1 A=2", "duplicate_option", 8),
    ("/x --a=1 a=2", "duplicate_option", 10),
    ("/x --notify --no-notify", "duplicate_option", 13),
    ("/x --a --A", "duplicate_option", 8),
]


@pytest.mark.parametrize(("text", "code", "column"), ERRORS)
def test_syntax_errors(text: str, code: str, column: int) -> None:
    with pytest.raises(CommandError) as caught:
        parse_raw(text)
    diagnostic = caught.value.diagnostic
    assert (diagnostic.code, diagnostic.column) == (code, column), diagnostic.message
    if code != "duplicate_option":  # the message tells a chat user where to look
        assert f"column {column}" in diagnostic.message


@pytest.mark.parametrize(
    ("text", "code", "column"),
    [
        # columns refer to the text the user sent, not the normalised one
        ('/x\u200b\u200b "a', "unclosed_quote", 6),
        ('\u200b\u200b/x "a', "unclosed_quote", 6),
        ("\u00a0\u00a0/x \u201ca b", "unclosed_quote", 6),
        ("/x\u3000\u3000[a", "unclosed_list", 5),
        ("/x \ufeff=5", "empty_key", 5),
        ("/x\u200b a\u200b]", "unexpected_character", 7),
        ("\t/x k=1 k=2", "duplicate_option", 9),
    ],
)
def test_error_columns_refer_to_original_text(text: str, code: str, column: int) -> None:
    with pytest.raises(CommandError) as caught:
        parse_raw(text)
    assert (caught.value.diagnostic.code, caught.value.diagnostic.column) == (code, column)


# -- limits -------------------------------------------------------------------------


def test_too_many_items() -> None:
    text = "/x " + " ".join(["a"] * 101)
    with pytest.raises(CommandError) as caught:
        parse_raw(text)
    assert caught.value.diagnostic.code == "too_many_items"
    assert caught.value.diagnostic.column == len("/x ") + 2 * 100 + 1  # the 101st item


def test_one_hundred_items_are_fine() -> None:
    assert len(parse_raw("/x " + " ".join(["a"] * 100))["positionals"]) == 100


def test_list_items_count_as_one_item() -> None:
    assert len(parse_raw("/x [" + ",".join(["a"] * 300) + "]")["positionals"][0]) == 300


def test_too_long_at_default_limit() -> None:
    assert parse_raw("/x " + "a" * 3997) is not None  # exactly 4000 characters
    with pytest.raises(CommandError) as caught:
        parse_raw("/x " + "a" * 3998)
    assert caught.value.diagnostic.code == "too_long"
    assert 1 <= caught.value.diagnostic.column <= 4001


def test_max_length_is_configurable() -> None:
    with pytest.raises(CommandError) as caught:
        parse_raw("/x abcdef", max_length=5)
    assert caught.value.diagnostic.code == "too_long"


def test_long_chat_that_is_not_a_command_passes_through() -> None:
    assert parse_raw("hello " * 2000) is None


def test_one_megabyte_message_is_rejected_as_too_long() -> None:
    # the length is checked before anything else (how fast is bench_parse.py's business)
    text = "/refund " + ("x" * 1024 * 1024)
    with pytest.raises(CommandError) as caught:
        parse_raw(text)
    assert caught.value.diagnostic.code == "too_long"


def test_one_megabyte_of_quotes_and_brackets_is_rejected_as_too_long() -> None:
    # too_long, not unclosed_quote: the length is checked before the text is scanned
    text = "/x " + '"[' * (512 * 1024)
    with pytest.raises(CommandError) as caught:
        parse_raw(text)
    assert caught.value.diagnostic.code == "too_long"


@pytest.mark.parametrize("junk", [bytes(range(256)).decode("latin-1"), "\x00/x\x00", "/x \x00\x01\x02", "/x \udcff"])
def test_binary_junk_never_crashes(junk: str) -> None:
    try:
        parse_raw(junk)
    except CommandError as exc:
        assert 1 <= exc.diagnostic.column <= len(junk) + 1


@pytest.mark.parametrize("start", ["/etc/hosts is broken ", "// note ", "/ hi ", "/?", "hello ", "\u00a0/ x "])
def test_long_ordinary_chat_passes_through_like_short_chat(start: str) -> None:
    assert parse_raw(start + "x" * 5000) is None


@pytest.mark.parametrize("text", ["/x " + "a" * 5000, "/" + "a" * 5000, "\u200b/refund " + "1" * 5000])
def test_long_commands_are_too_long(text: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_raw(text)
    assert caught.value.diagnostic.code == "too_long"
