"""Rendering report templates: Slack's limits, escaping per format, errors with lines."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataworkflows.reports.action_io import ReportData
from dataworkflows.reports.actions import _window
from dataworkflows.reports.comparison import Snapshot, changes
from dataworkflows.reports.items import work_items
from dataworkflows.reports.render import (
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    render,
    slack_messages,
)
from dataworkflows.reports.sources import discussions, meetings, pages
from dataworkflows.reports.store import Project
from dataworkflows.reports.summary import ReportOptions, summarize
from dataworkflows.reports.templates import (
    CompiledTemplate,
    TemplateProblem,
    TemplateRenderError,
    compile_template,
    format_of,
    load_template_files,
)
from dataworkflows.runtime.resources import bundled_dir

TODAY = date(2026, 11, 10)
SHIPPED = {t.name: t for t in load_template_files(bundled_dir("workflows") / "templates")}
NAMESPACES = (
    'xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource/identifier"'
)


def shipped(name: str) -> CompiledTemplate:
    return compile_template(SHIPPED[name].source, format=format_of(name), name=name)


def units(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units), never less than len()."""
    return len(text.encode("utf-16-le")) // 2


def assert_within_slack_limits(output: dict[str, Any]) -> None:
    """Every message of a Slack rendering fits Block Kit's limits."""
    assert output["format"] == "slack"
    assert output["messages"], "at least one message"
    assert output["blocks"] == output["messages"][0]["blocks"]
    assert output["text"] == output["messages"][0]["text"]
    for message in output["messages"]:
        assert 0 < len(message["blocks"]) <= MAX_BLOCKS
        assert message["text"].strip()
        assert units(message["text"]) <= MAX_FALLBACK_TEXT
        for block in message["blocks"]:
            kind = block["type"]
            if kind == "section":
                assert block["text"]["type"] == "mrkdwn"
                assert block["text"]["text"].strip()
                assert units(block["text"]["text"]) <= MAX_SECTION_TEXT
            elif kind == "header":
                assert block["text"]["type"] == "plain_text"
                assert block["text"]["text"].strip()
                assert units(block["text"]["text"]) <= MAX_HEADER_TEXT
            elif kind == "context":
                assert 0 < len(block["elements"]) <= 10
                for element in block["elements"]:
                    assert element["text"].strip()
                    assert units(element["text"]) <= MAX_SECTION_TEXT
            else:
                assert kind == "divider"


def parse_storage(body: str) -> ET.Element:
    """A Confluence body parsed as XML (its ac:/ri: prefixes declared on a root)."""
    return ET.fromstring(f"<root {NAMESPACES}>{body}</root>")  # noqa: S314  (our own output)


# Data -------------------------------------------------------------------------------------

NASTY = st.sampled_from(
    [
        "<!channel>",
        "<@U0123ABC>",
        "&amp;",
        "&",
        "<",
        ">",
        "*bold*",
        "_it_",
        "~x~",
        "`code`",
        "# heading",
        "\n# header\n",
        "\n---\n",
        "\n> quote\n",
        "|",
        '"',
        "'",
        "</p><script>alert(1)</script>",
        "]]>",
        "{{ 7*7 }}",
        "\x00",
        "\x0b",
        "🟢",
        "\U0001d518\U0001d52b\U0001d526",  # astral letters: two UTF-16 units each
        "é",
        "\u200b",
        " ",
        "\n\n",
    ]
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(NASTY, max_size=8).map("".join),
    st.builds(
        lambda chunk, times: chunk * times, st.text(min_size=1, max_size=12), st.integers(0, 400)
    ),
)
DATES = st.one_of(
    st.none(),
    st.dates(min_value=date(2026, 9, 1), max_value=date(2027, 1, 31)).map(date.isoformat),
    st.sampled_from(["not a date", "", "2026-13-45"]),
)
STATUS = st.one_of(
    st.none(), st.sampled_from(["Done", "Working on it", "Stuck", "Not started"]), TEXT
)


@st.composite
def monday_items(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 80))
    found = []
    for n in range(count):
        due = draw(DATES)
        found.append(
            {
                "id": str(1000 + n),
                "name": draw(TEXT),
                "board_id": "5012345601",
                "group": {"id": "g", "title": draw(TEXT)},
                "columns": {
                    "status": {
                        "id": "status",
                        "type": "status",
                        "title": "Status",
                        "text": draw(STATUS),
                        "value": None,
                    },
                    "date4": {
                        "id": "date4",
                        "type": "date",
                        "title": "Due",
                        "text": due,
                        "value": {"date": due} if due else None,
                    },
                    "person": {
                        "id": "person",
                        "type": "people",
                        "title": "Owner",
                        "text": draw(st.one_of(st.none(), TEXT)),
                        "value": None,
                    },
                },
            }
        )
    return found


