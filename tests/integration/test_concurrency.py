"""Two executions over overlapping windows at the same time equal one clean run."""

from __future__ import annotations

import pytest

from local.harness import LocalPipeline
from tests.integration.conftest import TODAY, window
from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration


def test_concurrent_overlapping_runs_leave_exactly_one_clean_copy(
    pipeline: LocalPipeline,
) -> None:
    # GIVEN two windows that share two days
    first_window, second_window = {"interval": window(5, 1)}, {"interval": window(3, 0)}

    # WHEN both executions run at the same time
    arns = [pipeline.start(first_window), pipeline.start(second_window)]
    reports = [pipeline.wait(arn) for arn in arns]

    # THEN both succeed and the table equals one clean run over the union: no duplicate, no loss
    assert [r.status for r in reports] == ["SUCCEEDED", "SUCCEEDED"], [r.cause for r in reports]
    union = expected_rows(pipeline.simulator, {"interval": window(5, 0)}, TODAY)
    landed = landed_rows(pipeline.usage_rows())
    assert landed == union
    assert max(landed.values()) == 1
    assert len(pipeline.keys("usage/")) == 5
