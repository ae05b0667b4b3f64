"""Replies: structure-safe templates -> the channel-neutral `Reply` -> Genesys, text or JSON.

    renderer = ReplyRenderer(template_dir=registry.spec.template_dir)
    reply = renderer.render(command_spec, "success", ReplyContext(args=call.args, result=answer, status=201))
    compile_genesys(reply)   # Bot Connector replyMessages
    compile_text(reply)      # the agent send endpoint (text only, 2000 characters)
    compile_json(reply)      # the webhook channel and the demo page

Pure modules: the only I/O is reading template files (cached until they change).
"""

from .compile_genesys import bot_connector_response, compile_genesys
from .compile_json import compile_json
from .compile_text import compile_text, resolve_numbered_answer
from .context import KNOWN_VARIABLES, ReplyContext, context_for_answer
from .errors import command_error_reply
from .help import help_reply
from .limits import GENESYS_LIMITS, JSON_LIMITS, LIMITS, TEXT_LIMITS, ChannelLimits, enforce_limits
from .model import Attachment, Button, Card, Carousel, QuickReply, Reply, ReplyShapeError, reply_from_structure
from .render import CANCEL_PAYLOAD, CONFIRM_PAYLOAD, ReplyRenderer, default_reply, parse_confirmation
from .templates import TemplateEngine

__all__ = [
    "Attachment",
    "Button",
    "CANCEL_PAYLOAD",
    "CONFIRM_PAYLOAD",
    "Card",
    "Carousel",
    "ChannelLimits",
    "GENESYS_LIMITS",
    "JSON_LIMITS",
    "KNOWN_VARIABLES",
    "LIMITS",
    "QuickReply",
    "Reply",
    "ReplyContext",
    "ReplyRenderer",
    "ReplyShapeError",
    "TEXT_LIMITS",
    "TemplateEngine",
    "bot_connector_response",
    "command_error_reply",
    "compile_genesys",
    "compile_json",
    "compile_text",
    "context_for_answer",
    "default_reply",
    "enforce_limits",
    "help_reply",
    "parse_confirmation",
    "reply_from_structure",
    "resolve_numbered_answer",
]
