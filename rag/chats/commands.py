"""`rag chats` and `rag feedback`: the saved chats from the command line."""

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError

if TYPE_CHECKING:  # the store's imports (SQLAlchemy, Alembic) wait until a chat command runs
    from rag.chats.records import SavedChat
    from rag.chats.store import ChatStore
    from rag.settings import Settings


def add_parsers(commands: argparse._SubParsersAction) -> None:
    chats = commands.add_parser(
        "chats",
        help="list or export the conversations saved by the browser chat",
        description="The browser chat saves every conversation in <data_dir>/chats.sqlite. "
        "Here they are listed (newest first) and exported, from every user.",
    )
    actions = chats.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one line per chat: id, when, questions, title")
    listing.add_argument("--search", default="", metavar="TEXT", help="only chats holding TEXT")
    listing.add_argument("--json", action="store_true", help="print one JSON array")
    exporting = actions.add_parser(
        "export",
        help="one chat as Markdown (cited sentences as footnotes) or JSON (every answer whole)",
    )
    exporting.add_argument("id", help="the chat's id, or the start of it (from `rag chats list`)")
    exporting.add_argument("--format", choices=["md", "json"], default="md")
    exporting.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")

    feedback = commands.add_parser(
        "feedback",
        help="turn answers rated down in the chat into draft test questions",
        description="Writes every answer rated down (thumbs down) as a draft question for "
        "`rag eval`: the question, its conversation, the answer given and the note. Fill "
        "in its reference, facts and quotes, then run `rag eval --questions PATH`.",
    )
    steps = feedback.add_subparsers(dest="action", required=True, metavar="ACTION")
    drafts = steps.add_parser("export", help="write the drafts as a question-set YAML file")
    drafts.add_argument("--eval-yaml", type=Path, required=True, metavar="PATH")


def _store(settings: "Settings") -> "ChatStore":
    from rag.chats.store import ChatStore

    if not settings.chats_db.exists():
        raise RagError(f"no saved chats yet ({settings.chats_db}): chat in `rag ui` first")
    return ChatStore(settings.chats_db)


def _find(store: "ChatStore", wanted: str) -> "SavedChat":
    from rag.chats.store import MissingChat

    matches = [c.id for c in store.chats(None) if c.id.startswith(wanted.lower())]
    if len(matches) != 1 or not wanted:
        found = "no" if not matches else f"{len(matches)}"
        raise MissingChat(f"{found} saved chats match {wanted!r}; see `rag chats list`")
    return store.chat(matches[0], None)


def chats_command(args: argparse.Namespace, settings: "Settings") -> int:
    store = _store(settings)
    if args.action == "list":
        chats = store.chats(None, args.search)
        if args.json:
            print(json.dumps([c.model_dump(mode="json") for c in chats], ensure_ascii=False))
            return 0
        for c in chats:
            who = f" [{c.user}]" if c.user else ""
            print(f"{c.id}  {c.updated:%Y-%m-%d %H:%M}  {c.exchanges:3d} q  {c.title}{who}")
        if not chats:
            print("No saved chats" + (f" holding {args.search!r}" if args.search else ""))
        return 0
    from rag.chats.export import export

    text = export(_find(store, args.id), args.format)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"Wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _corpus(chats: list["SavedChat"], settings: "Settings") -> list[str]:
    """The documents the rated answers read, as absolute paths; else every indexed one."""
    sources = {p.source for c in chats for e in c.items for p in e.answer.passages}
    if not sources:
        from rag.pipeline import Pipeline

        sources = set(Pipeline.from_settings(settings).store.sources())
    return sorted(str(Path(s).resolve()) for s in sources)


def feedback_command(args: argparse.Namespace, settings: "Settings") -> int:
    from rag.chats.drafts import write_drafts

    store = _store(settings)
    flagged = store.flagged()
    if not flagged:
        raise RagError("no answer has been rated down yet: nothing to export")
    chats = {info.id: store.chat(info.id, None) for info, _ in flagged}
    count = write_drafts(args.eval_yaml, flagged, chats, _corpus(list(chats.values()), settings))
    print(f"Wrote {count} draft questions to {args.eval_yaml}; fill in their facts and quotes")
    return 0
