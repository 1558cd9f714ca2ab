"""The browser chat end to end: a real `rag ui` process with the real model, driven by
Debian's headless chromium through playwright, and by `gradio_client`."""

import json
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from browser_page import ANSWER_TIMEOUT_MS, Page
from PIL import Image
from playwright.sync_api import expect

from rag.cli import main
from rag.evaluation.format_corpus import write_corpus

from conftest import CORPUS, UIServer, run_rag

pytestmark = pytest.mark.slow

HOSTILE = (
    "Quokka safety memo. The Quokka reactor hall was repainted in 2019. "
    '<script>window.__pwned = "script"</script> '
    '<img src="x" onerror="window.__pwned = \'img\'"> '
    "![tracker](http://203.0.113.9/pixel.png) "
    "The memo asks staff to wear blue helmets in the Quokka reactor hall.\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_file) -> Iterator[UIServer]:
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    done = run_rag("ingest", str(CORPUS), cwd=data_dir.parent, env={"RAG_DATA_DIR": str(data_dir)})
    assert done.code == 0, done.stderr
    ui = UIServer(data_dir, {"RAG_LLM__MODEL_FILE": str(model_file)})
    yield ui
    ui.stop()


@pytest.fixture
def page(browser, server) -> Iterator[Page]:
    session = Page(browser, server.url)
    yield session
    session.context.close()


def test_the_example_question_streams_an_answer_with_highlighted_sources(page, tmp_path):
    page.ask("What did the Meta spokesperson say?")
    seen: set[str] = set()
    answer = page.page.locator("#chat .bot-row").last
    deadline = time.monotonic() + ANSWER_TIMEOUT_MS / 1000
    while not page.page.locator("#sources .source-card").count():
        if answer.count():
            seen.add(answer.inner_text())
        assert time.monotonic() < deadline, "no answer"
        time.sleep(0.05)
    chat = page.wait_answer()
    assert len(seen - {"…"}) >= 2, f"the answer did not stream: {seen}"
    assert "unchanged" in chat or "releasing" in chat, chat
    assert "[" in chat and "]" in chat
    cited = page.page.locator("#sources mark.cited").first
    assert cited.is_visible()
    assert "meta-behemoth-open-source.txt" in page.page.locator("#sources").inner_text()
    shot = Path(os.environ.get("UI_SCREENSHOT_DIR", tmp_path)) / "ui-answer.png"
    page.page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert page.foreign_requests() == []


def test_an_uploaded_document_answers_a_question_only_it_can(page, tmp_path):
    doc = tmp_path / "lighthouse.txt"
    doc.write_text(
        "The Zephyr Point lighthouse was painted green in 1911, after a storm "
        "stripped its old white paint. Its keeper, Ada Morrow, chose the colour.\n",
        encoding="utf-8",
    )
    status = page.upload(doc)
    assert "1 new" in status, status
    assert "lighthouse.txt" in page.page.locator("#doc-table").inner_text()
    page.new_chat()
    page.ask("What colour was the Zephyr Point lighthouse painted in 1911?")
    chat = page.wait_answer()
    assert "green" in chat.lower(), chat
    assert "lighthouse.txt" in page.page.locator("#sources").inner_text()


def test_a_bad_upload_shows_an_error_and_changes_nothing(page, tmp_path):
    page.page.get_by_role("tab", name="Documents").click()
    table = page.page.locator("#doc-table")
    # Loaded, not pending: the listed corpus file is visible text.
    expect(table).to_contain_text(next(CORPUS.iterdir()).name, use_inner_text=True)
    before = table.inner_text()
    bad = tmp_path / "broken.txt"
    bad.write_bytes(bytes(range(256)) * 8)
    status = page.upload(bad)
    assert "Not indexed: broken.txt" in status, status
    assert page.page.get_by_text("broken.txt:", exact=False).first.is_visible()
    assert table.inner_text() == before


def test_a_hostile_document_renders_inert(page, tmp_path):
    doc = tmp_path / "quokka.txt"
    doc.write_text(HOSTILE, encoding="utf-8")
    assert "1 new" in page.upload(doc)
    page.new_chat()
    page.ask(
        'What colour helmets does the Quokka memo ask for? <img src=y onerror="window.__pwned=1">'
    )
    page.wait_answer()
    assert page.page.evaluate("window.__pwned") is None
    assert page.page.locator("img[src='x'], img[src='y'], img[src*='203.0.113.9']").count() == 0
    sources = page.page.locator("#sources").inner_text()
    assert "<script>" in sources and "![tracker]" in sources  # shown as text
    assert "<img src=y" in page.page.locator("#chat").inner_text()
    assert page.foreign_requests() == []


def test_two_sessions_keep_their_own_history(browser, server):
    first, second = Page(browser, server.url), Page(browser, server.url)
    try:
        first.ask("Who has to approve any final decision?")
        second.ask("Why did Meta delay releasing Behemoth?")
        # The model takes one question at a time: the second user sees a queue, not an error.
        second.page.locator("#chat").get_by_text("queue", exact=False).first.wait_for(
            timeout=10_000
        )
        one, two = first.wait_answer(), second.wait_answer()
        assert "final decision" in one and "delay" not in one
        assert "delay" in two and "final decision" not in two
    finally:
        first.context.close()
        second.context.close()


def test_gradio_client_gets_a_whole_answer(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    answer = client.predict("What did the Meta spokesperson say?", 3, api_name="/ask")
    assert answer["refused"] is False
    assert answer["citations"] and all(
        c["text"] and c["end"] > c["start"] for c in answer["citations"]
    )
    with pytest.raises(Exception, match="empty"):
        client.predict("   ", 3, api_name="/ask")
    with pytest.raises(Exception, match="too long"):
        client.predict("x" * 100_000, 3, api_name="/ask")
    noisy = client.predict("\x1b[1mWhat did the Meta spokesperson say?\x07", 3, api_name="/ask")
    assert noisy["question"] == "What did the Meta spokesperson say?"
    assert not noisy["refused"] and noisy["citations"]


def test_auth_rejects_wrong_credentials(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ui = UIServer(data_dir, {}, "--auth", "ada:s3cret")
    try:
        assert "login required" in "".join(ui.output)
        wrong = httpx.post(ui.url + "login", data={"username": "ada", "password": "nope"})
        right = httpx.post(ui.url + "login", data={"username": "ada", "password": "s3cret"})
        assert wrong.status_code in (400, 401) and right.status_code == 200
        assert httpx.get(ui.url + "config").status_code == 401
    finally:
        ui.stop()


def test_default_binding_is_loopback(server):
    assert server.url.startswith("http://127.0.0.1:")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.2", server.port), timeout=2).close()


CONCURRENT = {
    "What did the Meta spokesperson say?": "releasing",
    "Why did Meta delay releasing Behemoth?": "underwhelming",
    "Who has to approve any final decision?": "Zuckerberg",
    "Which rivals does Meta trail in commercializing AI breakthroughs?": "OpenAI",
    "Which open-source projects lead China's domestic AI capabilities?": "DeepSeek",
    "With which models did Meta help lead open-source AI?": "Llama",
    "What would closing up models give Meta?": "control",
    "Has Meta finished training Behemoth?": "Yes",
}


def test_eight_concurrent_sessions_each_get_their_own_answer(server):
    """Eight `gradio_client` sessions ask at once; the model takes them in turn. Each
    answer must carry its own question and the passages that question retrieves (from
    /v1/search on the same server; the whole collection on the fast path), so any
    cross-talk shows; the facts are the model's,
    which may miss one now and then (see the evaluation), so most, not all, must hold."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    def ask(question: str) -> tuple[dict, float]:
        began = time.perf_counter()
        answer = Client(server.url, verbose=False).predict(question, 3, api_name="/ask")
        return answer, time.perf_counter() - began

    began = time.perf_counter()
    with ThreadPoolExecutor(len(CONCURRENT)) as pool:
        results = list(pool.map(ask, CONCURRENT))
    wall = time.perf_counter() - began
    hits = 0
    for (question, expected), (answer, _) in zip(CONCURRENT.items(), results, strict=True):
        assert answer["question"] == question
        if answer["route"]["name"] == "passages":
            found = httpx.post(f"{server.url}v1/search", json={"query": question, "k": 3}).json()
            retrieved = [p["chunk_id"] for p in found["data"]]
            assert [p["chunk_id"] for p in answer["passages"]] == retrieved
        else:  # the fast path: every answer reads the whole collection
            assert answer["route"]["name"] == "corpus", answer["route"]
        hits += not answer["refused"] and expected in answer["answer"]
    assert hits >= 6, [a["answer"] for a, _ in results]
    latencies = sorted(seconds for _, seconds in results)
    print(
        f"\n8 concurrent sessions: {len(results) / wall:.3f} answers/s, p50 "
        f"{latencies[3]:.1f} s, p95 {latencies[-1]:.1f} s, wall {wall:.1f} s, {hits}/8 facts"
    )


def test_ask_this_document_keeps_the_chat_to_it(page, tmp_path):
    doc = tmp_path / "orchard.txt"
    doc.write_text(
        "The Hollow Creek orchard grows eleven kinds of apple on its southern slope. "
        "Its cider press, built in 1902, still runs every October. "
        "Volunteers from the village pick the fruit by hand each autumn.\n",
        encoding="utf-8",
    )
    assert "1 new" in page.upload(doc)
    page.page.locator("#doc-choice input").click()
    page.page.get_by_role("option", name="orchard.txt", exact=False).first.click()
    page.page.locator("#ask-doc").click()
    expect(page.page.locator("#question textarea")).to_be_visible()
    expect(page.page.locator("#scope")).to_contain_text("orchard.txt")
    page.ask("Summarize the document.")
    page.wait_answer()
    panel = page.page.locator("#sources")
    expect(panel.locator("#route")).to_contain_text("Read whole: orchard.txt")
    cards = panel.locator(".source-card")
    assert cards.count() >= 2  # a summary cites several sentences
    heads = [cards.nth(i).locator(".source-head").inner_text() for i in range(cards.count())]
    assert all("orchard.txt" in head for head in heads), heads


# Saved chats. The restart test stops the module's server, so these stay last.
SAVED_QUESTION = "Who still needs to approve the final decision?"


def test_a_chat_is_saved_reopens_after_a_reload_and_takes_feedback(browser, server, tmp_path):
    page = Page(browser, server.url)
    try:
        box = page.page.locator("#question textarea")
        page.ask(SAVED_QUESTION)
        # While it streams a second question cannot be sent, and the box says so.
        expect(box).to_be_disabled(timeout=10_000)
        assert "Answering" in (box.get_attribute("placeholder") or "")
        answer = page.wait_answer()
        expect(box).to_be_enabled()
        expect(page.page.locator("#chat-list")).to_contain_text(SAVED_QUESTION)

        page.page.reload(wait_until="load")
        expect(page.page.locator("#chat .message-row")).to_have_count(0)
        page.page.locator("#chat-list label", has_text=SAVED_QUESTION).click()
        expect(page.page.locator("#chat")).to_contain_text(answer.split("\n")[-1][:40])
        expect(page.page.locator("#sources .source-card").first).to_be_visible()

        page.page.locator("#chat").get_by_label("Dislike").first.click()
        page.page.locator("#feedback-note textarea").fill("should name Zuckerberg")
        page.page.locator("#feedback-save").click()
        expect(page.page.locator("#feedback-row")).to_be_hidden()
    finally:
        page.context.close()

    drafts = tmp_path / "drafts.yaml"
    env = {"RAG_DATA_DIR": str(server.data_dir)}
    done = run_rag("feedback", "export", "--eval-yaml", str(drafts), cwd=tmp_path, env=env)
    assert done.code == 0, done.stderr
    content = yaml.safe_load(drafts.read_text(encoding="utf-8"))
    [draft] = content["questions"]
    assert draft["question"] == SAVED_QUESTION and draft["note"] == "should name Zuckerberg"
    draft.update(
        reference="Meta's CEO Mark Zuckerberg.",
        facts=[["Zuckerberg"]],
        quotes=["Mark Zuckerberg still needs to approve any final decision"],
    )
    drafts.write_text(yaml.safe_dump(content), encoding="utf-8")
    out = tmp_path / "eval"
    evaluate = ["--data-dir", str(tmp_path / "eval-data"), "eval", "--questions", str(drafts)]
    assert main([*evaluate, "--retrieval-only", "--out", str(out)]) == 0
    report = json.loads(next(out.rglob("report.json")).read_text(encoding="utf-8"))
    assert report["summary"]["hit_at_3"] == 1


def test_the_evaluation_tab_runs_a_set_with_progress_and_can_cancel(browser, page, tmp_path):
    tab = page.page
    tab.get_by_role("tab", name="Evaluation").click()
    status = tab.locator("#eval-status")

    def choose(option: str) -> None:
        tab.locator("#eval-set input").click()
        tab.get_by_role("option", name=option, exact=True).click()

    bad = tmp_path / "mine.yaml"
    bad.write_text("corpus: corpus\nquestions:\n  - id: a\n    question: q\n    answerable: 3\n")
    choose("An uploaded question set")
    tab.locator("#eval-upload input[type=file]").set_input_files(str(bad))
    tab.locator("#eval-run").click()
    expect(tab.get_by_text("line 5: questions.0.answerable", exact=False).first).to_be_visible()

    choose("article")
    tab.locator("#eval-only textarea").fill("whole-summary,whole-count-rivals")
    tab.locator("#eval-run").click()
    expect(status).to_contain_text("Done: article.yaml, 2 questions", timeout=ANSWER_TIMEOUT_MS)
    expect(tab.locator("#eval-table")).to_contain_text("fact_coverage")
    expect(tab.locator("#eval-runs input")).to_have_value(re.compile(r"^article · browser-"))

    tab.locator("#eval-only textarea").fill("")  # all 54: long enough to chat, then cancel
    tab.locator("#eval-run").click()
    expect(status).to_contain_text("Answering:", timeout=ANSWER_TIMEOUT_MS)
    other = Page(browser, page.url)  # another user chats meanwhile: answered, not queued
    try:
        other.ask("Why did Meta delay releasing Behemoth?")
        # Answered and cited (which sentence is the model's, batched beside the run's).
        assert re.search(r"\[\d\]", other.wait_answer())
    finally:
        other.context.close()
    expect(status).not_to_contain_text("Done")  # the run was still going
    tab.locator("#eval-cancel").click()
    expect(status).to_contain_text("Cancelled")


def test_scans_tables_sheets_and_slides_upload_and_are_cited_by_part(page, tmp_path):
    written = write_corpus(tmp_path / "formats")
    del written["mixed"]  # a second PDF: one file of each type is enough here
    with Image.open(written["image"]) as notice:  # the other image types
        for suffix in (".jpg", ".tiff"):
            written[suffix] = written["image"].with_name(f"notice{suffix}")
            notice.save(written[suffix])
    # Five pages to OCR while the other worker runs its tests: minutes in CI, not seconds.
    status = page.upload(*written.values(), timeout_ms=420_000)
    assert f"{len(written)} new" in status, status
    listed = page.page.locator("#doc-table").inner_text()
    for path in written.values():
        assert path.name in listed
    page.new_chat()
    page.ask("How much will repainting the lighthouse cost?")
    chat = page.wait_answer()
    assert "38,000" in chat, chat
    assert "inspection-report-scan.pdf, p. 2" in page.page.locator("#sources").inner_text()


def test_saved_chats_survive_a_restart(browser, server, model_file):
    page = Page(browser, server.url)
    try:
        expect(page.page.locator("#chat-list")).to_contain_text(SAVED_QUESTION)
    finally:
        page.context.close()
    server.stop()
    again = UIServer(server.data_dir, {"RAG_LLM__MODEL_FILE": str(model_file)})
    try:
        page = Page(browser, again.url)
        expect(page.page.locator("#chat-list")).to_contain_text(SAVED_QUESTION)
        page.page.locator("#chat-list label", has_text=SAVED_QUESTION).click()
        expect(page.page.locator("#sources .source-card").first).to_be_visible()
        page.context.close()
    finally:
        again.stop()


def test_each_login_sees_only_its_own_chats(browser, tmp_path, model_file):
    from rag.answer import Answer
    from rag.chats.store import ChatStore

    data = tmp_path / "data"
    store = ChatStore(data / "chats.sqlite")
    for user in ("ann", "bob"):
        asked = f"{user.title()}'s question about Behemoth"
        answer = Answer(question=asked, standalone_question=asked, answer="Late.", refused=False)
        store.add(store.create(user, asked).id, user, answer)
    env = {"RAG_LLM__MODEL_FILE": str(model_file)}  # not assembled again for this data dir
    ui = UIServer(data, env, "--auth", "ann:pw-a", "--auth", "bob:pw-b")
    try:
        for user, other in (("ann", "Bob"), ("bob", "Ann")):
            context = browser.new_context()
            login = context.request.post(
                ui.url + "login", form={"username": user, "password": f"pw-{user[0]}"}
            )
            assert login.ok, login.status
            page = context.new_page()
            page.goto(ui.url, wait_until="load")
            side = page.locator("#chat-list")
            expect(side).to_contain_text(f"{user.title()}'s question")
            assert other not in side.inner_text()
            context.close()
    finally:
        ui.stop()
