"""Approvals: commands a second person must approve before they run (`approve:` in the registry).

The life of one (runtime.md sections 1 and 3):
- asked: a bound command whose `approve.when` holds (after its confirmation, when it has one) gets an
  `awaiting_approval` record carrying `approval: {id, roles, requested_by, expires_at}` and a question
  in the store (kind approve, kept under its token: questions.py), and the requester is told who must
  answer and until when;
- answered: `/approve TOKEN` or `/deny TOKEN reason` on any channel, or the panel's buttons (`POST
  /sync/approvals/{id}`), on any replica. The requester can never answer their own request, and an
  approver needs one of its roles: both are refused with a reply while the question keeps waiting
  (it is read first, `Store.get_question`). Then the question is taken atomically, so it is answered
  once whatever replicas race;
- approved: the text is bound again against the registry of that moment, with the requester's role
  (as a confirmation is), and the command runs on the same record (pending, executing, final);
- denied: `rejected`, `approval_denied`, with the reason; unanswered until `expires_at`: `rejected`,
  `approval_timeout` (the pipeline's sweep of expired questions).
The requester's conversation hears the outcome through its channel's late replies when it has them
(the webhook's callback URL); the record's events are the audit trail (`audit.py`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..binding.call import Call
from ..diagnostics import CommandError
from ..registry.languages import resolve_language
from ..replies.approvals import ENGLISH, ApprovalAnswer, roles_phrase, waiting_reply
from ..replies.errors import command_error_reply
from ..replies.i18n import Translator, translator
from ..replies.model import Reply
from ..texts import N_, MessageText, msg
from .generation import Generation
from .messages import InboundMessage, Job, OutboundReply, ReplySink
from .metrics import Metrics
from .questions import Question, approval_key
from .sealing import UNREADABLE_CODE, UNREADABLE_RESEND, UNREADABLE_REPLY, UNREADABLE_WHY, QuestionSeal
from .store import CommandRecord, Store, StoreUnavailable

if TYPE_CHECKING:
    from .lifecycle import CommandLifecycle

__all__ = ["ApprovalDesk", "LateReplies", "person_ids", "person_of"]

log = logging.getLogger("commandlang.runtime")

#: Where a channel's replies go when no request waits for them (None: the channel has no such way).
LateReplies = Callable[[str], ReplySink | None]


def person_of(message: InboundMessage) -> str:
    """The id that names the sender as a person: the channel's user id when it has one, else the participant's."""
    user = message.metadata.get("user_id")
    return user if isinstance(user, str) and user else message.participant_id


def person_ids(message: InboundMessage) -> frozenset[str]:
    """Who sent it: the participant id, and the channel's id of the person when it has one (a Genesys
    agent's user id, the same in every conversation, where participant ids are not)."""
    return frozenset((message.participant_id, person_of(message)))


