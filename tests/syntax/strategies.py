"""Hypothesis strategies for chat text built from the grammar's interesting characters."""

from __future__ import annotations

from hypothesis import strategies as st

#: The bidirectional controls, as typed.
BIDI = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
]

#: Characters that matter to the grammar and the normaliser.
INTERESTING = (
    list("/abcXYZé_-.=[],'\"\\%0123456789?:")
    + [" ", "  ", "\t", "\n", "\r", "--", "--no-", "%20", "%C3%A9", "%FF", "\\u00e9", "\\ud83d\\ude00", "\\n"]
    + ["\u00a0", "\u2007", "\u202f", "\u3000", "\u2028", "\x0b", "\x1c", "\x85"]  # spaces of all kinds
    + ["\u200b", "\u200c", "\u200d", "\ufeff"]  # zero-width
    + BIDI
    + ["\\u202e", "%E2%80%AE"]  # bidi controls, typed, escaped and percent-encoded
    + ["\u201c", "\u201d", "\u201e", "\u00ab", "\u00bb", "\u2018", "\u2019", "\uff0f"]  # typographic
)

_piece = st.sampled_from(INTERESTING)
_word = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,6}", fullmatch=True)

#: Text that looks like a command more often than `st.text()` does.
command_like = st.builds(
    lambda start, name, rest: start + name + "".join(rest),
    st.sampled_from(["/", "/", "/", " /", "\uff0f", "\u00a0/", "\u200b/", "\u202e/", ""]),
    st.one_of(
        _word, st.sampled_from(["refund", "rf", "ticket", "ticket.close", "callback", "address", "ping", "status"])
    ),
    st.lists(st.one_of(_piece, _word, st.text(max_size=3)), max_size=25),
)

chat_text = st.one_of(st.text(max_size=60), command_like, st.builds(lambda t: "/" + t, st.text(max_size=40)))
