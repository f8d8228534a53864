"""The spoken form: money, numbers, times and titles said as a narrator says them; pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from narrator.lexicon import Lexicon, PhonemeAlphabet, Replacement, Respelled, unspoken
from narrator.segment import Token

# --- number words ----------------------------------------------------------------------
# All words come from num2words (English); this module only chooses which reading.


@cache
def _num2words() -> Callable[..., str]:
    # Imported on first use: num2words loads all its languages (~30 ms), too slow for --help.
    from num2words import num2words

    convert: Callable[..., str] = num2words
    return convert


def _words(number: int, to: str = "cardinal") -> str:
    # num2words puts a comma after "thousand" ("one thousand, five hundred"): an engine
    # would pause there.
    return _num2words()(number, lang="en", to=to).replace(",", "")


def cardinal(written: str) -> str:
    """'2,500' → 'two thousand five hundred'; '3.05' → 'three point zero five'."""
    whole, _, decimals = written.replace(",", "").partition(".")
    said = _words(int(whole))
    if decimals:
        # Digit by digit, as a reader says them; a float would round '3.10' away.
        said += " point " + " ".join(_words(int(d)) for d in decimals)
    return said


def year(number: int) -> str:
    """num2words' reading: 'nineteen eighty-four', 'two thousand and eight', 'twenty fifteen'."""
    return _words(number, to="year")


def _plural(words: str) -> str:
    """'nineteen ninety' → 'nineteen nineties', 'two thousand' → 'two thousands'."""
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


# --- context ---------------------------------------------------------------------------

# Words after a four-digit number that make it an amount, not a year ("1500 troops",
# "2000 km"): units, counted nouns without a plural s, and any plural-looking word
# except these, which follow years ("in 1990 was", "1984 has").
_COUNTED = frozenset(
    "people men women children feet foot sheep cattle police staff personnel per "
    "km m cm mm kg g mg lb ft mi mph kph hp kw mw gb mb tb".split()
)
_NOT_PLURAL = frozenset(
    "was is as has its his this thus us always perhaps whereas unless across besides "
    "towards afterwards onwards does plus less versus vs yes".split()
)
_NEXT_WORD = re.compile(r"\s+([a-z][a-z'’]*)")
_CAPITALISED_NEXT = re.compile(r"\s+[A-Z]")
_CAPITALISED_BEFORE = re.compile(r"(?P<word>[A-Z][\w'’-]*)\s+$")
# Capitalised words that begin sentences far more often than they follow a title or a
# street: after "Baker St." or "the Dr." they mean the full stop ended a sentence.
_OPENERS = frozenset(
    "The A An He She It They We I You Then Later But And So Yet Or In On At By For From To "
    "With After Before When While As If This That These Those There Here His Her Its Their "
    "Our My Your Some All Now Soon Next Finally However Meanwhile Still Once Every What Why "
    "How Where".split()
)
# What may follow a sentence's last full stop: closing quotes and brackets, then the end of
# the text or an opener ("A." is an initial, not an opener).
_SENTENCE_END = re.compile(
    r"[\"'’”)\]]*(?:\s*$|\s+(?:" + "|".join(sorted(_OPENERS)) + r")\b(?!\.))"
)


def _counts_something(text: str, end: int) -> bool:
    """Whether the word after ``end`` is a unit or a plural noun ('1500 troops')."""
    found = _NEXT_WORD.match(text, end)
    if found is None:
        return False
    word = found.group(1)
    return word in _COUNTED or (word.endswith("s") and word not in _NOT_PLURAL)


def _year_like(written: str) -> bool:
    return len(written) == 4 and written.isdigit() and 1100 <= int(written) <= 2099


# --- the rules -------------------------------------------------------------------------

_MONEY = {"£": ("pound", "pounds", "penny", "pence"), "$": ("dollar", "dollars", "cent", "cents"),
          "€": ("euro", "euros", "cent", "cents")}  # fmt: skip
_SCALE = {"k": "thousand", "m": "million", "mn": "million", "b": "billion", "bn": "billion",
          "tn": "trillion"}  # fmt: skip
