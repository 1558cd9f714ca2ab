"""The browser chat: a Gradio Blocks app over one `Pipeline`.

It never retrieves or prompts by itself: every answer is a `QAChain.stream` of the
shared pipeline, so the chat shows exactly what `rag ask` and `rag eval` see. History
lives in per-session state; the model serves `llm.parallel` questions at a time and
further users wait in Gradio's visible queue.
"""

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer import Answer, Turn
from rag.documents import SUPPORTED_SUFFIXES
from rag.errors import RagError
from rag.events import Delta, Progress, Retry
from rag.ingest import IngestReport
from rag.pipeline import Pipeline
from rag.progress import Listener
from ui import documents
from ui.render import error_html, plain, sources_html
from ui.reports import report_view

logger = logging.getLogger(__name__)
ROUTES = {"Auto": "auto", "Passages": "passages", "Whole documents": "document"}
EXAMPLES = [
    "What did the Meta spokesperson say?",
    "Why did Meta delay releasing Behemoth?",
    "Who has to approve any final decision?",
]
Messages = list[dict[str, str]]


def _summary(report: IngestReport | None, problems: list[str]) -> str:
    lines = []
    if report is not None:
        lines.append(
            f"Indexed: {len(report.new)} new, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged; {report.chunks_added} chunks added, "
            f"{report.chunks_deleted} deleted ({report.seconds:.1f} s)."
        )
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


def build_app(pipeline: Pipeline) -> gr.Blocks:
    settings = pipeline.settings

    def ask(
        message: str,
        chat: Messages,
        turns: list[Turn],
        k: int,
        scope: list[str] | None = None,
        read: str = "Auto",
    ) -> Iterator[tuple[Any, ...]]:
        question = (message or "").strip()
        if not question:
            raise _error("Type a question first.")
        chat = [*chat, {"role": "user", "content": plain(question)}]
        shown = [*chat, {"role": "assistant", "content": "…"}]
        yield "", shown, turns, '<p class="source-meta">Searching the documents…</p>'
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
                    yield gr.update(), shown, turns, f'<p class="source-meta">{note}</p>'
                    continue
                else:
                    answer = event
                    break
                shown[-1] = {"role": "assistant", "content": plain(text) or "…"}
                yield gr.update(), shown, turns, gr.update()
        except Exception as exc:  # shown in the chat and the sources panel, never a traceback
            message = str(exc) if isinstance(exc, RagError) else f"internal error: {exc!r}"
            if not isinstance(exc, RagError):
                logger.exception("answering %r failed", question)
            gr.Warning(message)
            shown[-1] = {"role": "assistant", "content": plain(f"Error: {message}")}
            yield gr.update(), shown, turns, error_html(message)
            return
        assert answer is not None
        label = "Partly answered: " if answer.outcome == "partial" else ""
        shown[-1] = {"role": "assistant", "content": plain(label + answer.answer)}
        turns = [*turns, Turn(question=question, answer=answer.answer)]
        yield gr.update(), shown, turns, sources_html(answer)

    def api_ask(question: str, k: int = settings.retrieval.k) -> dict[str, Any]:
        """One question, no history: the whole `Answer` as JSON."""
        try:
            return pipeline.chain_for(int(k)).invoke(question).model_dump(mode="json")
        except RagError as exc:
            raise _error(str(exc)) from None

    def new_chat() -> tuple[Messages, list[Turn], str]:
        return [], [], ""

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

    def latest_eval() -> tuple[str, list[list[object]], str]:
        return report_view(settings.data_dir)

    with gr.Blocks(title="rag: ask your documents") as app:
        turns = gr.State([])
        gr.Markdown("## Ask your documents\nAnswers cite the passages they come from.")
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat"), gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Chat",
                        elem_id="chat",
                        height=440,
                        render_markdown=False,
                        sanitize_html=True,
                        feedback_options=None,
                        buttons=["copy"],
                    )
                    question = gr.Textbox(
                        label="Question",
                        elem_id="question",
                        placeholder="Ask a question about the documents and press Enter",
                        max_lines=4,
                    )
                    with gr.Row():
                        send = gr.Button("Ask", variant="primary", elem_id="ask")
                        clear = gr.Button("New chat", elem_id="new-chat")
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
            with gr.Tab("Evaluation"):
                eval_heading = gr.Markdown(elem_id="eval-heading")
                eval_table = gr.Dataframe(
                    headers=["metric", "value"], interactive=False, elem_id="eval-table"
                )
                eval_refresh = gr.Button("Show the latest report")
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

        chat_io = dict(
            inputs=[question, chatbot, turns, k, scope, read],
            outputs=[question, chatbot, turns, sources],
            concurrency_limit=settings.llm.parallel,
            concurrency_id="model",
        )
        question.submit(ask, api_name="chat_enter", api_visibility="private", **chat_io)
        send.click(ask, api_name="chat", **chat_io)
        clear.click(new_chat, outputs=[chatbot, turns, sources], api_visibility="private")
        chatbot.clear(new_chat, outputs=[chatbot, turns, sources], api_visibility="private")
        shown = [table, chosen, page, count, scope]
        ask_doc.click(
            ask_document, [chosen], [scope, tabs, chatbot, turns, sources], api_visibility="private"
        )
        add.click(upload, [files, search, page], [status, files, *shown], api_visibility="private")
        remove.click(delete, [chosen, search, page], [status, *shown], api_visibility="private")
        refresh.click(reindex, [search, page], [status, *shown], api_visibility="private")
        search.change(first_page, [search], shown, api_visibility="private")
        page.input(listing, [search, page], shown, api_visibility="private")
        app.load(listing, [search, page], shown, api_visibility="private")
        eval_outputs = [eval_heading, eval_table, eval_frame]
        app.load(latest_eval, outputs=eval_outputs, api_visibility="private")
        eval_refresh.click(latest_eval, outputs=eval_outputs, api_visibility="private")
        gr.api(
            api_ask, api_name="ask", concurrency_limit=settings.llm.parallel, concurrency_id="model"
        )
    return app
