"""How a hand-over's rows become RQ jobs: what shares a job, and what never waits on another."""

from __future__ import annotations

from approvals.jobs.queue import ROWS_PER_SHARED_JOB, batched


def _pending_submit(n: int) -> list[tuple[str, str]]:
    return [("cards.post", f"card-{n}"), ("notify.requester", f"notice-{n}")]


def test_commits_handed_over_together_share_card_jobs_without_splitting_a_commit() -> None:
    jobs = batched([_pending_submit(n) for n in range(5)], 0)
    assert [job.queue for job in jobs] == ["cards", "cards"]
    assert jobs[0].outbox_ids == tuple(
        row for n in range(4) for row in (f"card-{n}", f"notice-{n}")
    )
    assert jobs[1].outbox_ids == ("card-4", "notice-4")  # its card still before its notice
    assert all(len(job.outbox_ids) <= ROWS_PER_SHARED_JOB for job in jobs)
    assert {job.attempt for job in jobs} == {0}


def test_a_release_or_callback_never_shares_a_job_with_another_commits_rows() -> None:
    commits = [
        [("release", "release-1"), ("callbacks.deliver", "delivery-1")],
        [("release", "release-2"), ("cards.update", "update-2")],
        [("release", "release-3")],
    ]
    jobs = batched(commits, 1)
    releases = [job.outbox_ids for job in jobs if job.queue == "release"]
    assert releases == [("release-1",), ("release-2",), ("release-3",)]
    assert [job.outbox_ids for job in jobs if job.queue == "callbacks"] == [("delivery-1",)]


def test_a_commit_larger_than_a_shared_job_keeps_its_rows_in_one_job() -> None:
    big = [("cards.post", f"card-{n}") for n in range(ROWS_PER_SHARED_JOB + 2)]
    jobs = batched([_pending_submit(0), big, _pending_submit(1)], 0)
    assert [len(job.outbox_ids) for job in jobs] == [2, ROWS_PER_SHARED_JOB + 2, 2]
