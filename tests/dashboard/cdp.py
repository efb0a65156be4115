"""A minimal Chrome DevTools Protocol client for headless Chromium (no Selenium, no Playwright).

``Browser.launch`` starts Chromium with a throwaway profile and ``--remote-debugging-port=0``,
reads the chosen port from the profile's ``DevToolsActivePort`` file and connects to the
browser target over a websocket. ``Browser.new_page`` attaches a flattened session to a new
tab. Calls are synchronous; events are ignored, and tests poll the DOM instead.
"""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--disable-default-apps", "--mute-audio", "--remote-debugging-port=0")


class CDPError(RuntimeError):
    """A protocol error answer, or a JavaScript exception in ``Page.evaluate``."""


class Browser:
    def __init__(self, process: subprocess.Popen[bytes], url: str, timeout: float) -> None:
        self._process = process
        self._exit = ExitStack()
        self._socket: ClientConnection = connect(url, max_size=None, open_timeout=timeout)
        self._exit.enter_context(self._socket)
        self._ids = itertools.count(1)

    @classmethod
    def launch(cls, binary: str, profile: Path, timeout: float = 60.0) -> Browser:
        """Start ``binary`` with ``profile`` as its user data directory; the caller must ``close()``."""
        log = (profile.parent / "chromium.log").open("wb")
        process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                   stdout=log, stderr=subprocess.STDOUT)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            status = process.poll()
            if status is not None or time.monotonic() > deadline:
                why = f"exited with status {status}" if status is not None else f"not ready in {timeout} s"
                process.kill()
                process.wait()
                log.close()
                tail = (profile.parent / "chromium.log").read_text(errors="replace").splitlines()[-15:]
                raise RuntimeError(f"Chromium did not start ({why}); its log ends:\n" + "\n".join(tail))
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        return cls(process, f"ws://127.0.0.1:{port}{path}", timeout)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 15.0) -> dict[str, Any]:
        """Send one command and wait for its answer (skipping events); raises ``CDPError``."""
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            answer = json.loads(self._socket.recv(timeout=max(0.01, deadline - time.monotonic())))
            if answer.get("id") != message_id:
                continue
            if "error" in answer:
                raise CDPError(f"{method}: {answer['error']}")
            result: dict[str, Any] = answer.get("result", {})
            return result

    def new_page(self, width: int = 1440, height: int = 1000) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, width, height)
        page.call("Page.enable")
        page.resize(width, height)
        return page

    def close(self) -> None:
        with suppress(CDPError, ConnectionClosed, OSError, TimeoutError):
            self.send("Browser.close", timeout=5)
        self._exit.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)


class Page:
    def __init__(self, browser: Browser, session: str, width: int, height: int) -> None:
        self._browser = browser
        self._session = session
        self.width, self.height = width, height

    def resize(self, width: int, height: int) -> None:
        """Lay the page out in a ``width`` x ``height`` CSS pixel viewport."""
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._browser.send(method, params, self._session)

    def goto(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete' && location.href === " + json.dumps(url))

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` (promises awaited); raises ``CDPError`` on a JS exception."""
        answer = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise CDPError(details.get("exception", {}).get("description") or details.get("text"))
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0) -> Any:
        """Poll until ``expression`` is truthy; returns its value or raises ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except CDPError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for: {expression}")
            time.sleep(0.05)

    def press(self, key: str, code: str, key_code: int, text: str | None = None) -> None:
        """A real key press (down and up) on the focused element; ``text`` is what it
        types (``"\\r"`` for Enter, so that it submits forms)."""
        params: dict[str, Any] = {"key": key, "code": code, "windowsVirtualKeyCode": key_code}
        self.call("Input.dispatchKeyEvent", {"type": "keyDown", **params, **({"text": text} if text else {})})
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", **params})

    def type_text(self, text: str) -> None:
        self.call("Input.insertText", {"text": text})

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """Write a PNG of the viewport, or of the whole page laid out at the viewport's width
        (the viewport grown to the page's height for the capture, then restored)."""
        if full_page:
            self.resize(self.width, max(self.height, int(self.evaluate("document.documentElement.scrollHeight"))))
            self.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        try:
            data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        finally:
            if full_page:
                self.resize(self.width, self.height)
        path.write_bytes(base64.b64decode(data))
        return path
