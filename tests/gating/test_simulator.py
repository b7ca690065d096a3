"""``keepgreen simulate``: a synthetic day through the real gate core, next to a serial gate."""

from __future__ import annotations

import statistics

import pytest

from keepgreen.simulator import Settings, main, simulate, synthetic_day

ISSUE_INPUT = Settings(changes=200, job_minutes=30, fail_rate=0.1, nodes=40)


def test_one_node_and_window_one_is_a_serial_gate() -> None:
    # Without early failure; with it the serial gate drops a bad change at its failure point
    # while the core reports a failing head only when its job ends (next test).
    for fail_rate in (0.0, 0.2):
        report = simulate(Settings(changes=30, fail_rate=fail_rate, nodes=1, window=1, seed=3,
                                   early_failure=False, retry=False))
        spec, serial = report.speculative, report.serial
        assert (spec.merged, spec.rejected) == (serial.merged, serial.rejected)
        for field in ("median_minutes", "p95_minutes", "node_hours", "merges_per_hour"):
            assert getattr(spec, field) == pytest.approx(getattr(serial, field)), field


def test_with_early_failure_one_node_and_window_one_is_no_faster_than_serial() -> None:
    report = simulate(Settings(changes=30, fail_rate=0.2, nodes=1, window=1, seed=3,
                               retry=False))
    spec, serial = report.speculative, report.serial
    assert (spec.merged, spec.rejected) == (serial.merged, serial.rejected)
    assert spec.merges_per_hour <= serial.merges_per_hour
    assert spec.node_hours > serial.node_hours  # a failing head still runs its whole job


def test_early_failure_draws_failure_points_without_changing_the_day() -> None:
    on, off = (synthetic_day(Settings(changes=80, fail_rate=0.3, seed=4, early_failure=flag))
               for flag in (True, False))
    assert [(c.approved_at, c.bad, c.minutes) for c in on] == [
        (c.approved_at, c.bad, c.minutes) for c in off]
    assert all(c.fail_at == 1.0 for c in off)
    assert all(c.fail_at == 1.0 for c in on if not c.bad)
    assert all(0.0 <= c.fail_at < 1.0 for c in on if c.bad)
    assert len({c.fail_at for c in on if c.bad}) > 1


def test_early_failure_shortens_the_issue_day() -> None:
    on = simulate(ISSUE_INPUT)
    off = simulate(Settings(**{**ISSUE_INPUT.__dict__, "early_failure": False}))
    assert (on.speculative.merged, on.speculative.rejected) == (
        off.speculative.merged, off.speculative.rejected)
    assert on.speculative.span_hours < off.speculative.span_hours
    assert on.serial.span_hours < off.serial.span_hours


def test_without_failures_every_change_merges_about_one_job_after_approval() -> None:
    report = simulate(Settings(changes=100, job_minutes=30, fail_rate=0.0, nodes=100, seed=1))
    assert report.speculative.merged == 100
    assert report.speculative.rejected == 0
    # A change waits for its own job, and at most for a slower job of a change ahead.
    assert 30 * 0.8 <= report.speculative.median_minutes <= 30 * 1.25
    # Each change's job ran exactly once: the same node time as the serial gate.
    assert report.speculative.node_hours == pytest.approx(report.serial.node_hours)


def test_bad_changes_are_rejected_and_the_rest_merge() -> None:
    settings = Settings(changes=60, fail_rate=0.2, nodes=40, seed=5)
    bad = sum(change.bad for change in synthetic_day(settings))
    report = simulate(settings)
    assert report.speculative.rejected == bad
    assert report.speculative.merged == 60 - bad


def test_the_seeds_gate_beats_serial_ten_times_over_a_range_of_seeds() -> None:
    # Window 20 with floor 15 (the seed's gate); Zuul's default floor 3 gives a median of 8x.
    speedups = [simulate(Settings(**{**ISSUE_INPUT.__dict__, "seed": seed})).speedup
                for seed in range(10)]
    assert statistics.median(speedups) >= 10.0, speedups


