"""Settings precedence and errors: defaults < keepgreen.toml < KEEPGREEN_* < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepgreen.settings import SITE_FILE, Settings, SettingsError, describe, load

NO_ENV: dict[str, str] = {}


def site_with(tmp_path: Path, text: str | None = None) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    if text is not None:
        (site / SITE_FILE).write_text(text)
    return site


def test_defaults_without_site_file_environment_or_flags(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    settings = load(site, environ=NO_ENV)
    assert settings == Settings(site=site)
    assert settings.listen == "127.0.0.1:8080"
    assert settings.anonymous_read is True
    assert settings.max_push_bytes == 512 * 1024 * 1024
    assert settings.log_level == "info"
    assert settings.base_url == "http://127.0.0.1:8080/"


def test_database_url_defaults_to_sqlite_in_the_site_folder(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    settings = load(site, environ=NO_ENV)
    assert settings.database == ""
    assert settings.database_url == f"sqlite:///{(site / 'keepgreen.db').resolve()}"


def test_database_url_is_the_database_setting_when_given(tmp_path: Path) -> None:
    url = "postgresql+psycopg://kg@db.example.org/keepgreen"
    settings = load(site_with(tmp_path), environ={"KEEPGREEN_DATABASE": url})
    assert settings.database_url == url


def test_site_file_overrides_defaults(tmp_path: Path) -> None:
    site = site_with(tmp_path, 'listen = "0.0.0.0:9000"\nanonymous_read = false\n'
                               'max_push_bytes = 1024\nlog-level = "debug"\n')
    settings = load(site, environ=NO_ENV)
    assert settings.listen == "0.0.0.0:9000"
    assert settings.anonymous_read is False
    assert settings.max_push_bytes == 1024
    assert settings.log_level == "debug"  # dashed keys name the same setting
    assert settings.base_url == "http://127.0.0.1:9000/"  # a wildcard host is not a URL


def test_environment_overrides_site_file(tmp_path: Path) -> None:
    site = site_with(tmp_path, 'listen = "0.0.0.0:9000"\nanonymous_read = false\n'
                               'canonical_url = "https://from-file.example.org"\n')
    settings = load(site, environ={"KEEPGREEN_LISTEN": "127.0.0.1:9100",
                                   "KEEPGREEN_ANONYMOUS_READ": "yes",
                                   "KEEPGREEN_MAX_PUSH_BYTES": "2048"})
    assert settings.listen == "127.0.0.1:9100"
    assert settings.anonymous_read is True
    assert settings.max_push_bytes == 2048
    # Not overridden: the site file still counts.
    assert settings.canonical_url == "https://from-file.example.org"
    assert settings.base_url == "https://from-file.example.org/"


def test_flags_override_environment_and_site_file(tmp_path: Path) -> None:
    site = site_with(tmp_path, 'listen = "0.0.0.0:9000"\nlog_level = "warning"\n')
    settings = load(site, environ={"KEEPGREEN_LISTEN": "127.0.0.1:9100",
                                   "KEEPGREEN_LOG_LEVEL": "error"},
                    flags={"listen": "127.0.0.1:9200", "log_level": None,
                           "anonymous_read": False})
    assert settings.listen == "127.0.0.1:9200"
    assert settings.log_level == "error"  # a flag left unset (None) does not override
    assert settings.anonymous_read is False


def test_the_site_cannot_be_moved_by_the_environment(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    settings = load(site, environ={"KEEPGREEN_SITE": str(tmp_path / "elsewhere")})
    assert settings.site == site


def test_unrelated_environment_variables_are_ignored(tmp_path: Path) -> None:
    settings = load(site_with(tmp_path), environ={"KEEPGREEN_NOT_A_SETTING": "1",
                                                  "LISTEN": "nonsense"})
    assert settings.listen == "127.0.0.1:8080"


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("true", True), ("Yes", True), ("ON", True), (" true ", True),
    ("0", False), ("false", False), ("no", False), ("off", False)])
def test_boolean_spellings_in_the_environment(tmp_path: Path, raw: str, expected: bool) -> None:
    settings = load(site_with(tmp_path), environ={"KEEPGREEN_ANONYMOUS_READ": raw})
    assert settings.anonymous_read is expected


# --- bad values name the setting and where it came from -------------------------------------


def test_non_boolean_anonymous_read_in_the_site_file(tmp_path: Path) -> None:
    site = site_with(tmp_path, 'anonymous_read = "maybe"\n')
    with pytest.raises(SettingsError) as excinfo:
        load(site, environ=NO_ENV)
    text = str(excinfo.value)
    assert "anonymous_read" in text
    assert str(site / SITE_FILE) in text
    assert "'maybe'" in text


def test_non_boolean_anonymous_read_in_the_environment(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load(site_with(tmp_path), environ={"KEEPGREEN_ANONYMOUS_READ": "sometimes"})
    text = str(excinfo.value)
    assert "anonymous_read" in text
    assert "KEEPGREEN_ANONYMOUS_READ" in text
    assert "true or false" in text


def test_non_boolean_anonymous_read_flag(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load(site_with(tmp_path), environ=NO_ENV, flags={"anonymous_read": "perhaps"})
    assert "--anonymous-read" in str(excinfo.value)
    assert "anonymous_read" in str(excinfo.value)


def test_a_non_number_for_max_push_bytes(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load(site_with(tmp_path), environ={"KEEPGREEN_MAX_PUSH_BYTES": "lots"})
    assert "max_push_bytes" in str(excinfo.value)
    assert "KEEPGREEN_MAX_PUSH_BYTES" in str(excinfo.value)


def _bad_listen(tmp_path: Path, listen: str, source: str) -> SettingsError:
    """Load settings with ``listen`` coming from ``source``; return the error raised."""
    site = site_with(tmp_path, f'listen = "{listen}"\n' if source == SITE_FILE else None)
    environ = {"KEEPGREEN_LISTEN": listen} if source == "KEEPGREEN_LISTEN" else {}
    flags = {"listen": listen} if source == "--listen" else {}
    with pytest.raises(SettingsError) as excinfo:
        load(site, environ=environ, flags=flags)
    return excinfo.value


@pytest.mark.parametrize("listen", ["localhost", "127.0.0.1:", "127.0.0.1:http",
                                    "127.0.0.1:0", "127.0.0.1:70000"])
def test_listen_without_a_usable_port_is_refused_with_an_example(
        tmp_path: Path, listen: str) -> None:
    text = str(_bad_listen(tmp_path, listen, "KEEPGREEN_LISTEN"))
    assert "listen" in text
    assert "HOST:PORT" in text
    assert repr(listen) in text


@pytest.mark.parametrize("source", [SITE_FILE, "KEEPGREEN_LISTEN", "--listen"])
def test_listen_without_port_names_where_the_value_came_from(
        tmp_path: Path, source: str) -> None:
    # Every other bad value names its source (file path, variable or flag); so must this one,
    # or an operator cannot tell which of the three layers to fix.
    text = str(_bad_listen(tmp_path, "localhost", source))
    assert source in text, f"the error should say where the bad value came from: {text}"


@pytest.mark.parametrize("key", ["listne", "site", "database_url"])
def test_an_unknown_key_in_the_site_file(tmp_path: Path, key: str) -> None:
    site = site_with(tmp_path, f'{key} = "x"\n')
    with pytest.raises(SettingsError) as excinfo:
        load(site, environ=NO_ENV)
    text = str(excinfo.value)
    assert "unknown setting" in text
    assert repr(key) in text
    assert str(site / SITE_FILE) in text


def test_invalid_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    site = site_with(tmp_path, 'listen = "127.0.0.1:8080"\nanonymous_read = \n')
    with pytest.raises(SettingsError) as excinfo:
        load(site, environ=NO_ENV)
    text = str(excinfo.value)
    assert str(site / SITE_FILE) in text
    assert "line 2" in text


def test_settings_errors_are_value_errors_with_one_sentence() -> None:
    assert issubclass(SettingsError, ValueError)


def test_every_setting_is_described() -> None:
    rows = describe()
    names = [name for name, _, _ in rows]
    assert names == ["site", "listen", "database", "canonical_url", "anonymous_read",
                     "max_push_bytes", "max_request_bytes", "login_max_failures",
                     "login_max_failures_per_address",
                     "login_failure_window", "webhook_private_addresses",
                     "submit_whole_topic", "log_level",
                     "run_jobs", "run_scheduler", "nodes_min_ready",
                     "nodes_max_servers", "node_memory_limit", "node_cpu_limit",
                     "node_disk_limit", "local_executor", "executor_capacity",
                     "executor_lease_seconds", "launcher_providers",
                     "launcher_lease_seconds", "executor_fetch_url", "executor_username",
                     "executor_password", "ssh_listen"]
    for name, default, help_text in rows:
        assert help_text, f"setting {name} has no help text"
        assert default


def test_a_fetching_executor_needs_an_http_url_and_an_account(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="must be an http:// or https:// URL"):
        load(tmp_path, environ={"KEEPGREEN_EXECUTOR_FETCH_URL": "/srv/keepgreen"})
    with pytest.raises(SettingsError, match="executor_username is not"):
        load(tmp_path, environ={"KEEPGREEN_EXECUTOR_FETCH_URL": "http://review:8080/"})
    found = load(tmp_path, environ={"KEEPGREEN_EXECUTOR_FETCH_URL": "http://review:8080/",
                                    "KEEPGREEN_EXECUTOR_USERNAME": "exec",
                                    "KEEPGREEN_LAUNCHER_PROVIDERS": "local, cloud,"})
    assert found.executor_username == "exec"
    assert found.served_providers == {"local", "cloud"}
    assert load(tmp_path, environ={}).served_providers is None


# --- relative paths: fixed once, against the folder they were given in ----------------------


def test_a_relative_site_is_made_absolute(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # git runs the proc-receive hook from inside a repository: a relative hooks path under
    # a relative site would point nowhere there.
    site_with(tmp_path)
    monkeypatch.chdir(tmp_path)
    settings = load(Path("site"), environ=NO_ENV)
    assert settings.site == tmp_path / "site"
    assert settings.site.is_absolute()
    assert Settings(site=Path("site")).site == tmp_path / "site"
    monkeypatch.chdir("/")
    assert settings.database_url == f"sqlite:///{tmp_path / 'site' / 'keepgreen.db'}"


@pytest.mark.parametrize("source", ["--database", "KEEPGREEN_DATABASE"])
def test_a_relative_sqlite_file_given_to_a_command_is_taken_from_its_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    site = site_with(tmp_path)
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    url = "sqlite:///data/store.db?timeout=5"
    settings = load(site, environ={"KEEPGREEN_DATABASE": url} if source != "--database" else {},
                    flags={"database": url} if source == "--database" else {})
    assert settings.database_url == f"sqlite:///{tmp_path / 'here' / 'data' / 'store.db'}?timeout=5"


def test_a_relative_sqlite_file_in_the_site_file_lives_in_the_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = site_with(tmp_path, 'database = "sqlite:///store.db"\n')
    monkeypatch.chdir("/")
    assert load(site, environ=NO_ENV).database_url == f"sqlite:///{site / 'store.db'}"


@pytest.mark.parametrize("url", ["sqlite:////srv/kg/store.db", "sqlite://",
                                 "sqlite:///:memory:",
                                 "postgresql+psycopg://kg@db.example.org/keepgreen",
                                 "nosuchdb://x"])
def test_other_database_urls_are_kept_as_given(tmp_path: Path, url: str) -> None:
    assert load(site_with(tmp_path), environ=NO_ENV, flags={"database": url}).database == url


def test_every_setting_is_in_the_readme_settings_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    missing = [name for name, _, _ in describe() if name != "site" and name not in documented]
    assert missing == [], f"settings missing from README's settings table: {missing}"


def test_the_ssh_port_follows_listen_unless_set_or_turned_off(tmp_path: Path) -> None:
    site = site_with(tmp_path, 'listen = "0.0.0.0:9000"\n')
    assert load(site, environ=NO_ENV).ssh_address == ("0.0.0.0", 29418)
    moved = load(site, environ={"KEEPGREEN_SSH_LISTEN": "127.0.0.1:2222"})
    assert moved.ssh_address == ("127.0.0.1", 2222)
    assert load(site, environ={"KEEPGREEN_SSH_LISTEN": "off"}).ssh_address is None
    assert load(site, environ=NO_ENV, flags={"ssh_listen": "OFF"}).ssh_address is None


@pytest.mark.parametrize("value", ["29418", "127.0.0.1:", "127.0.0.1:ssh", "127.0.0.1:0"])
def test_an_ssh_listen_without_a_usable_port_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load(site_with(tmp_path), environ={"KEEPGREEN_SSH_LISTEN": value})
    text = str(excinfo.value)
    assert "ssh_listen must be HOST:PORT" in text and "off" in text
    assert "KEEPGREEN_SSH_LISTEN" in text and repr(value) in text
