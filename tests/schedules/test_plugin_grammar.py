"""A plugin adds a third grammar through ``abaco_parse_schedule``; the first claim wins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from abaco_core import hookimpl
from abaco_core.builtin.cron_abaco import AbacoSchedule
from abaco_core.builtin.cron_standard import CronSchedule
from abaco_core.errors import InvalidSchedule, PluginError
from abaco_core.plugins import build_plugin_manager
from abaco_core.schedules import Schedule, as_utc, parse_schedule

NOW = datetime(2024, 5, 1, 13, 27, 12, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EverySchedule(Schedule):
    """Every N minutes, on multiples of N since the epoch."""

    grammar = "every"

    def __init__(self, expression: str, minutes: int) -> None:
        super().__init__(expression)
        self.step = timedelta(minutes=minutes)

    def last_at_or_before(self, t: datetime) -> datetime:
        t = as_utc(t)
        return t - (t - EPOCH) % self.step

    def next_after(self, t: datetime) -> datetime:
        return self.last_at_or_before(t) + self.step


class EveryGrammar:
    """Claims ``@every <N>m``."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    def abaco_parse_schedule(self, expression: str, timezone: str | None) -> EverySchedule | None:
        self.asked.append(expression)
        match = re.fullmatch(r"@every ([1-9][0-9]*)m", expression.strip())
        return EverySchedule(expression, int(match[1])) if match else None


class Greedy:
    """Claims every string: shows who is asked before whom."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    @hookimpl
    def abaco_parse_schedule(self, expression: str, timezone: str | None) -> EverySchedule:
        self.log.append(self.name)
        return EverySchedule(f"{self.name}:{expression}", 1)


def test_without_the_plugin_the_string_is_refused(pm):
    with pytest.raises(InvalidSchedule, match="The cron is not in the correct format"):
        parse_schedule(pm, "@every 5m", None, NOW)


def test_a_plugin_adds_a_grammar():
    grammar = EveryGrammar()
    pm = build_plugin_manager(load_entrypoints=False, extra=[grammar])
    schedule = parse_schedule(pm, "@every 5m", None, NOW)
    assert isinstance(schedule, EverySchedule) and schedule.grammar == "every"
    assert schedule.upcoming(NOW, 3) == [datetime(2024, 5, 1, 13, m, tzinfo=UTC) for m in (30, 35, 40)]
    assert schedule.display_next(schedule.first_slot(NOW)) == "2024-05-01T13:30:00.000Z"
    due = schedule.due_from(datetime(2024, 5, 1, 13, 30, tzinfo=UTC), datetime(2024, 5, 1, 14, 2, tzinfo=UTC))
    assert (due.fire, due.next) == (
        datetime(2024, 5, 1, 14, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 14, 5, tzinfo=UTC),
    )
    # the built-in grammars still claim their own strings, Abaco's before the plugin is asked
    assert isinstance(parse_schedule(pm, "now + 1 hour", None, NOW), AbacoSchedule)
    assert isinstance(parse_schedule(pm, "@hourly", None, NOW), CronSchedule)
    assert grammar.asked == ["@every 5m", "@hourly"]
    with pytest.raises(InvalidSchedule):
        parse_schedule(pm, "@every 0m", None, NOW)


def test_first_claim_wins_in_pluggy_order():
    log: list[str] = []
    pm = build_plugin_manager(load_entrypoints=False, extra=[Greedy("early", log), Greedy("late", log)])
    # Abaco's grammar is tried first and claims its strings before any plugin is asked
    assert isinstance(parse_schedule(pm, "now + 1 hour", None, NOW), AbacoSchedule) and log == []
    # plugins come next, the last registered first; standard cron, tried last, never sees it
    assert parse_schedule(pm, "@hourly", None, NOW).expression == "late:@hourly"
    assert log == ["late"]
    # a refusal by the first grammar is final
    with pytest.raises(InvalidSchedule, match="fortnight is an invalid unit of time"):
        parse_schedule(pm, "now + 1 fortnight", None, NOW)
    assert log == ["late"]


def test_a_passing_plugin_lets_the_next_grammar_claim():
    grammar = EveryGrammar()
    pm = build_plugin_manager(load_entrypoints=False, extra=[grammar])
    assert isinstance(parse_schedule(pm.hook, "*/5 * * * *", "Europe/Paris", NOW), CronSchedule)
    assert grammar.asked == ["*/5 * * * *"]


class Broken:
    def __init__(self, result=None, error: Exception | None = None) -> None:
        self.result, self.error = result, error

    @hookimpl
    def abaco_parse_schedule(self, expression: str, timezone: str | None):
        if self.error:
            raise self.error
        return self.result


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (
            Broken(error=ZeroDivisionError("oops")),
            "a schedule grammar plugin failed: ZeroDivisionError('oops')",
        ),
        (Broken(result="not a schedule"), "a schedule grammar returned str, not an abaco Schedule"),
    ],
)
def test_a_misbehaving_grammar_plugin_is_a_plugin_error(plugin, message):
    pm = build_plugin_manager(load_entrypoints=False, extra=[plugin])
    with pytest.raises(PluginError) as caught:
        parse_schedule(pm, "@every 5m", None, NOW)
    assert str(caught.value) == message


def test_only_the_standard_grammar_imports_croniter():
    core = Path(__file__).resolve().parents[2] / "abaco_core"
    importers = sorted(
        str(path.relative_to(core))
        for path in core.rglob("*.py")
        if re.search(r"^\s*(from|import) croniter", path.read_text(), re.MULTILINE)
    )
    assert importers == ["builtin/cron_standard.py"]
