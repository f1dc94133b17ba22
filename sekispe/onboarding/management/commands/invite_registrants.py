"""`sekispe invite-registrants`: the bulk invitation of /ops/invitations/bulk/
from the command line, with a progress bar. The same service, the same
filters, the same throttled outbox rows; safe to run again (anyone with a
valid invitation is skipped) and `--resume N` continues a run that stopped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from sekispe.onboarding import services
from sekispe.onboarding.models import BulkInvitationRun, RunState


class Command(BaseCommand):
    help = "Invite registrants without an account, by filter, through the throttled outbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--status", default="active", help="registry status ('' for any)")
        parser.add_argument("--cohort", default="", help="registration cohort, e.g. 2024-04")
        parser.add_argument("--prefecture", default="", help="JIS code of the home prefecture")
        parser.add_argument("--expires-from", type=dt.date.fromisoformat, default=None)
        parser.add_argument("--expires-to", type=dt.date.fromisoformat, default=None)
        parser.add_argument(
            "--with-account", action="store_true", help="do not filter on 'has no account'"
        )
        parser.add_argument(
            "--no-listing", action="store_true", help="only those without a listing"
        )
        parser.add_argument("--dry-run", action="store_true", help="print the count and a sample")
        parser.add_argument("--resume", type=int, default=0, help="continue the run with this id")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["resume"]:
            run = BulkInvitationRun.objects.filter(pk=options["resume"]).first()
            if run is None:
                raise CommandError(f"no bulk invitation run {options['resume']}")
            if run.state == RunState.DONE:
                self.stdout.write(f"run {run.pk} is already done: {run.invited} invited")
                return
            claimed = services.claim_run(run.pk)
            if claimed is None:
                raise CommandError(
                    f"run {run.pk} is being worked on by another process (its heartbeat is "
                    f"recent); try again in {services.STALLED_AFTER.seconds // 60} minutes"
                )
            self._run(claimed, options)
            return
        filters = services.InvitationFilters(
            status=options["status"],
            cohort=options["cohort"],
            prefecture=options["prefecture"],
            expires_from=options["expires_from"],
            expires_to=options["expires_to"],
            no_account=not options["with_account"],
            no_listing=options["no_listing"],
        )
        preview = services.preview_invitations(filters)
        self.stdout.write(
            f"matching: {preview.matching}, to invite: {preview.invitable}, "
            f"at {preview.per_hour}/hour (about {preview.hours} h)"
        )
        for record in preview.sample:
            self.stdout.write(f"  {record.registration_number} {record.name}")
        if options["dry_run"]:
            return
        try:
            run = services.start_invitation_run(filters, actor=None, queued=False)
        except services.OnboardingError as exc:
            raise CommandError(str(exc.message)) from exc
        self._run(run, options)

    def _run(self, run: BulkInvitationRun, options: dict[str, Any]) -> None:
        with tqdm(
            total=run.total,
            initial=run.processed,
            desc=f"run {run.pk}",
            unit="record",
            disable=options["no_progress"],
        ) as bar:
            run = services.run_invitations(run, progress=bar.update)
        self.stdout.write(f"run {run.pk}: {run.invited} invited, {run.skipped} skipped")
