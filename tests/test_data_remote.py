"""A data folder given by URI (``hdfs://``, ``s3a://``...), read through Spark's filesystems.

The Spark tests read ``file://`` URIs: Hadoop's local filesystem, reached through the same
calls (``FileSystem.listStatus``, ``copyToLocalFile``) as HDFS or S3 with their connectors."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from salesreport.data import load_tables
from salesreport.data.remote import is_uri, remote_folder
from salesreport.exceptions import DataError, ParameterError
from salesreport.params import load_params
from tests.conftest import REPORT_MONTH
from tests.conftest_data import make_params
from tests.servers import spark_session


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("hdfs://namenode:8020/exports/emea", True),
        ("s3a://bucket/emea/", True),
        ("file:///srv/exports", True),
        ("abfss://c@account.dfs.core.windows.net/emea", True),
        ("/srv/exports/emea", False),
        ("data/emea", False),
        ("C:\\exports\\emea", False),  # a Windows drive letter is not a scheme
        ("C://exports", False),
        (None, False),
    ],
)
def test_a_folder_is_given_by_uri_when_it_has_a_scheme(path, uri):
    assert is_uri(path) is uri


def test_the_folder_read_is_data_then_data_path_unless_a_database_is_named():
    by_path = make_params(data={"path": "s3a://bucket/emea"})
    assert remote_folder(by_path, None) == "s3a://bucket/emea"
    assert remote_folder(by_path, "/local/copy") is None  # --data wins
    assert remote_folder(make_params(), "hdfs://nn/x") == "hdfs://nn/x"
    with_sql = make_params(
        data={"path": "s3a://bucket/emea", "sql": {"url_env": "X", "tables": {"orders": "o"}}}
    )
    assert remote_folder(with_sql, None) is None  # data.sql is read, not the folder


def test_a_uri_with_the_embedded_engine_says_to_choose_spark():
    with pytest.raises(ParameterError) as err:
        load_tables(make_params(), "s3a://bucket/emea", REPORT_MONTH)
    text = str(err.value)
    assert text.startswith("s3a://bucket/emea: ")
    assert "engine is duckdb" in text and "engine: spark" in text


def test_a_uri_holding_credentials_is_refused_without_showing_them():
    params = make_params(engine={"kind": "spark"})
    with pytest.raises(ParameterError) as err:
        load_tables(params, "s3a://AKIAEXAMPLE:s3cr3t@bucket/emea", REPORT_MONTH)
    text = str(err.value)
    assert text.startswith("s3a://***@bucket/emea: the folder's URI holds credentials")
    assert "AKIAEXAMPLE" not in text and "s3cr3t" not in text
    with pytest.raises(ParameterError) as err:  # a signed URL's token
        load_tables(params, "wasbs://c@acct.blob.core.windows.net/emea?sv=1&sig=t0ken", "2026-10")
    text = str(err.value)
    assert text.startswith("wasbs://c@acct.blob.core.windows.net/emea?***: the folder's URI holds")
    assert "t0ken" not in text
    # Azure's container@account is no credential: the URI goes on (here to the engine's check)
    with pytest.raises(ParameterError, match="engine is duckdb"):
        load_tables(make_params(), "abfss://c@acct.dfs.core.windows.net/emea", "2026-10")


def _spark_params(team: str = "emea", **kw):
    spark_session()  # skips (or fails in CI) without PySpark or Java
    params = load_params(team)
    return params.model_copy(
        update={"engine": params.engine.model_copy(update={"kind": "spark", **kw})}
    )


def test_a_folder_read_through_spark_loads_as_the_same_local_folder(sample_dir, tmp_path):
    folder = tmp_path / "lake" / "emea"
    shutil.copytree(sample_dir, folder)
    (folder / "README.txt").write_text("not a table")
    params = _spark_params()
    uri = folder.as_uri()
    work = tmp_path / "work"
    work.mkdir()

    remote = load_tables(params, uri, REPORT_MONTH, database=work / "engine.duckdb")
    local = load_tables(params, folder, REPORT_MONTH)

    for name in remote.fingerprints:
        pd.testing.assert_frame_equal(getattr(remote.tables, name), getattr(local.tables, name))
    assert remote.fingerprints == local.fingerprints  # the same bytes were read
    assert remote.quality.to_json() == local.quality.to_json()
    assert remote.ignored_files == local.ignored_files == ["README.txt"]
    assert remote.sources["orders"] == f"{uri}/orders.csv"  # run.json names the lake's file
    assert local.sources["orders"] == str(folder / "orders.csv")
    assert [p.name for p in work.iterdir()] == ["engine.duckdb"]  # the copy is gone
    remote.close()
    local.close()


def test_a_data_error_in_a_folder_read_through_spark_names_the_uri(tmp_path):
    folder = tmp_path / "lake"
    folder.mkdir()
    (folder / "notes.txt").write_text("no tables here")
    uri = folder.as_uri()
    with pytest.raises(DataError) as err:
        load_tables(_spark_params(), uri, REPORT_MONTH)
    text = str(err.value)
    assert text.startswith(f"{uri}: holds neither opportunities nor orders")
    assert "salesreport-remote-" not in text  # never the run's local copy
    assert "salesreport-remote-" not in str(err.value.problems)


def test_a_missing_folder_or_filesystem_is_named_with_what_to_do(tmp_path):
    missing = (tmp_path / "nowhere").as_uri()
    with pytest.raises(DataError, match=r"nowhere: is not a folder Spark can read\. Check"):
        load_tables(_spark_params(), missing, REPORT_MONTH)
    # this machine's Spark has no S3 connector: what a user without one sees
    with pytest.raises(DataError) as err:
        load_tables(_spark_params(), "s3a://bucket/emea", REPORT_MONTH)
    text = str(err.value)
    assert text.startswith("s3a://bucket/emea: cannot be read through Spark: ")
    assert "S3AFileSystem not found" in text and "spark.jars.packages" in text


def test_a_large_load_says_each_file_as_it_reads_it_and_a_small_one_says_nothing(
    sample_dir, monkeypatch
):
    """``progress`` hears of each table file when the input is large (at 200x the sample the
    load takes most of a minute); a small load is over before a line could be read."""
    from salesreport.data import load as load_mod

    params = load_params("emea")
    said: list[str] = []
    load_tables(params, sample_dir, REPORT_MONTH, progress=said.append).close()
    assert said == []
    monkeypatch.setattr(load_mod, "PARALLEL_BYTES", 0)  # the sample as large as a real team
    load_tables(params, sample_dir, REPORT_MONTH, progress=said.append).close()
    size = {p.name: _size(p) for p in sample_dir.glob("*.csv")}
    assert said[0] == f"loading opportunities.csv ({size['opportunities.csv']})"
    assert sorted(said) == sorted(f"loading {name} ({s})" for name, s in size.items())


def test_a_folder_read_through_spark_says_each_file_as_it_is_copied(sample_dir, tmp_path):
    folder = tmp_path / "lake"
    shutil.copytree(sample_dir, folder)
    (folder / "notes.txt").write_text("not copied")
    said: list[str] = []
    load_tables(_spark_params(), folder.as_uri(), REPORT_MONTH, progress=said.append).close()
    copies = [s for s in said if s.startswith("copying ")]
    assert sorted(copies) == sorted(
        f"copying {p.name} ({_size(p)}) from {folder.as_uri()}" for p in sample_dir.glob("*.csv")
    )


def _size(path) -> str:
    """What the progress lines say of a file's size, worked out by hand: kB below 1 MB."""
    n = path.stat().st_size
    return f"{round(n / 1e6):,} MB" if n >= 1_000_000 else f"{round(n / 1e3):,} kB"


