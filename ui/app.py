"""The browser chat: a Gradio Blocks app over one `Pipeline`.

It never retrieves or prompts by itself: every answer is a `QAChain.stream` of the
shared pipeline, so the chat shows exactly what `rag ask` and `rag eval` see. The
conversation being shown lives in per-session state and is saved as it goes
(`ui/chats.py`); the model serves `llm.parallel` questions at a time and further users
wait in Gradio's visible queue. Evaluation runs (`ui/evaluation.py`) share the model
question by question.
"""

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer import Answer, Turn
from rag.chats.store import SavedChats
from rag.documents import SUPPORTED_SUFFIXES
from rag.errors import RagError
from rag.events import Delta, Progress, Retry
from rag.ingest import IngestReport
from rag.pipeline import Pipeline
from rag.progress import Listener
from ui import chats as chats_ui
from ui import documents, evaluation
from ui.render import error_html, plain, sources_html

logger = logging.getLogger(__name__)
ROUTES = {"Auto": "auto", "Passages": "passages", "Whole documents": "document"}
EXAMPLES = [
    "What did the Meta spokesperson say?",
    "Why did Meta delay releasing Behemoth?",
    "Who has to approve any final decision?",
]
Messages = list[dict[str, str]]
ASK = "Ask a question about the documents and press Enter"
WAIT = "Answering… the next question can be asked when this one is done"


def _question_box(locked: bool) -> Any:
    """The question box, locked while an answer streams: a second question cannot be
    sent (and lost) meanwhile, and the box says why."""
    if locked:
        return gr.update(value="", interactive=False, placeholder=WAIT)
    return gr.update(interactive=True, placeholder=ASK)


def _summary(report: IngestReport | None, problems: list[str]) -> str:
    lines = []
    if report is not None:
        lines.append(
            f"Indexed: {len(report.new)} new, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged; {report.chunks_added} chunks added, "
            f"{report.chunks_deleted} deleted ({report.seconds:.1f} s)."
        )
        lines += [f"Check: {Path(w.path).name}: {w.reason}" for w in report.warnings]
    lines += [f"Not indexed: {p}" for p in problems]
    return "\n\n".join(lines) or "Nothing to do."


def _backend(pipeline: Pipeline) -> str:
    llm = pipeline.settings.llm
    if llm.base_url:
        return f"OpenAI-compatible server at `{llm.base_url}`, model `{llm.model}`"
    return f"embedded llama.cpp, model file `{Path(pipeline.settings.model_file).name}`"


def _error(message: str) -> gr.Error:
    """Shown in the page; the server log gets no traceback for a user's mistake."""
    return gr.Error(message, print_exception=False)


def _listener(progress: gr.Progress) -> Listener:
    def update(description: str, done: int, total: int, unit: str) -> None:
        progress((done, total), desc=f"{description} {unit}", unit=unit)

    return update


def _downloads(md: str | None, js: str | None) -> tuple[Any, Any]:
    return gr.update(value=md, interactive=bool(md)), gr.update(value=js, interactive=bool(js))