# "$20/hr": twenty dollars an hour.
_PER = {"month": "a month", "mo": "a month", "year": "a year", "yr": "a year", "hour": "an hour",
        "hr": "an hour", "day": "a day", "night": "a night", "week": "a week", "wk": "a week",
        "minute": "a minute", "min": "a minute", "head": "a head", "person": "a person",
        "kg": "a kilo", "lb": "a pound", "litre": "a litre", "liter": "a liter",
        "gallon": "a gallon", "mile": "a mile", "km": "a kilometre", "share": "a share",
        "seat": "a seat", "ticket": "a ticket", "unit": "a unit", "user": "a user"}  # fmt: skip
# A whole number as written, thousands separated by commas or not. Up to 15 digits: past
# that no narrator reads it out (and num2words overflows), so the engine gets the digits.
WHOLE = r"(?:\d{1,3}(?:,\d{3}){1,4}|\d{1,15})"
# With an optional decimal part.
NUMBER = rf"{WHOLE}(?:\.\d{{1,15}})?"
# Not part of a longer number, word, version, date, ratio or height ("2.0.1", "A4", "9/11",
# "5'10\"": engines say "five ten" for the last).
_ALONE_BEFORE = r"(?<![\w.,:/\-–])(?<!\d['’′])"
_ALONE_AFTER = r"(?![\w/:]|[.,]\d|[-–]\d|['’′]\d)"


def _amount(end: str = "") -> str:
    """An amount of money after its sign: '5.99', '3bn', '10K', '1.5 million'."""
    return (
        rf"(?P<amount{end}>{NUMBER})(?:(?P<scale{end}>(?i:bn|mn|tn|[kmb]))"
        rf"|\s(?P<words{end}>thousand|million|billion|trillion))?"
    )


def _scale(m: re.Match[str], end: str = "") -> str | None:
    return m[f"words{end}"] or _SCALE.get((m[f"scale{end}"] or "").lower())


def _has_cents(amount: str) -> bool:
    # "$1.5" is one point five dollars; "$5.99" has cents.
    return len(amount.partition(".")[2]) == 2


def _sum(m: re.Match[str], end: str = "") -> str:
    """One amount with its currency: 'five dollars and ninety-nine cents'."""
    one, many, cent, cents = _MONEY[m["sign"]]
    amount, scale = m[f"amount{end}"], _scale(m, end)
    if scale:
        return f"{cardinal(amount)} {scale} {many}"
    if not _has_cents(amount):
        return f"{cardinal(amount)} {one if amount == '1' else many}"
    whole, _, minor = amount.replace(",", "").partition(".")
    parts = []
    if int(whole) or not int(minor):
        parts.append(f"{_words(int(whole))} {one if int(whole) == 1 else many}")
    if int(minor):
        parts.append(f"{_words(int(minor))} {cent if int(minor) == 1 else cents}")
    return " and ".join(parts)


def _money(m: re.Match[str]) -> str:
    if m["amount_high"] is None:
        said = _sum(m)
    elif _has_cents(m["amount"]) or _has_cents(m["amount_high"]):
        said = f"{_sum(m)} to {_sum(m, '_high')}"
    else:  # "$1m-$2m": one to two million dollars
        low, high = _scale(m), _scale(m, "_high")
        said = cardinal(m["amount"]) + (f" {low}" if low and low != high else "")
        said += f" to {cardinal(m['amount_high'])}" + (f" {high}" if high else "")
        said += f" {_MONEY[m['sign']][1]}"
    if m["minus"]:
        said = "minus " + said
    return said + (f" {_PER[m['per']]}" if m["per"] else "")


def _hour(end: str = "") -> str:
    """A clock hour with optional minutes: '6', '6:30', '11.05'."""
    return rf"(?P<hour{end}>\d{{1,2}})(?:[:.](?P<minutes{end}>[0-5]\d))?"


# "pm", "p.m.", "PM", "p.m"
_HALF = r"(?P<half>[AaPp])(?:\.\s?[Mm]\.?|[Mm])(?!\w)"
_HALF_HIGH = _HALF.replace("<half>", "<half_high>")


def _clock(hour: str, minutes: str | None, oclock: bool) -> str:
    said = _words(int(hour))
    if hour.startswith("0") and len(hour) == 2:
        said = "oh " + said
    if minutes is None or minutes == "00":
        return said + (" o'clock" if oclock else "")
    if minutes.startswith("0"):
        return f"{said} oh {_words(int(minutes))}"
    return f"{said} {_words(int(minutes))}"


