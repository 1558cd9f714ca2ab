"""The chat store: saved chats per user, search, feedback, migrations, exports and the
`rag chats` / `rag feedback` commands."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from rag.answer import Answer, Citation
from rag.chats.export import to_markdown
from rag.chats.store import ChatStore, ChatStoreError, MissingChat, head
from rag.cli import main
from rag.evaluation.questions import load_question_set
from rag.retrieval import Passage

FIXTURE = Path(__file__).parent / "fixtures" / "chats-0001.sqlite"
QUOTE = "\u201cWe plan to continue releasing leading open source models,\u201d"
SENTENCE = QUOTE + " a Meta spokesperson said."


def answer(question: str, text: str = "They plan to continue releasing open models. [1]") -> Answer:
    cited = Citation(
        chunk_id="c1",
        source="/docs/meta.txt",
        name="meta.txt",
        title="meta",
        chunk=1,
        start=545,
        end=545 + len(SENTENCE),
        score=0.8,
        text=SENTENCE,
        n=1,
        support=1.0,
        passage=1,
        page=2,
    )
    return Answer(
        question=question,
        standalone_question=question,
        answer=text,
        refused=False,
        citations=[cited],
        passages=[Passage(**cited.model_dump(exclude={"n", "support", "passage"}))],
    )


@pytest.fixture
def store(tmp_path: Path) -> ChatStore:
    return ChatStore(tmp_path / "chats.sqlite")


def test_a_chat_keeps_its_answers_whole_and_in_order(store: ChatStore) -> None:
    chat = store.create("", "What did the Meta spokesperson say?")
    first = answer("What did the Meta spokesperson say?")
    store.add(chat.id, "", first)
    store.add(chat.id, "", answer("And who must approve?", "Zuckerberg. [1]"))
    saved = store.chat(chat.id, "")
    assert [e.position for e in saved.items] == [0, 1]
    assert saved.items[0].answer == first  # citations, passages and all
    assert [t.question for t in saved.turns(before=1)] == ["What did the Meta spokesperson say?"]
    assert saved.title == "What did the Meta spokesperson say?"
    [listed] = store.chats("")
    assert listed.exchanges == 2 and listed.updated >= listed.created


def test_search_rename_delete(store: ChatStore) -> None:
    one = store.create("", "Summarize the article.")
    store.add(one.id, "", answer("Summarize the article.", "Meta delays Behemoth. [1]"))
    two = store.create("", "Who is Mark Zuckerberg?")
    store.add(two.id, "", answer("Who is Mark Zuckerberg?", "Meta's CEO. [1]"))
    assert [c.id for c in store.chats("", "behemoth")] == [one.id]  # in an answer
    assert [c.id for c in store.chats("", "zuckerberg")] == [two.id]  # in a title
    assert store.chats("", "citations") == []  # the JSON's field names do not match
    store.rename(one.id, "", "  The   summary ")
    assert store.chat(one.id, "").title == "The summary"
    with pytest.raises(Exception, match="cannot be empty"):
        store.rename(one.id, "", "   ")
    store.delete(one.id, "")
    assert [c.id for c in store.chats("")] == [two.id]
    with pytest.raises(MissingChat):
        store.chat(one.id, "")
    with sqlite3.connect(store.path) as db:  # its exchanges went with it
        assert db.execute("SELECT count(*) FROM exchanges").fetchone() == (1,)


def test_each_user_sees_only_their_own_chats(store: ChatStore) -> None:
    ann = store.create("ann", "Ann's question")
    exchange = store.add(ann.id, "ann", answer("Ann's question"))
    store.create("bob", "Bob's question")
    assert [c.title for c in store.chats("ann")] == ["Ann's question"]
    assert [c.title for c in store.chats("bob")] == ["Bob's question"]
    assert len(store.chats(None)) == 2  # the machine's own CLI sees all
    for touch in (
        lambda: store.chat(ann.id, "bob"),
        lambda: store.rename(ann.id, "bob", "mine now"),
        lambda: store.delete(ann.id, "bob"),
        lambda: store.add(ann.id, "bob", answer("sneaky")),
        lambda: store.rate(exchange, "bob", -1),
    ):
        with pytest.raises(MissingChat):
            touch()
    assert store.chat(ann.id, "ann").title == "Ann's question"


def test_feedback_is_kept_with_the_answer(store: ChatStore) -> None:
    chat = store.create("", "q")
    exchange = store.add(chat.id, "", answer("q"))
    store.rate(exchange, "", -1, " wrong fact ")
    [(info, item)] = store.flagged()
    assert info.id == chat.id and item.rating == -1 and item.note == "wrong fact"
    store.rate(exchange, "", 1)
    assert store.flagged() == [] and store.chat(chat.id, "").items[0].rating == 1
    store.rate(exchange, "", None)  # taken back
    assert store.chat(chat.id, "").items[0].rating is None
    with pytest.raises(Exception, match=r"\+1 or -1"):
        store.rate(exchange, "", 0)


def test_a_database_of_the_first_schema_is_migrated_keeping_every_row(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite"
    shutil.copy(FIXTURE, path)
    store = ChatStore(path)
    assert store.version() == head() != "0001"
    assert {c.user: c.exchanges for c in store.chats(None)} == {"ann": 2, "bob": 1}
    old = store.chat("a" * 32, "ann")
    assert old.items[0].answer.citations[0].start == 545 and old.items[0].rating is None
    store.rate(old.items[1].id, "ann", -1, "bad citation")  # the new columns work
    assert store.flagged("ann")[0][1].note == "bad citation"


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda p: p.write_bytes(b"not a database at all" * 100), "file is not a database"),
        (
            lambda p: (
                sqlite3.connect(p)
                .execute("UPDATE alembic_version SET version_num='0099'")
                .connection.commit()
            ),
            "made by a newer version of rag",
        ),
    ],
)
def test_a_damaged_database_is_one_clear_line(tmp_path: Path, damage, reason: str) -> None:
    path = tmp_path / "chats.sqlite"
    ChatStore(path)
    damage(path)
    before = path.read_bytes()
    with pytest.raises(ChatStoreError) as raised:
        ChatStore(path)
    message = str(raised.value)
    assert reason in message and str(path) in message and "\n" not in message
    assert path.read_bytes() == before  # left as it was, for the user to look at


def test_markdown_export_cites_with_footnotes(store: ChatStore) -> None:
    chat = store.create("", "What did the Meta spokesperson say?")
    store.add(chat.id, "", answer("What did the Meta spokesperson say?"))
    store.add(chat.id, "", answer("Again?", "Yes: they plan to continue. [1]"))
    text = to_markdown(store.chat(chat.id, ""))
    assert text.startswith("# What did the Meta spokesperson say?\n")
    assert "**A:** They plan to continue releasing open models. [^1]" in text
    assert "**A:** Yes: they plan to continue. [^2]" in text
    assert f'[^1]: "{SENTENCE}" (meta.txt, p. 2, chars 545-{545 + len(SENTENCE)})' in text


def _saved_chat(data: Path) -> str:
    store = ChatStore(data / "chats.sqlite")
    chat = store.create("", "What did the Meta spokesperson say?")
    first = store.add(chat.id, "", answer("What did the Meta spokesperson say?"))
    second = store.add(chat.id, "", answer("Who must approve?", "The board. [1]"))
    store.rate(first, "", 1)
    store.rate(second, "", -1, "wrong fact")
    return chat.id


def test_rag_chats_list_and_export(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    chat_id = _saved_chat(data)
    assert main(["--data-dir", str(data), "chats", "list"]) == 0
    assert chat_id in capsys.readouterr().out
    assert main(["--data-dir", str(data), "chats", "export", chat_id[:6], "--format", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["id"] == chat_id and len(exported["items"]) == 2
    out = tmp_path / "chat.md"
    assert main(["--data-dir", str(data), "chats", "export", chat_id, "--out", str(out)]) == 0
    assert "[^1]:" in out.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["--data-dir", str(data), "chats", "export", "ffff"]) == 1
    assert capsys.readouterr().err.strip() == (
        "rag: error: no saved chats match 'ffff'; see `rag chats list`"
    )
    assert main(["--data-dir", str(tmp_path / "none"), "chats", "list"]) == 1
    assert "no saved chats yet" in capsys.readouterr().err


def test_feedback_export_writes_drafts_that_run_once_filled_in(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    _saved_chat(data)
    doc = tmp_path / "meta.txt"
    doc.write_text("Meta's CEO Mark Zuckerberg still needs to approve any final decision.\n")
    drafts = tmp_path / "drafts.yaml"
    assert main(["--data-dir", str(data), "feedback", "export", "--eval-yaml", str(drafts)]) == 0
    assert "Wrote 1 draft questions" in capsys.readouterr().out
    content = yaml.safe_load(drafts.read_text(encoding="utf-8"))
    [draft] = content["questions"]
    assert draft["question"] == "Who must approve?" and draft["given"] == "The board. [1]"
    assert draft["note"] == "wrong fact" and draft["facts"] == []
    assert draft["history"][0]["question"] == "What did the Meta spokesperson say?"
    with pytest.raises(Exception, match="needs facts and quotes"):
        load_question_set(drafts)  # a draft cannot run half-written
    content["corpus"] = [str(doc)]
    draft.update(
        reference="Zuckerberg must approve.",
        facts=[["Zuckerberg"]],
        quotes=["Mark Zuckerberg still needs to approve any final decision"],
    )
    drafts.write_text(yaml.safe_dump(content), encoding="utf-8")
    assert load_question_set(drafts).questions[0].note == "wrong fact"
    evaluated = ["--data-dir", str(tmp_path / "eval"), "eval", "--questions", str(drafts)]
    assert main([*evaluated, "--retrieval-only", "--out", str(tmp_path / "out")]) == 0
    report = json.loads(next((tmp_path / "out").rglob("report.json")).read_text())
    assert report["summary"]["hit_at_3"] == 1
