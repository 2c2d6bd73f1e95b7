"""Sending a push batch's records to HubSpot: a HubSpot call on a chunk of records (a 429
gives them back, a transient error backs off, a 4xx refusing the whole chunk is bisected down to
its culprit, a stop or the daily budget aborts the batch) and a batch answer's results and errors
mapped to records. A part of :class:`glue.sync.push.pusher.Pusher`, used by its steps.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence

from glue.clock import SYSTEM, Clock
from glue.config import ConfigError
from glue.hubspot.client import UNREADABLE, BatchResult, HubSpotClient, HubSpotError
from glue.hubspot.ratelimit import DailyBudgetExhausted, Stopped
from glue.sync.push.records import Abort, Work, seconds_to_utc_midnight
from glue.sync.push.settle import Settler

log = logging.getLogger(__name__)


class Sender:
    """The HubSpot client of a push and how a call on a chunk of records is run (the client
    itself rate-limits and retries transient errors a few times: glue.hubspot.client)."""

    def __init__(self, hubspot: HubSpotClient, settler: Settler, clock: Clock = SYSTEM) -> None:
        self.hubspot = hubspot
        self.settler = settler
        self.clock = clock  # the daily budget's reset (UTC midnight)

    def run_chunk(self, works: list[Work], op: Callable[[list[Work]], None]) -> None:
        """Run ``op`` on a chunk; map a call-level failure to the chunk's records: a 429 gives
        them back uncounted, transient errors back off, a 4xx refusing the whole batch is
        bisected until the record it is about is alone. Once ``stop`` is set, nothing more is
        sent: the batch stops (Abort) and gives back what is not settled; so does an answer
        that is not HubSpot's (UNREADABLE: HubSpot may have written the records)."""
        if self.settler.stopping():
            raise Abort(Stopped("a stop was asked"), retry_after=0)
        try:
            op(works)
        except Stopped as exc:  # between two calls of ``op``, or before a wait's end
            raise Abort(exc, retry_after=0) from None
        except HubSpotError as exc:
            if exc.unauthorized:
                raise Abort(
                    ConfigError(f"HubSpot refused the token during the push ({exc})")
                ) from None
            if exc.category == UNREADABLE:
                # a 2xx answer that is not HubSpot's (a wrong shape in any part of it): HubSpot
                # may have written every record of the call, so none is failed for it; the
                # batch stops, its records are given back without an attempt counted, and the
                # push ends as HubSpot not answering properly (exit 75)
                raise Abort(exc) from None
            if exc.rate_limited:
                self.settler.fail(works, str(exc), retry_after=exc.retry_after, count_attempt=False)
            elif exc.transient or len(works) <= 1:
                self.settler.fail(works, str(exc))
            else:
                half = len(works) // 2
                self.run_chunk(works[:half], op)
                self.run_chunk(works[half:], op)
        except DailyBudgetExhausted as exc:
            raise Abort(exc, retry_after=seconds_to_utc_midnight(self.clock)) from None

    @staticmethod
    def errors_by_work(
        result: BatchResult, works: Sequence[Work], keys: Callable[[Work], Sequence[str]]
    ) -> dict[tuple[str, uuid.UUID], tuple[Work, str]]:
        """Per-record errors of a batch answer, mapped to works by objectWriteTraceId, else by
        any id the error's context mentions (``keys(work)``: the ids a work is known by)."""
        by_trace = {w.trace: w for w in works}
        failed: dict[tuple[str, uuid.UUID], tuple[Work, str]] = {}
        for err in result.errors:
            hit = [by_trace[t] for t in err.trace_ids if t in by_trace]
            if not hit:
                mentioned = err.mentioned_ids()
                hit = [w for w in works if mentioned.intersection(k for k in keys(w) if k)]
            if not hit:
                log.warning("HubSpot reported an error about no known record: %s", err)
            for work in hit:
                failed[(work.table, work.record_id)] = (work, str(err))
        return failed

    def confirmed(
        self, result: BatchResult, chunk: Sequence[Work],
        failed: dict[tuple[str, uuid.UUID], tuple[Work, str]],
    ) -> list[Work]:
        """The works of a batch update HubSpot confirmed: a result names them (by
        objectWriteTraceId, else by HubSpot id). One answered with neither a result nor an error
        (a 207 missing an input) is not counted as written: it is failed here, tried again."""
        traces = {str(r.get("objectWriteTraceId")) for r in result.results}
        ids = {str(r.get("id")) for r in result.results}
        ok, unknown = [], []
        for work in chunk:
            if (work.table, work.record_id) in failed:
                continue
            if work.trace in traces or str(work.state.get("hubspot_id")) in ids:
                ok.append(work)
            else:
                unknown.append(work)
        if unknown:
            self.settler.fail(unknown, "HubSpot answered the batch without this record (neither a "
                                "result nor an error): not counted as written, tried again")
        return ok

    @staticmethod
    def result_ids(
        result: BatchResult, chunk: Sequence[Work], key: Callable[[Work], str], prop: str
    ) -> dict[str, str]:
        """{work trace: HubSpot id} from batch results, by objectWriteTraceId, else by the
        unique property value."""
        traces = {w.trace for w in chunk}
        by_key = {key(w): w.trace for w in chunk}
        out: dict[str, str] = {}
        for r in result.results:
            trace = r.get("objectWriteTraceId")
            if trace not in traces:
                value = (r.get("properties") or {}).get(prop) or ""
                trace = by_key.get(value.strip().lower() if prop == "email" else value)
            if trace:
                out[trace] = str(r["id"])
        return out