def _twelve_hour(m: re.Match[str], end: str = "") -> str | None:
    if not 1 <= int(m[f"hour{end}"]) <= 12:
        return None
    # Capitals: eSpeak says 'PM' as the letters, but 'am' as the word and 'a m' as 'uh m'.
    said = _clock(m[f"hour{end}"], m[f"minutes{end}"], False)
    return f"{said} {m[f'half{end}'].upper()}M" if m[f"half{end}"] else said


def _time_range(m: re.Match[str]) -> str | None:
    low, high = _twelve_hour(m), _twelve_hour(m, "_high")
    return None if low is None or high is None else f"{low} to {high}"


def _twenty_four_hour(m: re.Match[str]) -> str:
    hour, minutes = m["hour"], m["minutes"]
    if minutes == "00" and (len(hour) == 2 and (hour.startswith("0") or int(hour) > 12)):
        return f"{_clock(hour, None, False)} hundred"  # "18:00", "09:00": military style
    return _clock(hour, minutes, True)


_SCORE_BEFORE = re.compile(
    r"\b(?:won|lost|drew|beat|beaten|tied|led|trailed|leading|trailing)\s+(?:by\s+)?$", re.I
)


def _range(m: re.Match[str]) -> str | None:
    low, high, percent = m["low"], m["high"], m["percent"]
    hyphen = m["dash"] == "-"
    descending = float(low.replace(",", "")) >= float(high.replace(",", ""))
    if not percent and _year_like(low) and not _counts_something(m.string, m.end()):
        if _year_like(high) and not (hyphen and descending):
            return f"{year(int(low))} to {year(int(high))}"
        if len(high) == 2 and int(high) > int(low[2:]):  # "1939–45", "2024-25"
            return f"{year(int(low))} to {_words(int(high))}"
    if hyphen and (descending or _SCORE_BEFORE.search(m.string, 0, m.start())):
        # A score ("won 3-2", "102-99"), said as a sports narrator does: "three two".
        if (low + high).isdigit() and len(low) <= 3 and len(high) <= 3:
            return f"{cardinal(low)} {cardinal(high)}"
        return None
    return f"{cardinal(low)} to {cardinal(high)}" + (" percent" if percent else "")


_DIGITS = "oh one two three four five six seven eight nine".split()


def _phone(m: re.Match[str]) -> str | None:
    if _counts_something(m.string, m.end()):
        return None  # "200-1000 troops" is a range
    groups = re.findall(r"\d+", m[0])
    if groups[0].startswith("0") and len("".join(groups)) < 9:
        return None  # "007 123"
    said = ", ".join(" ".join(_DIGITS[int(d)] for d in group) for group in groups)
    return "plus " + said if m[0].startswith("+") else said


def _year(m: re.Match[str]) -> str | None:
    if not _year_like(m[0]) or _counts_something(m.string, m.end()):
        return None  # said by the number rule
    return year(int(m[0]))


def _number(m: re.Match[str]) -> str | None:
    if len(m[0]) > 1 and m[0][0] == "0" and m[0][1] != ".":
        return None  # "007", "0800": read digit by digit, leave it to the engine
    return cardinal(m[0])


def _ends_sentence(m: re.Match[str]) -> bool:
    """Whether the full stop ending ``m`` also ends a sentence ("Baker St. The house")."""
    return m[0].endswith(".") and _SENTENCE_END.match(m.string, m.end()) is not None


def _before_a_name(m: re.Match[str]) -> bool:
    """Whether a capitalised word follows that is not a sentence's opener ("Dr. Watson")."""
    return _CAPITALISED_NEXT.match(m.string, m.end()) is not None and not _ends_sentence(m)


def _title(m: re.Match[str]) -> str | None:
    return _TITLES[m["short"] or m["long"]] if _before_a_name(m) else None


def _starts_sentence(text: str, index: int) -> bool:
    """Whether the word at ``index`` opens a sentence: nothing before it, or a sentence
    end, a colon, an opening quote or bracket; the full stop of "St." is no end."""
    before = text[:index].rstrip()
    if not before or before[-1] in ':"“(':
        return True
    if before[-1] not in ".!?…":
        return False
    last = before.rsplit(None, 1)[-1].rstrip(".")
    return last not in _TITLES and last not in ("St", "Dr", "Mr", "Mrs", "Ms")