@st.composite
def report_data(draw: st.DrawFn) -> dict[str, Any]:
    """What reports.compose gives templates, from adversarial gathered data."""
    options = ReportOptions(
        max_items=draw(st.integers(1, 60)),
        monday_item_url=draw(
            st.sampled_from(
                [
                    None,
                    "https://acme.monday.com/boards/{board_id}/pulses/{id}",
                    "javascript:alert(1)//{id}",
                ]
            )
        ),
    )
    raw_items = draw(monday_items())
    tasks = [
        {
            "id": f"T{n}",
            "title": draw(TEXT),
            "status": draw(st.sampled_from(["todo", "in_progress", "done", "blocked"])),
            "assignee": draw(st.one_of(st.none(), TEXT)),
            "due_date": draw(DATES),
            "external_ref": f"apollo:{n}",
        }
        for n in range(draw(st.integers(0, 20)))
    ]
    items = work_items(
        raw_items, tasks, today=TODAY, options=options, tracker_ref_prefixes=["apollo:"]
    )
    found_meetings = meetings(
        [
            {
                "subject": draw(TEXT),
                "start": f"2026-11-1{n % 7}T0{n % 10}:00:00Z",
                "organizer": {"name": draw(TEXT)},
                "url": draw(st.sampled_from([None, "https://teams.example/x?a=1&b=2"])),
            }
            for n in range(draw(st.integers(0, 12)))
        ],
        today=TODAY,
    )
    found_pages = pages(
        [
            {
                "id": str(n),
                "title": draw(TEXT),
                "url": draw(
                    st.sampled_from(
                        [None, "https://wiki.example/p?x=<y>", "https://wiki.example/p/1"]
                    )
                ),
                "last_modified": draw(DATES),
                "author": draw(TEXT),
            }
            for n in range(draw(st.integers(0, 12)))
        ]
    )
    threads, count = discussions(
        [
            {
                "ts": f"{1793700000 + n}.000100",
                "user": draw(st.sampled_from(["U0123ABC", "not-an-id", None])),
                "text": draw(TEXT),
                "reply_count": draw(st.integers(0, 40)),
            }
            for n in range(draw(st.integers(0, 12)))
        ]
    )
    summary = summarize(
        items,
        today=TODAY,
        options=options,
        meeting_list=found_meetings,
        page_list=found_pages,
        discussion_list=threads,
        message_count=count,
    )
    current = Snapshot(
        project="apollo",
        today=TODAY.isoformat(),
        generated_at="2026-11-10T09:00:00+00:00",
        counts=summary.counts,
        work_items=items,
    )
    previous_items = draw(st.sampled_from([None, [], items[: len(items) // 2]]))
    previous = (
        None
        if previous_items is None
        else Snapshot(
            project="apollo",
            today="2026-11-03",
            generated_at="2026-11-03T09:00:00+00:00",
            counts=summary.counts,
            work_items=previous_items,
        )
    )
    now = datetime(2026, 11, 10, 9, tzinfo=UTC)
    project = Project(
        key="apollo",
        name=draw(TEXT) or "Apollo",
        monday_board_ids=["5012345601"],
        tracker_ref_prefixes=["apollo:"],
        confluence_space_key="APOLLO",
        outlook_mailbox=None,
        slack_channel_id="C07APOLLO1",
        settings={},
        source="shipped",
        created_at=now,
        updated_at=now,
    )
    data = ReportData(
        project=project,
        today=TODAY.isoformat(),
        generated_at=now.isoformat(),
        window=_window(TODAY, options),
        summary=summary,
        changes=changes(previous, current, cap=draw(st.integers(1, 30))),
        missing=draw(st.lists(TEXT, max_size=3)),
        run_url=draw(st.none() | st.just(RUN_URL)),
    )
    result: dict[str, Any] = msgspec.to_builtins(data)
    return result


RUN_URL = "https://dw.example.com/runs/8a1f0c52-0000-4000-8000-000000000001"
FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# Slack --------------------------------------------------------------------------------------


@FAST
@given(report_data())
def test_the_shipped_slack_report_never_breaks_slacks_limits(data: dict[str, Any]) -> None:
    """Any gathered data renders through project-status.slack within Block Kit's limits, without error."""
    output = msgspec.to_builtins(render(shipped("project-status.slack"), data))
    assert_within_slack_limits(output)


@FAST
@given(report_data())
def test_the_shipped_slack_report_escapes_what_the_data_says(data: dict[str, Any]) -> None:
    """No data can mention @channel, add a header or write raw markup into the Slack report."""
    output = msgspec.to_builtins(render(shipped("project-status.slack"), data))
    texts = [
        b["text"]["text"] for m in output["messages"] for b in m["blocks"] if b["type"] == "section"
    ]
    for text in texts:
        assert "<!channel>" not in text
        # Every < opens a link, mention or date we made; data's own are escaped.
        for match in re.finditer(r"<([^>]*)>", text):
            assert re.match(r"(https?://|mailto:|@U|!date\^)", match.group(1)), match.group(0)
    headers = [b for m in output["messages"] for b in m["blocks"] if b["type"] == "header"]
    assert len(headers) == 1


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "# Title",
                    "#",
                    "---",
                    "> context",
                    ">",
                    "",
                    "• item",
                    "&amp;",
                    "<https://x.example|a link>",
                ]
            ),
            TEXT,
            st.builds(lambda n: "# " + "h" * n, st.integers(0, 400)),
            st.builds(lambda n: "x" * n, st.integers(2990, 3010)),
            st.builds(lambda n: "&amp;" * n, st.integers(590, 610)),
            st.builds(lambda n: "🟢" * n, st.integers(1490, 1510)),
        ),
        max_size=200,
    ).map("\n".join)
)
def test_any_mrkdwn_becomes_messages_within_slacks_limits(text: str) -> None:
    """Whatever a template writes, the Block Kit messages stay within Slack's limits."""
    messages = slack_messages(text)
    output = {
        "format": "slack",
        "text": messages[0].text,
        "blocks": messages[0].blocks,
        "messages": msgspec.to_builtins(messages),
    }
    assert_within_slack_limits(output)