def build_app(pipeline: Pipeline, chats: SavedChats | None = None) -> gr.Blocks:
    settings = pipeline.settings
    chats = chats or SavedChats.open(settings.chats_db)

    def ask(
        message: str,
        chat: Messages,
        turns: list[Turn],
        k: int,
        scope: list[str] | None = None,
        read: str = "Auto",
        chat_id: str | None = None,
        saved: list[int] | None = None,
        search: str = "",
        request: gr.Request | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Streams the answer; the question box is locked meanwhile (a second question
        is refused visibly, not lost), and the answer is saved when it is complete."""
        question = (message or "").strip()
        if not question:
            raise _error("Type a question first.")
        chat = [*chat, {"role": "user", "content": plain(question)}]
        shown = [*chat, {"role": "assistant", "content": "…"}]
        same = (gr.update(),) * 5  # the saved chat's outputs, untouched while streaming
        searching = '<p class="source-meta">Searching the documents…</p>'
        yield _question_box(True), shown, turns, searching, *same
        text = ""
        answer: Answer | None = None
        try:
            route = ROUTES.get(read, "auto")
            events = pipeline.chain_for(int(k)).stream(question, turns, None, scope or [], route)
            for event in events:
                if isinstance(event, Delta):
                    text += event.text
                elif isinstance(event, Retry):
                    text = ""
                elif isinstance(event, Progress):
                    note = f"Reading the documents: {event.done} of {event.total} {event.what}"
                    yield gr.update(), shown, turns, f'<p class="source-meta">{note}</p>', *same
                    continue
                else:
                    answer = event
                    break
                shown[-1] = {"role": "assistant", "content": plain(text) or "…"}
                yield gr.update(), shown, turns, gr.update(), *same
        except Exception as exc:  # shown in the chat and the sources panel, never a traceback
            message = str(exc) if isinstance(exc, RagError) else f"internal error: {exc!r}"
            if not isinstance(exc, RagError):
                logger.exception("answering %r failed", question)
            gr.Warning(message)
            shown[-1] = {"role": "assistant", "content": plain(f"Error: {message}")}
            yield _question_box(False), shown, turns, error_html(message), *same
            return
        assert answer is not None
        shown[-1] = chats_ui.answer_message(answer)
        turns = [*turns, Turn(question=question, answer=answer.answer)]
        kept = save(answer, chat_id, list(saved or []), search, chats_ui.user_of(request))
        yield _question_box(False), shown, turns, sources_html(answer), *kept

    def save(
        answer: Answer, chat_id: str | None, saved: list[int], search: str, user: str
    ) -> tuple[Any, ...]:
        """Adds the answer to its saved chat (a new one on the first question); the chat
        goes on when saving fails, with a warning."""
        if chats.store is None:
            return chat_id, saved, gr.update(), gr.update(), gr.update()
        try:
            if chat_id is None:
                chat_id = chats.store.create(user, answer.question).id
            saved = [*saved, chats.store.add(chat_id, user, answer)]
            chat = chats.store.chat(chat_id, user)
        except RagError as exc:
            gr.Warning(f"This answer was not saved: {exc}")
            return chat_id, saved, gr.update(), gr.update(), gr.update()
        listed = gr.update(choices=chats_ui.choices(chats, user, search), value=chat_id)
        md, js = chats_ui.export_files(chat)
        return chat_id, saved, listed, *_downloads(md, js)

    def api_ask(question: str, k: int = settings.retrieval.k) -> dict[str, Any]:
        """One question, no history: the whole `Answer` as JSON."""
        try:
            return pipeline.chain_for(int(k)).invoke(question).model_dump(mode="json")
        except RagError as exc:
            raise _error(str(exc)) from None

    def new_chat() -> tuple[Any, ...]:
        """An empty chat: nothing shown, nothing saved until its first answer."""
        return [], [], "", None, [], gr.update(value=None), "", *_downloads(None, None)

    def list_chats(search: str, request: gr.Request) -> Any:
        return gr.update(choices=chats_ui.choices(chats, chats_ui.user_of(request), search))

    def open_chat(chat_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        if not chat_id or chats.store is None:
            return new_chat()
        try:
            chat = chats.store.chat(chat_id, chats_ui.user_of(request))
        except RagError as exc:
            raise _error(str(exc)) from None
        last = chat.items[-1].answer if chat.items else None
        return (
            gr.update(value=chats_ui.messages_of(chat), feedback_value=chats_ui.feedback_of(chat)),
            chat.turns(),
            sources_html(last) if last else "",
            chat.id,
            [e.id for e in chat.items],
            gr.update(value=chat.id),
            chat.title,
            *_downloads(*chats_ui.export_files(chat)),
        )

    def rename_chat(chat_id: str | None, title: str, search: str, request: gr.Request) -> Any:
        if not chat_id:
            raise _error("Open a saved chat first.")
        user = chats_ui.user_of(request)
        try:
            chats.require().rename(chat_id, user, title)
        except RagError as exc:
            raise _error(str(exc)) from None
        return gr.update(choices=chats_ui.choices(chats, user, search), value=chat_id)

    def delete_chat(chat_id: str | None, search: str, request: gr.Request) -> tuple[Any, ...]:
        if not chat_id:
            raise _error("Open a saved chat first.")
        user = chats_ui.user_of(request)
        try:
            chats.require().delete(chat_id, user)
        except RagError as exc:
            raise _error(str(exc)) from None
        gr.Info("Chat deleted.")
        listed = gr.update(choices=chats_ui.choices(chats, user, search), value=None)
        empty = new_chat()
        return *empty[:5], listed, *empty[6:]

    def rate(saved: list[int], liked: gr.LikeData, request: gr.Request) -> tuple[Any, ...]:
        """A thumb or a flag on one answer, saved with it; a thumb down offers a note.
        Gradio gives True (Like), False (Dislike), a flag's text, or "" (taken back)."""
        position = liked.index if isinstance(liked.index, int) else liked.index[0]
        exchange = saved[position // 2] if 0 <= position // 2 < len(saved) else None
        if exchange is None or chats.store is None:
            return gr.update(), None, gr.update(visible=False)
        given = liked.liked
        rating = None if given == "" else 1 if given is True or given == "Like" else -1
        note = given if isinstance(given, str) and given in chats_ui.NOTES else ""
        try:
            chats.store.rate(exchange, chats_ui.user_of(request), rating, note)
        except RagError as exc:
            raise _error(str(exc)) from None
        down = rating == -1
        return gr.update(value=note), exchange if down else None, gr.update(visible=down)

    def save_note(exchange: int | None, note: str, request: gr.Request) -> tuple[Any, Any]:
        if exchange is None:
            raise _error("Rate an answer down first.")
        try:
            chats.require().rate(exchange, chats_ui.user_of(request), -1, note)
        except RagError as exc:
            raise _error(str(exc)) from None
        gr.Info("Thanks: the note is saved with the answer.")
        return gr.update(value=""), gr.update(visible=False)

    def index_banner_state() -> Any:
        """Read at each page load: a `rag ingest --rebuild` mends the index under a
        running server, which then follows it."""
        if problem := pipeline.store.problem:
            return gr.update(value=f"**The index cannot be used:** {problem}", visible=True)
        return gr.update(visible=False)

    def chats_banner() -> Any:
        if chats.problem:
            return gr.update(value=f"**Chats are not saved:** {chats.problem}", visible=True)
        return gr.update(visible=False)

    def listing(search: str, page: float | None = 1) -> tuple:
        rows = documents.document_rows(pipeline, search)
        shown, page, label = documents.page_of(rows, int(page or 1))
        choices = [(f"{r[0]} ({r[1]} chunks)", str(r[2])) for r in shown]
        every = [(str(r[0]), str(r[2])) for r in documents.document_rows(pipeline)]
        return (
            [r[:2] for r in shown],
            gr.update(choices=choices, value=None),
            page,
            label,
            gr.update(choices=every),
        )

    def first_page(search: str) -> tuple:
        return listing(search, 1)

    def upload(
        files: list[str] | None, search: str, page: float, progress: gr.Progress = gr.Progress()
    ) -> tuple:
        if not files:
            raise _error("Choose one or more files first.")
        pairs = [(Path(f), Path(f).name) for f in files]
        try:
            report, problems = documents.add_uploads(
                pipeline, pairs, _listener(progress), settings.ui.max_upload_mb * 1_000_000
            )
        except RagError as exc:
            raise _error(str(exc)) from None
        for problem in problems:
            gr.Warning(problem)
        return (_summary(report, problems), None, *listing(search, page))

    def delete(source: str | None, search: str, page: float) -> tuple:
        if not source:
            raise _error("Pick a document to delete.")
        try:
            deleted = documents.delete_document(pipeline, source)
        except RagError as exc:
            raise _error(str(exc)) from None
        return (f"Deleted {Path(source).name} ({deleted} chunks).", *listing(search, page))

    def reindex(search: str, page: float, progress: gr.Progress = gr.Progress()) -> tuple:
        report = documents.reindex(pipeline, _listener(progress))
        return (_summary(report, []), *listing(search, page))

    def ask_document(source: str | None) -> tuple:
        """A new chat kept to the chosen document, in the Chat tab."""
        if not source:
            raise _error("Pick a document to ask about.")
        return [source], gr.Tabs(selected="chat"), *new_chat()

    def runs(chosen: str | None = None) -> tuple[Any, Any]:
        """The runs' two pickers: every report, newest first (the first one chosen)."""
        found = [(evaluation.run_label(p), str(p)) for p in evaluation.reports(settings.data_dir)]
        first = chosen or (found[0][1] if found else None)
        return gr.update(choices=found, value=first), gr.update(choices=found, value=None)

    def show_runs(first: str | None, second: str | None) -> tuple[Any, ...]:
        heading, rows, frame = evaluation.compare(
            Path(first) if first else None, Path(second) if second else None
        )
        headers = ["metric", "run", "compared"] if second else ["metric", "run"]
        return heading, gr.update(value=rows, headers=headers), frame

    def refresh_runs() -> tuple[Any, ...]:
        first, second = runs()
        return first, second, *show_runs(first["value"], None)

    stops: dict[str, threading.Event] = {}  # each session's running evaluation

    def run_set(
        choice: str,
        upload: str | None,
        only: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),
    ) -> Iterator[tuple[Any, ...]]:
        """Validates the set, then streams the run's progress. Cancel sets this
        session's stop, which ends the run after the question being answered."""
        try:
            path, question_set = evaluation.load_set(choice, upload, only, settings.data_dir)
        except RagError as exc:
            raise _error(str(exc)) from None
        count = len(question_set.questions)
        unchanged = (gr.update(),) * 5
        yield f"Running {path.name}: {count} questions…", *unchanged
        stop = stops[request.session_hash or ""] = threading.Event()
        try:
            for step in evaluation.run(path, question_set, settings, stop):
                if isinstance(step, Path):
                    first, second = runs(str(step))
                    done = f"Done: {path.name}, {count} questions. Its report is shown below."
                    yield done, first, second, *show_runs(str(step), None)
                    return
                what, done_count, total = step
                if total:
                    progress((done_count, total), desc=what, unit="")
                yield f"{what}: {done_count} of {total}", *unchanged
        except RagError as exc:
            raise _error(str(exc)) from None
        finally:
            stops.pop(request.session_hash or "", None)

    def cancel_run(request: gr.Request) -> str:
        stop = stops.pop(request.session_hash or "", None)
        if stop is None or stop.is_set():
            return "No run to cancel."
        stop.set()
        return "Cancelled: the run stops after the question being answered."

    with gr.Blocks(title="rag: ask your documents") as app:
        turns = gr.State([])
        chat_id = gr.State(None)  # the saved chat shown; None until its first answer
        saved = gr.State([])  # the saved id of each answer shown, in order
        noting = gr.State(None)  # the answer a thumb down's note belongs to
        gr.Markdown("## Ask your documents\nAnswers cite the passages they come from.")
        index_banner = gr.Markdown(
            visible=False, elem_id="index-banner", elem_classes="index-banner"
        )
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat"), gr.Row():
                with gr.Column(scale=1, min_width=220, elem_id="chat-side"):
                    clear = gr.Button("New chat", elem_id="new-chat", variant="secondary")
                    banner = gr.Markdown(visible=False, elem_id="chats-banner")
                    chat_search = gr.Textbox(
                        label="Search chats", elem_id="chat-search", placeholder="Any word"
                    )
                    chat_list = gr.Radio(
                        [], label="Saved chats", elem_id="chat-list", elem_classes="chat-list"
                    )
                    with gr.Accordion("This chat", open=False, elem_id="chat-tools"):
                        chat_title = gr.Textbox(label="Name", elem_id="chat-title")
                        with gr.Row():
                            rename = gr.Button("Rename", size="sm", elem_id="chat-rename")
                            remove_chat = gr.Button(
                                "Delete", size="sm", variant="stop", elem_id="chat-delete"
                            )
                        with gr.Row():
                            get_md = gr.DownloadButton(
                                "Markdown", size="sm", interactive=False, elem_id="chat-md"
                            )
                            get_json = gr.DownloadButton(
                                "JSON", size="sm", interactive=False, elem_id="chat-json"
                            )
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Chat",
                        elem_id="chat",
                        height=440,
                        render_markdown=False,
                        sanitize_html=True,
                        feedback_options=chats_ui.FEEDBACK,
                        buttons=["copy"],
                    )
                    with gr.Row(visible=False, elem_id="feedback-row") as feedback_row:
                        note = gr.Textbox(
                            label="What was wrong? (optional)",
                            elem_id="feedback-note",
                            scale=4,
                        )
                        save_note_button = gr.Button("Save note", elem_id="feedback-save", scale=1)
                    question = gr.Textbox(
                        label="Question",
                        elem_id="question",
                        placeholder=ASK,
                        max_lines=4,
                    )
                    send = gr.Button("Ask", variant="primary", elem_id="ask")
                    with gr.Row():
                        scope = gr.Dropdown(
                            label="Only these documents (none chosen: all)",
                            choices=[],
                            multiselect=True,
                            elem_id="scope",
                            scale=3,
                        )
                        read = gr.Radio(
                            list(ROUTES),
                            value="Auto",
                            label="Read",
                            info="Auto: summaries, lists and counts read whole documents",
                            elem_id="read",
                            scale=2,
                        )
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(elem_id="sources")
            with gr.Tab("Documents", id="documents"):
                files = gr.File(
                    label=f"Add documents ({', '.join(sorted(SUPPORTED_SUFFIXES))})",
                    file_count="multiple",
                    file_types=sorted(SUPPORTED_SUFFIXES),
                    elem_id="upload",
                )
                add = gr.Button("Add to the index", variant="primary", elem_id="add")
                status = gr.Markdown(elem_id="doc-status")
                with gr.Row():
                    search = gr.Textbox(label="Filter documents", elem_id="doc-filter", scale=4)
                    page = gr.Number(
                        1, label="Page", precision=0, minimum=1, elem_id="doc-page", scale=1
                    )
                count = gr.Markdown(elem_id="doc-count")
                table = gr.Dataframe(
                    headers=["document", "chunks"],
                    datatype=["str", "number"],
                    interactive=False,
                    elem_id="doc-table",
                    max_height=360,
                )
                with gr.Row():
                    chosen = gr.Dropdown(label="Document", choices=[], elem_id="doc-choice")
                    ask_doc = gr.Button("Ask this document", elem_id="ask-doc")
                    remove = gr.Button("Delete from the index", variant="stop")
                    refresh = gr.Button("Re-index changed files")
            with gr.Tab("Evaluation", id="evaluation"):
                gr.Markdown(
                    "Run a question set with the live model and index settings; each run "
                    "is kept, and two can be compared. Chat questions are answered between "
                    "the run's questions."
                )
                with gr.Row():
                    eval_set = gr.Dropdown(
                        [*evaluation.bundled_sets(), evaluation.UPLOAD],
                        value="article" if "article" in evaluation.bundled_sets() else None,
                        label="Question set",
                        elem_id="eval-set",
                        scale=2,
                    )
                    eval_only = gr.Textbox(
                        label="Only these question ids or tags (optional, comma-separated)",
                        elem_id="eval-only",
                        scale=2,
                    )
                    eval_upload = gr.File(
                        label="Question set to upload (.yaml)",
                        file_types=[".yaml", ".yml"],
                        elem_id="eval-upload",
                        scale=2,
                    )
                with gr.Row():
                    eval_run = gr.Button("Run", variant="primary", elem_id="eval-run")
                    eval_cancel = gr.Button("Cancel", variant="stop", elem_id="eval-cancel")
                eval_status = gr.Markdown(elem_id="eval-status")
                with gr.Row():
                    eval_first = gr.Dropdown(label="Run", elem_id="eval-runs", scale=3)
                    eval_second = gr.Dropdown(label="Compare with", elem_id="eval-compare", scale=3)
                    eval_refresh = gr.Button("Refresh", elem_id="eval-refresh", scale=1)
                eval_heading = gr.Markdown(elem_id="eval-heading")
                eval_table = gr.Dataframe(
                    headers=["metric", "run"], interactive=False, elem_id="eval-table"
                )
                eval_frame = gr.HTML(elem_id="eval-report")
            with gr.Tab("Settings"):
                k = gr.Slider(1, 10, value=settings.retrieval.k, step=1, label="Passages (k)")
                gr.Markdown(
                    f"**Backend:** {_backend(pipeline)}  \n"
                    f"**Retrieval:** {settings.retrieval.mode}, chunks of "
                    f"{settings.chunking.size} characters  \n"
                    f"**Index:** `{settings.data_dir.resolve()}`  \n"
                    "These come from the configuration (`rag.toml`, `RAG_*`) and are "
                    "read-only here."
                )

        saved_chat = [chat_id, saved, chat_list, get_md, get_json]
        chat_io = dict(
            inputs=[question, chatbot, turns, k, scope, read, chat_id, saved, chat_search],
            outputs=[question, chatbot, turns, sources, *saved_chat],
            concurrency_limit=settings.llm.parallel,
            concurrency_id="model",
        )
        question.submit(ask, api_name="chat_enter", api_visibility="private", **chat_io)
        send.click(ask, api_name="chat", **chat_io)
        fresh = [chatbot, turns, sources, chat_id, saved, chat_list, chat_title, get_md, get_json]
        private: dict[str, Any] = dict(api_visibility="private")
        clear.click(new_chat, outputs=fresh, **private)
        chatbot.clear(new_chat, outputs=fresh, **private)
        chat_list.input(open_chat, [chat_list], fresh, **private)
        chat_search.change(list_chats, [chat_search], [chat_list], **private)
        rename.click(rename_chat, [chat_id, chat_title, chat_search], [chat_list], **private)
        remove_chat.click(delete_chat, [chat_id, chat_search], fresh, **private)
        chatbot.like(rate, [saved], [note, noting, feedback_row], **private)
        save_note_button.click(save_note, [noting, note], [note, feedback_row], **private)
        app.load(list_chats, [chat_search], [chat_list], **private)
        app.load(chats_banner, outputs=[banner], **private)
        app.load(index_banner_state, outputs=[index_banner], **private)
        shown = [table, chosen, page, count, scope]
        ask_doc.click(ask_document, [chosen], [scope, tabs, *fresh], **private)
        add.click(upload, [files, search, page], [status, files, *shown], api_visibility="private")
        remove.click(delete, [chosen, search, page], [status, *shown], api_visibility="private")
        refresh.click(reindex, [search, page], [status, *shown], api_visibility="private")
        search.change(first_page, [search], shown, api_visibility="private")
        page.input(listing, [search, page], shown, api_visibility="private")
        app.load(listing, [search, page], shown, api_visibility="private")
        shown_run = [eval_heading, eval_table, eval_frame]
        picked = [eval_first, eval_second]
        app.load(refresh_runs, outputs=[*picked, *shown_run], **private)
        eval_refresh.click(refresh_runs, outputs=[*picked, *shown_run], **private)
        eval_first.input(show_runs, picked, shown_run, **private)
        eval_second.input(show_runs, picked, shown_run, **private)
        running = eval_run.click(
            run_set,
            [eval_set, eval_upload, eval_only],
            [eval_status, *picked, *shown_run],
            concurrency_limit=1,
            concurrency_id="eval",
            **private,
        )
        eval_cancel.click(cancel_run, outputs=[eval_status], cancels=[running], **private)
        gr.api(
            api_ask, api_name="ask", concurrency_limit=settings.llm.parallel, concurrency_id="model"
        )
    return app