def test_a_low_window_floor_is_slower_on_the_issue_day() -> None:
    narrow = simulate(Settings(**{**ISSUE_INPUT.__dict__, "window_floor": 3}))
    assert narrow.speedup < simulate(ISSUE_INPUT).speedup
    assert narrow.speedup >= 5.0


def test_with_flaky_builds_the_retry_keeps_good_changes_in_the_gate() -> None:
    good = ejected_with = ejected_without = 0
    for seed in range(3):
        flaky = Settings(**{**ISSUE_INPUT.__dict__, "seed": seed, "flake_rate": 0.05})
        with_retry = simulate(flaky)
        without = simulate(Settings(**{**flaky.__dict__, "retry": False}))
        good += with_retry.serial.merged
        ejected_with += with_retry.speculative.good_ejected
        ejected_without += without.speculative.good_ejected
        assert with_retry.speculative.retries > 0
        assert without.speculative.retries == 0
    assert ejected_with < 0.01 * good
    assert ejected_without > 0.02 * good  # about one in twenty without the second try


def test_a_retry_started_at_the_early_failure_saves_node_hours() -> None:
    """Stopping a first try at its failure and starting the second at once (what the
    scheduler does) costs fewer node-hours over several days than waiting for the first
    try's job to end, and decides the same changes."""
    early_hours = late_hours = 0.0
    for seed in range(4):
        day = Settings(**{**ISSUE_INPUT.__dict__, "seed": seed})
        early, late = simulate(day), simulate(Settings(**{**day.__dict__,
                                                          "retry_early": False}))
        assert early.speculative.retries > 0 and late.speculative.retries > 0
        assert (early.speculative.merged, early.speculative.rejected) == (
            late.speculative.merged, late.speculative.rejected)
        early_hours += early.speculative.node_hours
        late_hours += late.speculative.node_hours
    assert early_hours < late_hours


def test_without_flakes_no_good_change_is_ejected() -> None:
    report = simulate(Settings(changes=60, fail_rate=0.2, nodes=40, seed=5))
    assert report.speculative.good_ejected == 0


def test_same_seed_same_output_and_another_seed_differs() -> None:
    settings = Settings(changes=80, seed=7)
    first, again = simulate(settings), simulate(settings)
    assert first == again
    assert first.table() == again.table()
    assert simulate(Settings(changes=80, seed=8)).table() != first.table()


def test_main_parses_the_issue_command_line() -> None:
    report = main(["--changes", "20", "--job-minutes", "10", "--fail-rate", "0",
                   "--nodes", "5", "--seed", "2", "--window", "4"])
    assert report.settings == Settings(changes=20, job_minutes=10, fail_rate=0, nodes=5,
                                       seed=2, window=4)
    assert "speedup (merges per hour)" in report.table()
    assert "early failure on" in report.table()
    flaky = main(["--changes", "5", "--flake-rate", "0.05", "--no-retry", "--hold-early",
                  "--window-floor", "3"]).settings
    assert (flaky.flake_rate, flaky.retry, flaky.hold_early, flaky.window_floor) == (
        0.05, False, True, 3)
    assert not main(["--changes", "5", "--no-early-failure"]).settings.early_failure
    assert not main(["--changes", "5", "--retry-at-end"]).settings.retry_early


def test_bad_option_is_a_sentence_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--fail-rate", "1.5"])
    assert "--fail-rate is 1.5; use a fraction from 0 to 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--flake-rate", "1"])
    assert "--flake-rate is 1.0; use a fraction from 0 to below 1" in capsys.readouterr().err


def test_the_keepgreen_simulate_command_takes_the_flake_options() -> None:
    from click.testing import CliRunner

    from keepgreen.cli import main as cli

    result = CliRunner().invoke(cli, ["simulate", "--changes", "20", "--flake-rate", "0.1",
                                      "--no-retry", "--window-floor", "3"])
    assert result.exit_code == 0, result.output
    assert "flake rate 0.1, retry off" in result.output
    assert "(floor 3)" in result.output
    bad = CliRunner().invoke(cli, ["simulate", "--flake-rate", "2"])
    assert bad.exit_code != 0
    assert "--flake-rate is 2.0; use a fraction from 0 to below 1" in bad.output
    assert "Traceback" not in bad.output