def test_a_long_report_continues_in_thread_replies() -> None:
    """More than 50 blocks: the first message has 50, the rest follow as replies, nothing lost."""
    template = compile_template(
        "{% for n in range(120) %}# Part {{ n }}\nText of part {{ n }}.\n\n{% endfor %}",
        format="slack",
    )
    output = msgspec.to_builtins(render(template, {}))
    assert_within_slack_limits(output)
    assert len(output["messages"]) == 5
    assert len(output["blocks"]) == 50
    headers = [
        b["text"]["text"] for m in output["messages"] for b in m["blocks"] if b["type"] == "header"
    ]
    assert headers == [f"Part {n}" for n in range(120)]
    # A message never ends with a header whose text went to the next one.
    assert all(m["blocks"][-1]["type"] == "section" for m in output["messages"])


def test_a_long_paragraph_is_split_between_lines_and_never_inside_an_escape() -> None:
    """A section over 3,000 characters splits at line breaks; a single huge line splits safely."""
    lines = [f"• line {n} " + "&amp;" * 30 for n in range(200)]
    huge = "&amp;" * 1000
    messages = slack_messages("\n".join([*lines, huge]))
    texts = [b["text"]["text"] for m in messages for b in m.blocks]
    assert all(len(t) <= MAX_SECTION_TEXT for t in texts)
    assert "".join(texts).replace("\n", "") == "".join([*lines, huge])  # nothing lost
    whole_lines = {line for t in texts for line in t.split("\n")}
    assert all(line in whole_lines for line in lines)  # no short line was cut
    for text in texts:
        assert re.sub(r"&amp;", "", text).count("&") == 0, "an escape was cut"


def test_headers_are_plain_text_and_cut_to_150_characters() -> None:
    """A header shows & and < as themselves, links by their label, and at most 150 characters."""
    template = compile_template(
        "# {{ name }} <https://x.example|site> " + "x" * 200, format="slack"
    )
    [header] = render(template, {"name": "R&D <team>"}).blocks[:1]  # type: ignore[index]
    text = header["text"]["text"]
    assert text.startswith("R&D <team> site xxx")
    assert len(text) == 150
    assert text.endswith("…")


