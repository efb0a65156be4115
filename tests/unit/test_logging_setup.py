"""``gateway.log_setup``: the JSON formatter, the dictConfig mapping, and ``configure_logging``
(run in a child process, since it configures the process's logging)."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from typing import Any

import orjson
import pytest

from gateway.log_setup import JsonFormatter, configure_logging, logging_config, uvicorn_log_options
from gateway.logging import install_redaction


def record(msg: str, args: Any = None) -> logging.LogRecord:
    return logging.getLogger("gateway.test").makeRecord("gateway.test", logging.WARNING, __file__, 1, msg, args,
                                                        None)


def test_json_lines_carry_the_core_keys_and_the_mapping_fields() -> None:
    line = JsonFormatter().format(record("%(method)s %(status)d took %(ms).1fms", {"method": "GET", "status": 200,
                                                                                "ms": 1.25, "level": "spoofed"}))
    assert "\n" not in line
    entry = orjson.loads(line)
    assert list(entry)[:4] == ["timestamp", "level", "logger", "message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["timestamp"])
    assert (entry["level"], entry["logger"], entry["message"]) == ("WARNING", "gateway.test", "GET 200 took 1.2ms")
    assert (entry["method"], entry["status"], entry["ms"]) == ("GET", 200, 1.25)


def test_json_lines_keep_exceptions_and_odd_values_on_one_line() -> None:
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        made = logging.getLogger("gateway.test").makeRecord("gateway.test", logging.ERROR, __file__, 1,
                                                            "failed %(what)s", ({"what": object, "big": 2**70},),
                                                            sys.exc_info())
    line = JsonFormatter().format(made)
    assert "\n" not in line
    entry = orjson.loads(line)
    assert entry["message"] == "failed <class 'object'>" and entry["big"] == 2**70
    assert entry["exception"].startswith("Traceback") and "ValueError: first\nsecond" in entry["exception"]


def test_plain_arguments_add_no_fields() -> None:
    entry = orjson.loads(JsonFormatter().format(record("%s and %s", ("a", "b"))))
    assert set(entry) == {"timestamp", "level", "logger", "message"} and entry["message"] == "a and b"


def test_redaction_reaches_json_fields(caplog: pytest.LogCaptureFixture) -> None:
    uninstall = install_redaction(lambda: ["provider-secret-value"])
    try:
        with caplog.at_level(logging.INFO, logger="gateway.test"):
            logging.getLogger("gateway.test").info("cause=%(cause)s id=%(request_id)s", {
                "cause": "HTTP 401 from upstream: bad key provider-secret-value", "request_id": "gw-abcdefgh"})
    finally:
        uninstall()
    entry = orjson.loads(JsonFormatter().format(caplog.records[-1]))
    assert entry["cause"] == "HTTP 401 from upstream: bad key ***" and entry["request_id"] == "gw-***"
    assert "provider-secret-value" not in orjson.dumps(entry).decode() and "abcdefgh" not in entry["message"]


def test_logging_config_levels_and_handlers() -> None:
    config = logging_config("DEBUG", "json")
    loggers = config["loggers"]
    assert loggers["gateway"]["level"] == logging.DEBUG and loggers["uvicorn"]["level"] == logging.DEBUG
    assert config["root"]["level"] == logging.INFO, "other libraries do not log at debug"
    assert loggers["httpx"]["level"] == loggers["httpcore"]["level"] == logging.WARNING
    assert loggers["uvicorn.access"] == {"handlers": [], "propagate": False}
    assert config["formatters"]["gateway"] == {"()": "gateway.log_setup.JsonFormatter"}
    assert config["disable_existing_loggers"] is False
    quiet = logging_config("warning", "text")
    assert quiet["root"]["level"] == quiet["loggers"]["gateway"]["level"] == logging.WARNING
    assert "()" not in quiet["formatters"]["gateway"]
    with pytest.raises(ValueError, match="log level must be one of"):
        logging_config("verbose")
    with pytest.raises(ValueError, match="got 'info' and 'xml'"):
        logging_config("info", "xml")
    options = uvicorn_log_options("trace", "text")
    assert options["access_log"] is False and options["log_level"] == 5
    assert options["log_config"] == logging_config("trace", "text")


def test_configure_logging_leaves_an_existing_set_up_alone() -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level, logging.getLogger("gateway").level)
    configure_logging("debug", "json")
    assert (list(root.handlers), root.level, logging.getLogger("gateway").level) == before


CHILD = """
import logging, sys
from gateway.log_setup import configure_logging
configure_logging(sys.argv[1], sys.argv[2])
logging.getLogger("gateway.service").debug("gateway debug line")
logging.getLogger("gateway.access").info("access %(status)d", {"status": 200})
logging.getLogger("uvicorn.error").info("uvicorn line")
logging.getLogger("uvicorn.access").info("uvicorn access line")
logging.getLogger("httpx").info("HTTP Request: GET https://example.invalid")
logging.getLogger("somelib").debug("library debug line")
logging.getLogger("somelib").info("library info line")
"""


def child_lines(level: str, log_format: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", CHILD, level, log_format], capture_output=True, timeout=60,
                          check=True)
    assert done.stdout == b""
    return done.stderr.decode().splitlines()


def test_debug_in_json_shows_the_gateway_debug_lines_as_json() -> None:
    entries = [orjson.loads(line) for line in child_lines("debug", "json")]
    assert [(e["logger"], e["level"], e["message"]) for e in entries] == [
        ("gateway.service", "DEBUG", "gateway debug line"), ("gateway.access", "INFO", "access 200"),
        ("uvicorn.error", "INFO", "uvicorn line"), ("somelib", "INFO", "library info line")]
    assert entries[1]["status"] == 200


def test_info_in_text_hides_debug_lines() -> None:
    lines = child_lines("info", "text")
    assert [line.split(" ", 2)[2] for line in lines] == [
        "INFO gateway.access: access 200", "INFO uvicorn.error: uvicorn line", "INFO somelib: library info line"]
    assert child_lines("warning", "text") == []
