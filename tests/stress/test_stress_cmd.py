"""`twin stress`: the document, the files it writes, bad input, and an existing dask cluster."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli.app import app

CHOKEPOINTS = ["stress", "--kind", "chokepoint", "--days", "30"]


def test_json_document_ranks_every_chosen_element(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app,
        [*CHOKEPOINTS, "--json", "-o", str(tmp_path / "r.csv"), "--chart", str(tmp_path / "r.png")],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    rows = doc["elements"]
    assert len(rows) == 8 and {r["kind"] for r in rows} == {"chokepoint"}
    assert [r["rank"] for r in rows] == list(range(1, 9))
    costs = [r["added_cost"] for r in rows]
    assert costs == sorted(costs, reverse=True) and costs[0] > 0
    assert doc["baseline"]["status"] == "optimal"
    assert all(r["margin_lost"] is None and r["time_to_survive_days"] is None for r in rows)
    with (tmp_path / "r.csv").open() as handle:
        written = list(csv.DictReader(handle))
    assert [w["label"] for w in written] == [r["label"] for r in rows]
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_pairs_close_two_elements_together() -> None:
    out = CliRunner().invoke(
        app, ["stress", "--element", "SUEZ", "--element", "MALACCA", "--pairs", "--json"]
    )
    assert out.exit_code == 0, out.output
    assert [r["label"] for r in json.loads(out.output)["elements"]] == ["SUEZ+MALACCA"]


@pytest.mark.parametrize(
    "args, named",
    [
        (["--element", "NOPE"], "NOPE"),
        (["--kind", "river"], "river"),
        (["--days", "0"], "--days"),
        (["-o", "ranking.xlsx"], "ranking.xlsx"),
        (["--at", "yesterday"], "--at"),
    ],
)
def test_bad_input_exits_2_naming_it(args: list[str], named: str) -> None:
    out = CliRunner().invoke(app, ["stress", *args])
    assert out.exit_code == 2, out.output
    assert named in out.output
    assert "Traceback" not in out.output


def test_fans_out_over_an_existing_dask_cluster_with_the_same_ranking() -> None:
    distributed = pytest.importorskip("dask.distributed")
    twin = [sys.executable, "-m", "twin.cli.app", *CHOKEPOINTS, "--json"]
    local = subprocess.run(twin, capture_output=True, text=True, timeout=300, check=False)
    assert local.returncode == 0, local.stderr
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = subprocess.run(
            [*twin, "--scheduler", cluster.scheduler_address],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert remote.returncode == 0, remote.stderr
    # Timings differ; the ranking does not, nor any figure beyond float noise (each worker
    # warm-starts from a different sequence of closures).
    there, here = json.loads(remote.stdout)["elements"], json.loads(local.stdout)["elements"]
    assert [r["label"] for r in there] == [r["label"] for r in here]
    for a, b in zip(there, here, strict=True):
        assert a == {
            **b,
            **{k: pytest.approx(b[k], rel=1e-9) for k in ("added_cost", "late_units")},
        }