def test_slack_escapes_data_but_keeps_links_and_dates_made_on_purpose() -> None:
    """Data's &, < and > are escaped; slack_link, slack_date and slack_mention make markup."""
    template = compile_template(
        "{{ title }} · {{ url | slack_link(title) }} · {{ day | slack_date }} · {{ who | slack_mention }} · {{ bad | slack_link('x') }}",
        format="slack",
    )
    text = template.render_text(
        {
            "title": 'Fix <b> & "quotes"',
            "url": "https://x.example/a?b=1&c=2",
            "day": "2026-11-10",
            "who": "U0123ABC",
            "bad": "javascript:alert(1)",
        }
    )
    assert text == (
        'Fix &lt;b&gt; &amp; "quotes" · <https://x.example/a?b=1&amp;c=2|Fix &lt;b&gt; &amp; "quotes"> · '
        "<!date^1794312000^{date_short_pretty}|Nov 10, 2026> · <@U0123ABC> · x"
    )


def test_data_cannot_add_headers_or_dividers() -> None:
    """A value whose lines look like structure stays inside its section."""
    template = compile_template("# Report\n{{ note }}", format="slack")
    output = render(template, {"note": "fine\n# Injected header\n---\n> small"})
    assert [b["type"] for b in output.blocks or []] == ["header", "section"]


def test_macros_are_not_escaped_twice_in_slack() -> None:
    """A macro's output is markup already: its escapes and links stay as made."""
    template = compile_template(
        "{% macro it(i) %}{{ i.url | slack_link(i.title) }} ({{ i.owner }}){% endmacro %}{{ it(x) }}",
        format="slack",
    )
    text = template.render_text(
        {"x": {"url": "https://x.example", "title": "A & B", "owner": "<C>"}}
    )
    assert text == "<https://x.example|A &amp; B> (&lt;C&gt;)"


def test_an_empty_rendering_is_still_a_valid_message() -> None:
    """A template that writes nothing gives one message Slack accepts."""
    output = msgspec.to_builtins(render(compile_template("{# nothing #}", format="slack"), {}))
    assert_within_slack_limits(output)


# Confluence and Markdown ---------------------------------------------------------------------


@FAST
@given(report_data())
def test_the_shipped_confluence_report_is_well_formed_with_data_escaped(
    data: dict[str, Any],
) -> None:
    """project-status.confluence is well-formed XHTML for any data, and shows the data as text."""
    output = msgspec.to_builtins(render(shipped("project-status.confluence"), data))
    assert output["format"] == "confluence"
    root = parse_storage(output["body"])
    assert root.find(".//script") is None
    text = "".join(root.itertext())
    for item in data["summary"]["blocked"][:20]:
        title = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", item["title"])
        # XML reads every line end as \n.
        assert title.replace("\r\n", "\n").replace("\r", "\n") in text


def test_confluence_escapes_markup_in_data() -> None:
    """A task titled with XHTML shows as text; a javascript: URL never becomes a link."""
    template = compile_template(
        '<p>{{ t }}</p>{% if u | safe_url %}<a href="{{ u | safe_url }}">x</a>{% endif %}',
        format="confluence",
    )
    body = render(
        template, {"t": "</p><script>x()</script> & \x01", "u": "javascript:alert(1)"}
    ).body
    assert body == "<p>&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt; &amp; \ufffd</p>"
    parse_storage(body or "")


def test_a_confluence_template_writing_broken_xhtml_fails_with_the_output_line() -> None:
    """Confluence would refuse the page; the render says where it is malformed."""
    template = compile_template("<p>fine</p>\n<p>broken<br></p>", format="confluence")
    with pytest.raises(TemplateRenderError, match="not well-formed XHTML at output line 2"):
        render(template, {})


@FAST
@given(report_data())
def test_the_shipped_markdown_report_renders(data: dict[str, Any]) -> None:
    """project-status.md renders any data, starting with its headline."""
    output = msgspec.to_builtins(render(shipped("project-status.md"), data))
    assert output["format"] == "markdown"
    assert output["text"].startswith("# ")
    assert "## What changed" in output["text"]


@FAST
@given(report_data())
def test_every_shipped_report_links_the_run_that_made_it(data: dict[str, Any]) -> None:
    """With the console's address known, each rendering links the run's console page
    (and says nothing of it otherwise)."""
    slack = msgspec.to_builtins(render(shipped("project-status.slack"), data))
    markdown = msgspec.to_builtins(render(shipped("project-status.md"), data))["text"]
    confluence = msgspec.to_builtins(render(shipped("project-status.confluence"), data))["body"]
    slack_text = msgspec.json.encode(slack).decode()
    linked = data["run_url"] is not None
    assert (f"<{RUN_URL}|the run>" in slack_text) is linked
    assert (f"[the run]({RUN_URL})" in markdown) is linked
    assert (f'<a href="{RUN_URL}">the run</a>' in confluence) is linked