def _saint_or_street(m: re.Match[str]) -> str | None:
    # After a name: a street ("Baker St."), even before another name; before a name that
    # is not an opener: a title ("St. Paul's", "Dr. Watson"); "the Dr. Later…": the doctor.
    title, street = {"St": ("Saint", "Street"), "Dr": ("Doctor", "Drive")}[m["word"]]
    before = _CAPITALISED_BEFORE.search(m.string, 0, m.start())
    # A sentence's first word is capitalised anyway: "Meet Dr. Jones" names no street.
    first = before is not None and _starts_sentence(m.string, before.start())
    if before is not None and before["word"] not in _OPENERS and not first:
        # A capitalised word after a street's full stop begins the next sentence.
        next_sentence = m[0].endswith(".") and _CAPITALISED_NEXT.match(m.string, m.end())
        return street + ("." if next_sentence and not _ends_sentence(m) else "")
    if _before_a_name(m):
        return title
    if m["word"] == "Dr" and _ends_sentence(m) and _CAPITALISED_NEXT.match(m.string, m.end()):
        return title
    return None


@dataclass(frozen=True)
class Rule:
    """One row of the table: a written form and how it is said.

    ``say`` gets the match (and, through it, the whole sentence for context) and
    returns the words, or None to leave this match as written.
    """

    name: str
    pattern: re.Pattern[str]
    say: Callable[[re.Match[str]], str | None]
    #: (written, spoken) pairs, checked by the tests.
    examples: tuple[tuple[str, str], ...]
    #: Look-alikes this row must leave alone, checked by the tests.
    leaves: tuple[str, ...] = ()
    #: Whether a full stop ending a match may also end the sentence: then it is said too.
    may_end_sentence: bool = True


def _rule(name: str, pattern: str, say: Callable[[re.Match[str]], str | None],
          examples: dict[str, str], leaves: tuple[str, ...] = (),
          may_end_sentence: bool = True) -> Rule:  # fmt: skip
    return Rule(name, re.compile(pattern), say, tuple(examples.items()), leaves, may_end_sentence)


_TITLES = {
    "Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Prof": "Professor", "Gen": "General",
    "Capt": "Captain", "Lt": "Lieutenant", "Col": "Colonel", "Sgt": "Sergeant",
    "Sen": "Senator", "Rep": "Representative", "Gov": "Governor", "Rev": "Reverend",
}  # fmt: skip
_LATIN = {"e.g.": "for example", "i.e.": "that is", "vs.": "versus",
          "vs": "versus", "approx.": "approximately", "ca.": "circa", "c.": "circa"}  # fmt: skip