def test_every_team_of_all_teams_reads_one_copy_of_a_folder_given_by_uri(sample_dir, tmp_path):
    """Inside :func:`shared_copies` (``--all-teams``) the folder is copied once, the copy serves
    each team that reads it (the same frames as a copy of its own) and goes with the block."""
    from salesreport.data.remote import shared_copies

    folder = tmp_path / "lake"
    shutil.copytree(sample_dir, folder)
    copies = tmp_path / "copies"
    params = _spark_params()
    na = _spark_params("na")
    said: list[str] = []
    with shared_copies(copies):
        emea_ = load_tables(params, folder.as_uri(), REPORT_MONTH, progress=said.append)
        na_ = load_tables(na, folder.as_uri(), REPORT_MONTH, progress=said.append)
        assert len(list(copies.iterdir())) == 1  # kept for the next team until the block ends
    assert not copies.exists()
    assert len([s for s in said if s.startswith("copying ")]) == len(list(sample_dir.glob("*.csv")))
    alone = load_tables(na, folder.as_uri(), REPORT_MONTH)
    pd.testing.assert_frame_equal(na_.tables.orders, alone.tables.orders)
    assert len(na_.tables.orders) != len(emea_.tables.orders)  # each team's own cut
    assert na_.sources == alone.sources
    for loaded in (emea_, na_, alone):
        loaded.close()
