"""How records are shown over the API (spec §4), with hypermedia links (§2.8)."""

from __future__ import annotations

from typing import Any

from ..casing import camelize_keys
from ..models import Actor, Execution, Worker
from ..records import ExecutionTotals
from ..timefmt import display, display_or_none

__all__ = ["Views"]


class Views:
    def __init__(self, api_server: str, case: str) -> None:
        self.api = api_server.rstrip("/")
        self.camel = case == "camel"

    def _case(self, obj: dict[str, Any]) -> dict[str, Any]:
        return camelize_keys(obj) if self.camel else obj

    def actor_url(self, actor_id: str) -> str:
        return f"{self.api}/actors/v2/{actor_id}"

    def profile_url(self, user: str) -> str:
        return f"{self.api}/profiles/v2/{user}"

    def actor(self, a: Actor, *, cron_next_ex: str | None = None) -> dict[str, Any]:
        return self._case(
            {
                "id": a.id,
                "name": a.name,
                "description": a.description,
                "image": a.image,
                "owner": a.owner,
                "status": a.status.value,
                "status_message": a.status_message,
                "stateless": a.stateless,
                "privileged": a.privileged,
                "use_container_uid": a.use_container_uid,
                "default_environment": a.default_environment,
                "token": a.token,
                "hints": a.hints,
                "link": a.link,
                "webhook": a.webhook,
                "cron_schedule": a.cron_schedule,
                "cron_on": a.cron_on,
                "cron_next_ex": cron_next_ex,
                "cron_timezone": a.cron_timezone,
                "queue": a.queue,
                "max_workers": a.max_workers,
                "max_cpus": a.max_cpus,
                "mem_limit": a.mem_limit,
                "log_ex": a.log_ex,
                "type": a.type,
                "max_retries": a.max_retries,
                "retry_delay": a.retry_delay,
                "retry_on_exit_code": a.retry_on_exit_code,
                "state": a.state,
                "revision": a.revision,
                "mounts": a.mounts,
                "uid": a.uid,
                "gid": a.gid,
                "tasdir": a.tasdir,
                "create_time": display_or_none(a.create_time),
                "last_update_time": display_or_none(a.last_update_time),
                "_links": {
                    "self": self.actor_url(a.id),
                    "owner": self.profile_url(a.owner),
                    "executions": f"{self.actor_url(a.id)}/executions",
                },
            }
        )

    def execution(self, e: Execution) -> dict[str, Any]:
        base = f"{self.actor_url(e.actor_id)}/executions/{e.id}"
        return self._case(
            {
                "id": e.id,
                "actor_id": e.actor_id,
                "api_server": e.api_server,
                "executor": e.executor,
                "worker_id": e.worker_id,
                "status": e.status.value,
                "status_message": e.status_message,
                "message_received_time": display(e.message_received_time),
                "start_time": display(e.start_time),
                "finish_time": display(e.finish_time),
                "runtime": e.runtime,
                "cpu": e.cpu,
                "io": e.io,
                "exit_code": e.exit_code,
                "final_state": e.final_state,
                "attempts": e.attempts,
                "dead_lettered": e.dead_lettered,
                "_links": {"self": base, "owner": self.profile_url(e.executor), "logs": f"{base}/logs"},
            }
        )

    def executions_summary(
        self,
        actor: Actor,
        executions: list[Execution],
        totals: ExecutionTotals,
        page: tuple[int, int, int] | None = None,
    ) -> dict[str, Any]:
        """The summary of §4.3; a paged listing (``page`` = matching count, skip, limit) also
        carries the ``_metadata`` of a search (§4.9)."""
        items = [
            self._case(
                {
                    "id": e.id,
                    "status": e.status.value,
                    "start_time": display(e.start_time),
                    "finish_time": display(e.finish_time),
                    "message_received_time": display(e.message_received_time),
                }
            )
            for e in executions
        ]
        summary: dict[str, Any] = {
            "actor_id": actor.id,
            "api_server": self.api,
            "owner": actor.owner,
            "total_executions": totals.count,
            "total_cpu": totals.cpu,
            "total_io": totals.io,
            "total_runtime": totals.runtime,
            "executions": items,
            "_links": {
                "self": f"{self.actor_url(actor.id)}/executions",
                "owner": self.profile_url(actor.owner),
            },
        }
        if page is not None:
            total, skip, limit = page
            summary["_metadata"] = self._case(
                {
                    "total_count": total,
                    "records_skipped": skip,
                    "record_limit": limit,
                    "count_returned": len(items),
                }
            )
        return self._case(summary)

    def logs(self, actor: Actor, execution_id: str, logs: str) -> dict[str, Any]:
        base = f"{self.actor_url(actor.id)}/executions/{execution_id}"
        return {
            "logs": logs,
            "_links": {"self": f"{base}/logs", "owner": self.profile_url(actor.owner), "execution": base},
        }

    def message_accepted(self, actor: Actor, execution: Execution, shown: Any) -> dict[str, Any]:
        return self._case(
            {
                "execution_id": execution.id,
                "msg": shown,
                "_links": {
                    "self": f"{self.actor_url(actor.id)}/executions/{execution.id}",
                    "owner": self.profile_url(actor.owner),
                    "messages": f"{self.actor_url(actor.id)}/messages",
                },
            }
        )

    def message_count(self, actor: Actor, count: int) -> dict[str, Any]:
        return {
            "messages": count,
            "_links": {
                "self": f"{self.actor_url(actor.id)}/messages",
                "owner": self.profile_url(actor.owner),
            },
        }

    def worker(self, w: Worker) -> dict[str, Any]:
        return self._case(
            {
                "id": w.id,
                "tenant": w.tenant,
                "status": w.status.value,
                "image": w.image,
                "location": w.location,
                "cid": w.cid,
                "ch_name": w.ch_name,
                "host_id": w.host_id,
                "host_ip": w.host_ip,
                "create_time": display_or_none(w.create_time),
                "last_execution_time": display_or_none(w.last_execution_time),
                "last_health_check_time": display_or_none(w.last_health_check_time),
            }
        )