# The table, in priority order: where two rules match at the same place, the first wins.
RULES: tuple[Rule, ...] = (
    _rule(
        "phone number",
        r"(?<![\w.,:/\-–+])(?:\+1[ .-]?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}"  # +1 (555) 123-4567
        r"|\+\d{7,15}|\+\d{1,3}(?:[ .-]\(?\d{1,5}\)?){2,4}"  # +447700900123, +44 20 7946 0958
        r"|(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}|[2-9]\d\d-\d{4}"  # (555) 123-4567, 555-1234
        r"|0\d{2,4}(?: \d{3,6}){1,2})"  # 020 7946 0958
        r"(?![\w/:]|[.,\-–]\d)",
        _phone,
        {"+1 (555) 123-4567": "plus one, five five five, one two three, four five six seven",
         "555-1234": "five five five, one two three four",
         "555-123-4567": "five five five, one two three, four five six seven",
         "020 7946 0958": "oh two oh, seven nine four six, oh nine five eight",
         "+447700900123": "plus four four seven seven oh oh nine oh oh one two three"},
        ("1984 2000", "2017-07-26", "200-1000 troops", "10 20 30", "007", "(1990) 2000",
         "192.168.1.1", "1,234,567"),
    ),
    _rule(
        "money",
        rf"(?:(?<![\w.,\-–−])(?P<minus>[-−]))?(?<![$£€])(?P<sign>[£$€])\s?{_amount()}"
        rf"(?:(?:-|\s?–\s?)(?P=sign)?{_amount('_high')})?"
        rf"(?:/(?P<per>{'|'.join(_PER)}))?{_ALONE_AFTER}",
        _money,
        {"£240,000": "two hundred and forty thousand pounds",
         "$1.5 million": "one point five million dollars", "€20": "twenty euros",
         "$5.99": "five dollars and ninety-nine cents", "£1": "one pound",
         "$3bn": "three billion dollars", "$3 billion": "three billion dollars",
         "£0.50": "fifty pence", "£2.01": "two pounds and one penny",
         "$1.5": "one point five dollars",
         "€4m": "four million euros", "$1984": "one thousand nine hundred and eighty-four dollars",
         "US$5": "US five dollars",
         "£5-10": "five to ten pounds", "$5–10": "five to ten dollars",
         "$5-$10": "five to ten dollars", "$1m-$2m": "one to two million dollars",
         "$500k-$2m": "five hundred thousand to two million dollars",
         "$4.99-$9.99": "four dollars and ninety-nine cents to nine dollars and ninety-nine cents",
         "-$5": "minus five dollars", "−$5": "minus five dollars",
         "-£3m": "minus three million pounds",
         "$3.99/month": "three dollars and ninety-nine cents a month",
         "$20/hr": "twenty dollars an hour", "£2/kg": "two pounds a kilo",
         "$10K": "ten thousand dollars", "$2M": "two million dollars",
         "£3BN": "three billion pounds"},
        ("US$", "$ sign", "£5bnx", "$5/x", "$5/hrs"),
    ),
    _rule(
        "time range",
        rf"{_ALONE_BEFORE}{_hour()}(?:\s?{_HALF})?(?:-|\s?–\s?){_hour('_high')}\s?{_HALF_HIGH}",
        _time_range,
        {"6–7pm": "six to seven PM", "9am-5pm": "nine AM to five PM",
         "6-7 p.m.": "six to seven PM.",
         "9:30 a.m. – 1 p.m. daily": "nine thirty AM to one PM daily",
         "11-1 pm": "eleven to one PM"},
        ("6-7 pmx", "10-15 km", "13-14 pm"),
    ),
    _rule(
        "time (12-hour)",
        rf"{_ALONE_BEFORE}{_hour()}\s?{_HALF}",
        _twelve_hour,
        {"6 p.m. sharp": "six PM sharp", "6pm": "six PM", "6:30 a.m. on": "six thirty AM on",
         "11.05 PM": "eleven oh five PM", "at 6 p.m.": "at six PM.", "7 a.m": "seven AM",
         "at 6 p.m. Then": "at six PM. Then"},
        ("6 a month", "13 pm"),
    ),
    _rule(
        "time (clock)",
        rf"{_ALONE_BEFORE}(?P<hour>[01]?\d|2[0-3]):(?P<minutes>[0-5]\d){_ALONE_AFTER}",
        _twenty_four_hour,
        {"18:00": "eighteen hundred", "18:45": "eighteen forty-five", "6:00": "six o'clock",
         "09:00": "oh nine hundred", "6:05": "six oh five"},
        ("2:1", "25:00", "6:5"),
    ),
    _rule(
        "range",
        rf"{_ALONE_BEFORE}(?P<low>{NUMBER})(?P<dash>-|\s?–\s?)(?P<high>{NUMBER})(?P<percent>\s?%)?"
        rf"{_ALONE_AFTER}",
        _range,
        {"1914–1918": "nineteen fourteen to nineteen eighteen", "10-15 km": "ten to fifteen km",
         "1939–45": "nineteen thirty-nine to forty-five", "10–20%": "ten to twenty percent",
         "1500-2000 troops": "one thousand five hundred to two thousand troops",
         "1939-45": "nineteen thirty-nine to forty-five",
         "the 2024-25 season": "the twenty twenty-four to twenty-five season",
         "won 3-2": "won three two", "102-99": "one hundred and two ninety-nine",
         "50-50": "fifty fifty", "lost 2-3": "lost two three"},
        ("2017-07-26", "COVID-19", "B-52", "1918-1914", "2.5-1.5", "5'10\""),
    ),
    _rule(
        "percentage",
        rf"{_ALONE_BEFORE}(?P<amount>{NUMBER})\s?%",
        lambda m: f"{cardinal(m['amount'])} percent",
        {"45%": "forty-five percent", "3.5%": "three point five percent",
         "100 %": "one hundred percent"},
    ),
    _rule(
        "ordinal",
        rf"{_ALONE_BEFORE}(?P<number>{WHOLE})(?i:st|nd|rd|th)(?!\w)",
        lambda m: _words(int(m["number"].replace(",", "")), "ordinal"),
        {"800th": "eight hundredth", "21st": "twenty-first", "3rd": "third",
         "1,000th": "one thousandth"},
        ("21stCentury",),
    ),
    _rule(
        "decade",
        rf"{_ALONE_BEFORE}(?P<decade>1[1-9]\d0|20\d0)['’]?s(?!\w)",
        lambda m: _plural(year(int(m["decade"]))),
        {"1990s": "nineteen nineties", "1900s": "nineteen hundreds", "2000s": "two thousands",
         "1960's": "nineteen sixties", "2010s": "twenty tens"},
        ("1995s",),
    ),
    _rule(
        "decade (short)",
        r"(?<![\w.,])(?:['’](?P<any>\d0)|(?P<tens>[2-9]0))s(?!\w)",
        lambda m: _plural(_words(int(m["any"] or m["tens"]))),
        {"'90s": "nineties", "’60s": "sixties", "her 20s": "her twenties"},
        ("10s",),
    ),
    _rule(
        "year",
        rf"{_ALONE_BEFORE}\d{{4}}{_ALONE_AFTER}",
        _year,
        {"in 1984": "in nineteen eighty-four", "2008": "two thousand and eight",
         "2015": "twenty fifteen", "1984 was": "nineteen eighty-four was",
         "1900": "nineteen hundred", "the 1984 Olympics": "the nineteen eighty-four Olympics"},
        ("1500 troops", "2000 km", "2000 people", "1,984", "1066", "2100"),
    ),
    _rule(
        "number",
        rf"{_ALONE_BEFORE}{NUMBER}{_ALONE_AFTER}",
        _number,
        {"2,500": "two thousand five hundred", "3.14": "three point one four",
         "1500 troops": "one thousand five hundred troops", "7": "seven",
         "1,234,567": "one million two hundred and thirty-four thousand five hundred and "
         "sixty-seven", "0.5": "zero point five", "2000 km": "two thousand km",
         "2000 people": "two thousand people", "1066": "one thousand and sixty-six"},
        ("2.0.1", "A4", "9/11", "007", "B-52", "3D", "won 3-2", "2017-07-26", "1" + "0" * 20,
         "5'10\" tall", "5’10”"),
    ),
    _rule(
        "number sign",
        r"(?<![\w.])(?:(?P<dotted>[Nn]os?)\.\s?|(?P<bare>Nos?)\s)"
        rf"(?P<number>{NUMBER}){_ALONE_AFTER}",
        lambda m: f"{'numbers' if (m['dotted'] or m['bare']).lower() == 'nos' else 'number'} "
        f"{cardinal(m['number'])}",
        {"No. 7": "number seven", "No 10 Downing Street": "number ten Downing Street",
         "Nos. 3 and 4": "numbers three and four", "no.12": "number twelve"},
        ("He said no.", "No, 7 of them", "Noah 7", "no 7", "No. 7b"),
    ),
    _rule(
        "title",
        r"(?<![\w.])(?:(?P<short>Mr|Mrs|Ms)\.?|(?P<long>" + "|".join(_TITLES) + r")\.)"
        r"(?=\s+[A-Z])",
        _title,
        {"Mr. Smith": "Mister Smith", "Mrs Jones": "Missus Jones", "Gen. Patton": "General Patton",
         "Prof. Li": "Professor Li", "Capt. Hook": "Captain Hook", "Lt. Dan": "Lieutenant Dan",
         "Col. Mustard": "Colonel Mustard", "Sgt. Pepper": "Sergeant Pepper",
         "Sen. Warren": "Senator Warren", "Rep. Lewis": "Representative Lewis",
         "Gov. Brown": "Governor Brown", "Rev. King": "Reverend King"},
        ("Gen Z", "Mrs.", "a sales rep. Then", "Mr. and Mrs.", "Mrsomething", "the Gen. Then"),
    ),
    _rule(
        "Saint or Street, Doctor or Drive",
        r"(?<![\w.])(?P<word>St|Dr)\b\.?",
        _saint_or_street,
        {"St. Petersburg": "Saint Petersburg", "St Mary's": "Saint Mary's",
         "on Baker St. again": "on Baker Street again", "Dr. Watson": "Doctor Watson",
         "on Mulholland Dr": "on Mulholland Drive", "Meet Dr. Jones": "Meet Doctor Jones",
         "Dr Who": "Doctor Who",
         "on Baker St. The house": "on Baker Street. The house",
         "the Dr. Later I": "the Doctor. Later I",
         "on Paul St. Dr. Jones": "on Paul Street. Doctor Jones",
         "Then Dr Jones": "Then Doctor Jones"},
        ("the St was", "Drake", "st. mary", "Dr.", "STOP", "the St. Then"),
    ),
    _rule(
        "et cetera",
        r"(?<![\w.])etc\.",
        lambda m: "et cetera",
        {"and so on etc.": "and so on et cetera.", "beans etc. They": "beans et cetera. They",
         "etc. and": "et cetera and"},
        ("etc", "etch."),
    ),
    _rule(
        "Latin and other abbreviations",
        r"(?<![\w.])(?:e\.g\.|i\.e\.|vs\b\.?|approx\.|ca\.(?=\s?\d)|c\.(?=\s?\d))",
        lambda m: _LATIN[m[0]],
        {"e.g. rice": "for example rice", "i.e. none": "that is none",
         "Ali vs. Frazier": "Ali versus Frazier", "vs. The Who": "versus The Who",
         "e.g. This": "for example This", "approx. 5": "approximately five",
         "ca. 1500": "circa fifteen hundred", "c. 1500": "circa fifteen hundred"},
        ("ca. then", "vsx", "Africa.", "etc."),
        may_end_sentence=False,  # they introduce what follows
    ),
)