class ApprovalDesk:
    """The approval steps of `CommandLifecycle` (which owns the records and runs the commands)."""

    def __init__(
        self,
        lifecycle: CommandLifecycle,
        store: Store,
        metrics: Metrics,
        *,
        limit: Callable[[], int],
        clock: Callable[[], float],
        late_replies: LateReplies,
        seal: QuestionSeal,
    ) -> None:
        self._lifecycle = lifecycle
        self._seal = seal  # the typed text is sealed at rest (runtime/sealing.py)
        self._store = store
        self._metrics = metrics
        self._limit = limit  # the questions' bound, shared with confirmations
        self._clock = clock
        self._late_replies = late_replies

    # -- asked -----------------------------------------------------------
    async def ask(
        self, job: Job, generation: Generation, call: Call, text: str, *, waiting: CommandRecord | None = None
    ) -> None:
        """Hold `call` (typed as `text`) for an approver: the question, then its `awaiting_approval` record
        (`waiting`, the confirmed `awaiting_confirmation` record, moved on; else a new one)."""
        message, approve = job.message, call.spec.approve
        assert approve is not None
        now = self._clock()
        token = secrets.token_hex(6)
        roles = tuple(sorted(approve.roles))
        requester, expires_at, args = person_of(message), now + approve.timeout, call.masked_args()
        approval = {
            "id": token,
            "roles": list(roles),
            "requested_by": requester,  # what the panel compares with a token's agent
            "expires_at": expires_at,
        }
        if waiting is not None:
            record = replace(waiting.moved("awaiting_approval", now, approval=approval), args=args)
        else:
            record = self._lifecycle.new_record(message, call.command, args, "awaiting_approval", generation)
            record = replace(record, approval=approval)
        question = Question.asked_by(
            message,
            token=token,
            text=text,
            command=call.command,
            expires_at=expires_at,
            args=args,
            kind="approve",
            command_id=record.id,
            roles=roles,
            asked_at=now,
            user_id=requester if requester != message.participant_id else None,
        )
        # The question first: a record that waits must always have a question whose expiry ends it.
        dropped = await self._store.put_question(self._seal.seal(question), self._limit())
        await self._lifecycle.save(job, record)
        self._metrics.approvals.inc(call.command, "requested")
        t = translator(self._language(message))
        await job.deliver(waiting_reply(call.command, roles, token, approve.timeout, t))
        await self._lifecycle.forget(dropped, question.key)

    # -- answered --------------------------------------------------------
    async def answer(self, job: Job, generation: Generation, answer: ApprovalAnswer) -> None:
        """`/approve TOKEN` or `/deny TOKEN reason` from `job`'s sender; see the module docstring."""
        message = job.message
        t = translator(self._language(message))  # the approver's: every reply here but the requester's
        if answer.token is None:
            how = N_("To answer an approval, type /{decision} followed by its approval code.")
            await job.deliver(Reply(text=t(how, decision=answer.decision)))
            return
        key = approval_key(answer.token)
        waiting = await self._store.get_question(key, self._clock())
        if waiting is None:
            nothing = N_("Nothing is waiting for approval with that code: it was answered already, or expired.")
            await job.deliver(Reply(text=t(nothing)))
            return
        refusal = self.refusal(waiting, person_ids(message), message.held_roles, t)
        if refusal is not None:
            self._metrics.approvals.inc(waiting.command, "refused")
            log.info(
                "/%s: approval refused to %s: %s",
                waiting.command,
                message.participant_id,
                refusal,
                extra={"conversation_id": waiting.conversation_id, "command_id": waiting.command_id},
            )
            await job.deliver(Reply(text=refusal))
            return
        taken = await self._store.take_question(key, answer.token, self._clock())
        record = await self._store.get(taken.command_id or "") if isinstance(taken, Question) else None
        if not isinstance(taken, Question) or record is None or record.status != "awaiting_approval":
            gone = N_("/{command} is no longer waiting: it was answered already.")
            await job.deliver(Reply(text=t(gone, command=waiting.command)))
            return
        now = self._clock()
        decided = {
            **(record.approval or {}),
            "decision": "approved" if answer.decision == "approve" else "denied",
            "decided_by": person_of(message),
            "decided_at": now,
            "reason": answer.reason,
        }
        requester = taken.user_id or taken.participant_id
        if answer.decision == "deny":
            # the record keeps the English (as every stored text); the replies are in their reader's language
            why = (
                msg(N_("Denied by {person}: {reason}"), person=person_of(message), reason=answer.reason)
                if answer.reason
                else msg(N_("Denied by {person}."), person=person_of(message))
            )
            error = {"code": "approval_denied", "message": str(why)}
            await self._end(job, taken, record, "denied", error, decided)
            denied = N_("Denied: /{command} asked by {requester} will not run.")
            await job.deliver(Reply(text=t(denied, command=taken.command, requester=requester)))
            await self._tell_requester(job, taken, record.id, self._not_run(taken, why))
            return
        opened = self._seal.open(taken)
        if opened is None:  # sealed under another key (a restart with a random one, a rotation)
            error = {"code": UNREADABLE_CODE, "message": UNREADABLE_WHY}
            await self._lifecycle.save(job, record.moved("rejected", now, error, approval=decided))
            self._metrics.commands.inc(taken.command, "rejected")
            await job.deliver(Reply(text=t(UNREADABLE_REPLY)))
            await self._tell_requester(job, taken, record.id, self._not_run(taken, msg(UNREADABLE_RESEND)))
            return
        taken = opened
        self._observe(taken, "approved", now)
        approved = N_("Approved: /{command} asked by {requester} runs now.")
        await job.deliver(Reply(text=t(approved, command=taken.command, requester=requester)))
        try:
            invocation = generation.registry.parse_invocation(taken.text)
            assert invocation is not None
            call = generation.registry.bind(
                invocation,
                role=taken.role,
                today=self._lifecycle.today(),
                language=resolve_language(taken.language, generation.registry.spec.settings.languages),
            )
        except CommandError as exc:  # the registry changed while it waited
            spec = generation.registry.spec.resolve(taken.command)
            reply = command_error_reply(
                exc.diagnostic, taken.text, spec, registry=generation.registry.spec, language=t.language
            )
            error = {"code": exc.diagnostic.code, "message": exc.diagnostic.message}
            await self._lifecycle.save(job, record.moved("rejected", now, error, approval=decided))
            self._metrics.commands.inc(taken.command, "rejected")
            await job.deliver(reply)
            await self._tell_requester(job, taken, record.id, reply)
            return
        reply = await self._lifecycle.execute(job, generation, call, requester=taken, waiting=record, approval=decided)
        await self._tell_requester(job, taken, record.id, reply)

    @staticmethod
    def refusal(waiting: Question, ids: frozenset[str], roles: frozenset[str], t: Translator = ENGLISH) -> str | None:
        """Why the person known by `ids`, holding `roles`, may not answer `waiting` (None: they may), in `t`'s language."""
        if ids & {waiting.participant_id, waiting.user_id}:
            yourself = N_("You asked for /{command} yourself: it needs approval by someone else ({roles}).")
            return t(yourself, command=waiting.command, roles=roles_phrase(waiting.roles, t))
        if not roles & set(waiting.roles):
            only = N_("Only {roles} may approve /{command}; you are {yours}.")
            yours = roles_phrase(roles, t) or t(N_("without a role"))
            return t(only, roles=roles_phrase(waiting.roles, t), command=waiting.command, yours=yours)
        return None

    # -- unanswered ------------------------------------------------------
    async def expire(self, question: Question, why: MessageText) -> None:
        """An approval nobody answered in time (or dropped past the bound): its command ends `rejected`
        (`why` in English on the record, in the requester's language in the reply)."""
        try:
            record = await self._store.get(question.command_id or "")
            if record is None or record.status != "awaiting_approval":
                return  # answered meanwhile, or never recorded (the store failed between the two writes)
            decided = {**(record.approval or {}), "decision": "timed_out", "decided_at": self._clock()}
            error = {"code": "approval_timeout", "message": str(why)}
            await self._end(None, question, record, "timed_out", error, decided)
        except StoreUnavailable as exc:  # the record keeps waiting, and its question is gone: logged to be seen
            log.error(
                "could not record /%s's approval timeout: %s",
                question.command,
                exc,
                extra={"conversation_id": question.conversation_id, "command_id": question.command_id},
            )
            return
        await self._tell_requester(None, question, record.id, self._not_run(question, why))

    # -- the end of one --------------------------------------------------
    def _language(self, asked: InboundMessage | Question) -> str:
        """The declared language replies to `asked`'s sender are written in."""
        languages = self._lifecycle.generations.current.registry.spec.settings.languages
        return resolve_language(asked.language, languages)

    def _not_run(self, question: Question, why: MessageText) -> Reply:
        """The requester's news that their command will not run, and why, in their language."""
        t = translator(self._language(question))
        return Reply(text=t(N_("Your /{command} was not run. {why}"), command=question.command, why=why))

    async def _end(
        self,
        job: Job | None,
        question: Question,
        record: CommandRecord,
        outcome: str,
        error: Mapping[str, str],
        approval: Mapping[str, Any],
    ) -> None:
        now = self._clock()
        await self._lifecycle.save(job, record.moved("rejected", now, error, approval=approval))
        self._observe(question, outcome, now)
        self._metrics.commands.inc(question.command, "rejected")

    def _observe(self, question: Question, outcome: str, now: float) -> None:
        self._metrics.approvals.inc(question.command, outcome)
        self._metrics.approval_seconds.observe(max(0.0, now - question.asked_at), question.command, outcome)

    async def _tell_requester(self, job: Job | None, question: Question, command_id: str, reply: Reply | None) -> None:
        """The outcome for the requester's conversation, unless the answer came from that very conversation
        (everyone there saw it) or its channel cannot send a late reply (then the state record tells)."""
        if reply is None:
            return
        if job is not None and (job.message.channel, job.message.conversation_id) == (
            question.channel,
            question.conversation_id,
        ):
            return
        sink = self._late_replies(question.channel)
        if sink is None:
            return
        asked = InboundMessage(
            channel=question.channel,
            conversation_id=question.conversation_id,
            message_id=question.message_id,
            participant_id=question.participant_id,
            role=question.role,
            text=opened.text if (opened := self._seal.open(question)) is not None else f"/{question.command}",
            timestamp=question.asked_at,
            queue_id=question.queue_id,
        )
        try:
            await sink.send(OutboundReply(question.conversation_id, reply, command_id, asked))
        except Exception as exc:  # noqa: BLE001 - a closed outbox at shutdown: the state record still tells
            log.warning(
                "could not tell the requester of /%s its approval's outcome: %s",
                question.command,
                exc,
                extra={"conversation_id": question.conversation_id},
            )