def test_markdown_escapes_with_the_md_filters() -> None:
    """md_escape keeps data from formatting or breaking lines; md_link only links http(s)."""
    template = compile_template(
        "- {{ t | md_escape }} {{ u | md_link(t) }} {{ bad | md_link('y') }}", format="markdown"
    )
    text = render(
        template, {"t": "*a* [b]\n# c", "u": "https://x.example", "bad": "javascript:x"}
    ).text
    assert text == r"- \*a\* \[b\] # c [\*a\* \[b\] # c](https://x.example) y"


# Errors and the sandbox ------------------------------------------------------------------------


def test_a_syntax_error_names_the_line() -> None:
    """A template that does not compile is a problem of the field `source` with its line."""
    with pytest.raises(TemplateProblem) as caught:
        compile_template("line one\n{{ ok }}\n{% for x in %}\n", format="markdown")
    [error] = caught.value.errors
    assert error.field == "source"
    assert error.message.startswith("line 3: ")


def test_an_unknown_filter_is_a_compile_error() -> None:
    """A misspelt filter is caught at registration, not at the first report, and named
    with the filter probably meant."""
    with pytest.raises(TemplateProblem) as caught:
        compile_template("ok\n{{ n | plurl('x') }}", format="text")
    [error] = caught.value.errors
    assert error.message == "line 2: No filter named 'plurl'; did you mean 'plural'?"


def test_an_undefined_name_fails_the_render_with_its_line() -> None:
    """A template reading data that is not there fails, naming the template line."""
    template = compile_template("a\nb\n{{ summary.nope }}", format="text")
    with pytest.raises(TemplateRenderError) as caught:
        template.render_text({"summary": {}})
    assert caught.value.line == 3
    assert "nope" in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ 'x' * 100000000 }}",
        "{{ 9 ** 9999 }}",
        "{{ range(10**9) | list }}",
    ],
)
def test_the_sandbox_refuses_escapes_and_exhaustion(source: str) -> None:
    """Templates cannot reach Python internals or exhaust the engine's memory or CPU."""
    with pytest.raises(TemplateRenderError):
        compile_template(source, format="text").render_text({})


def test_escaping_filters_belong_to_their_format() -> None:
    """A Slack filter in a Confluence template does not compile: it would leave data unescaped."""
    with pytest.raises(TemplateProblem, match="slack_link"):
        compile_template("{{ u | slack_link(t) }}", format="confluence")
    with pytest.raises(TemplateProblem, match="md_escape"):
        compile_template("{{ t | md_escape }}", format="slack")


def test_mapping_keys_win_over_methods() -> None:
    """`summary.items` is the data's key, not dict.items."""
    assert (
        compile_template("{{ s.items | length }}", format="text").render_text(
            {"s": {"items": [1, 2]}}
        )
        == "2"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("project-status.slack", "slack"),
        ("project-status.confluence", "confluence"),
        ("project-status.md", "markdown"),
        ("weekly.html", "html"),
        ("plain", "text"),
        ("notes.txt", "text"),
    ],
)
def test_the_format_follows_the_last_dot_segment(name: str, expected: str) -> None:
    """A template's name says what it renders."""
    assert format_of(name) == expected


def test_the_report_filters() -> None:
    """plural, truncate_chars, relative_day, signed and date_fmt read well in reports."""
    source = (
        "{{ 1 | plural('item') }}|{{ 3 | plural('reply', 'replies') }}|{{ ('a  b\nc' * 3) | truncate_chars(8) }}|"
        "{{ '2026-11-11' | relative_day('2026-11-10') }}|{{ '2026-11-07' | relative_day('2026-11-10') }}|"
        "{{ 2 | signed }}|{{ -2 | signed }}|{{ '2026-11-03' | date_fmt }}|{{ 'soon' | date_fmt }}"
    )
    assert compile_template(source, format="text").render_text({}) == (
        "1 item|3 replies|a b ca…|tomorrow|3 days ago|+2|\u22122|Nov 3|soon"
    )


def test_every_shipped_template_compiles() -> None:
    """The three shipped report templates are there and valid."""
    assert set(SHIPPED) == {
        "project-status.slack",
        "project-status.confluence",
        "project-status.md",
    }
    for name in SHIPPED:
        shipped(name)