def replacements(text: str, taken: list[Replacement] | None = None) -> list[Replacement]:
    """Where the rules apply in ``text`` and what is said there, in order.

    Spans in ``taken`` (the lexicon's) are left alone: no rule matches across them.
    At each place the earliest match wins, then the rule higher in the table.
    """
    blocked = taken or []
    candidates: list[tuple[int, int, int, str]] = []
    for priority, rule in enumerate(RULES):
        for match in rule.pattern.finditer(text):
            if match.end() == match.start():
                continue
            said = rule.say(match)
            if said is None:
                continue
            if rule.may_end_sentence and _ends_sentence(match) and not said.endswith("."):
                said += "."  # the abbreviation's full stop also ended the sentence
            # "US$5": the words must not run into the letters around them.
            if match.start() and text[match.start() - 1].isalnum():
                said = " " + said
            if text[match.end() : match.end() + 1].isalnum():
                said += " "
            candidates.append((match.start(), priority, match.end(), said))
    candidates.sort()
    chosen: list[Replacement] = []
    position = 0
    for start, _, end, said in candidates:
        if start < position or any(s < end and start < e for s, e, _ in blocked):
            continue
        chosen.append((start, end, said))
        position = end
    return chosen


def spoken_form(
    text: str, lexicon: Lexicon = Lexicon(), alphabet: PhonemeAlphabet = PhonemeAlphabet.NONE
) -> Respelled:
    """What an engine reading ``alphabet`` is given for the written ``text``, with the map back.

    The lexicon wins: its entries are applied first, and no rule rewrites inside one.
    Pictographs become spaces. Offsets of text outside replacements are kept.
    """
    blanked = unspoken(text)
    chosen = lexicon.replacements(blanked, alphabet)
    merged = sorted(chosen + replacements(blanked, chosen))
    return Respelled.build(text, blanked, merged)


def cue_may_begin(tokens: Sequence[Token], respelled: Respelled) -> Callable[[int], bool]:
    """Whether a cue may begin at token k: not inside a span said as a whole ("6 p.m.")."""
    return lambda k: respelled.spoken_start(tokens[k].start) is not None
