"""A chromium page on the app, for the browser tests (the `browser` fixture is in
conftest.py)."""

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANSWER_TIMEOUT_MS = 240_000


class Page:
    """One browser session on the app, recording every request the page makes."""

    def __init__(self, browser: object, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.url = url
        self.page.goto(url, wait_until="load")
        self.page.locator("#question textarea").wait_for()

    def ask(self, question: str) -> None:
        self.page.locator("#question textarea").fill(question)
        self.page.locator("#ask").click()

    def wait_answer(self) -> str:
        self.page.locator("#sources .source-card, #sources .refused-card").first.wait_for(
            timeout=ANSWER_TIMEOUT_MS
        )
        return self.page.locator("#chat").inner_text()

    def foreign_requests(self) -> list[str]:
        return [
            u for u in self.requests if not u.startswith(self.url) and not u.startswith("data:")
        ]

    def upload(self, *paths: Path, timeout_ms: int = 120_000) -> str:
        self.page.get_by_role("tab", name="Documents").click()
        self.page.locator("#upload input[type=file]").set_input_files([str(p) for p in paths])
        self.page.locator("#add").click()
        status = self.page.locator("#doc-status")
        status.get_by_text("Indexed", exact=False).or_(
            status.get_by_text("Not indexed", exact=False)
        ).first.wait_for(timeout=timeout_ms)
        return status.inner_text()

    def new_chat(self) -> None:
        from playwright.sync_api import expect

        self.page.get_by_role("tab", name="Chat").click()
        self.page.locator("#new-chat").click()
        expect(self.page.locator("#chat .message-row")).to_have_count(0)
