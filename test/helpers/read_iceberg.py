"""Reads an Iceberg table with pyiceberg and DuckDB, independently of the writer, and prints JSON.

Usage: read_iceberg.py CATALOG_URI CATALOG_NAME NAMESPACE.TABLE S3_ENDPOINT [COLUMN,...]
  CATALOG_URI `glue`: the table is looked up in AWS Glue at S3_ENDPOINT (moto serves both).

Prints {"snapshots": [...], "schemas": [...], "pyiceberg": {"rows": [...]}, "duckdb": {"rows": [...]},
"files": [...]}: every snapshot of the table (oldest first, with its summary), the current schema's columns, the
current snapshot's rows as pyiceberg scans them and as DuckDB reads them through the table's metadata file
(`iceberg_scan` of DuckDB's iceberg extension, over S3 with its httpfs extension), and the data files the current
snapshot's manifests list (pyiceberg's plan_files). Timestamps are printed as ISO 8601 UTC.

DuckDB's extensions come from PyPI packages built for DuckDB 1.5.5 (requirements-duckdb-iceberg.txt), installed
apart in .data/duckdb-iceberg because fakesnow needs DuckDB 2.0: that folder goes first on the path here.
"""
import datetime
import glob
import json
import os
import sys
from urllib.parse import urlparse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '.data', 'duckdb-iceberg'))

import duckdb  # noqa: E402  (the DuckDB of .data/duckdb-iceberg, with its extensions)
from pyiceberg.catalog.sql import SqlCatalog  # noqa: E402


def iso(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).isoformat()
    return value


def main():
    uri, catalog_name, identifier, endpoint = sys.argv[1:5]
    columns = sys.argv[5].split(',') if len(sys.argv) > 5 and sys.argv[5] else None
    s3 = {
        's3.endpoint': endpoint,
        's3.access-key-id': 'testing',
        's3.secret-access-key': 'testing-secret',
        's3.region': 'us-east-1',
    }
    if uri == 'glue':
        from pyiceberg.catalog.glue import GlueCatalog
        catalog = GlueCatalog(catalog_name, **s3, **{
            'glue.endpoint': endpoint,
            'glue.region': 'us-east-1',
            'glue.access-key-id': 'testing',
            'glue.secret-access-key': 'testing-secret',
        })
    else:
        catalog = SqlCatalog(catalog_name, uri=uri, **s3)
    table = catalog.load_table(identifier)
    snapshots = [
        {
            'id': snapshot.snapshot_id,
            'parent': snapshot.parent_snapshot_id,
            'sequence': snapshot.sequence_number,
            'operation': snapshot.summary.operation.value,
            'summary': {k: v for k, v in snapshot.summary.additional_properties.items()},
        }
        for snapshot in sorted(table.metadata.snapshots, key=lambda s: s.sequence_number)
    ]
    schema = [{'id': f.field_id, 'name': f.name, 'type': str(f.field_type)} for f in table.schema().fields]
    scan = table.scan(selected_fields=tuple(columns) if columns else ('*',))
    arrow = scan.to_arrow()
    py_rows = [{k: iso(v) for k, v in row.items()} for row in arrow.to_pylist()]

    files = [
        {'path': task.file.file_path, 'records': task.file.record_count, 'partition': list(task.file.partition)}
        for task in table.scan().plan_files()
    ]
    duck_rows = duckdb_rows(table.metadata_location, endpoint, columns)
    print(json.dumps({
        'snapshots': snapshots,
        'currentSnapshot': table.metadata.current_snapshot_id,
        'schema': schema,
        'schemaIds': [s.schema_id for s in table.metadata.schemas],
        'sortOrder': [table.schema().find_column_name(f.source_id) for f in table.sort_order().fields],
        'spec': [
            {'name': f.name, 'transform': str(f.transform), 'source': table.schema().find_column_name(f.source_id)}
            for f in table.spec().fields
        ],
        'pyiceberg': {'rows': py_rows},
        'duckdb': {'rows': duck_rows},
        'files': files,
        'metadataLog': len(table.metadata.metadata_log),
    }, default=str))


def duckdb_rows(metadata_location, endpoint, columns):
    """The table's current rows as DuckDB's iceberg_scan reads them from the metadata file (no catalog involved)."""
    con = duckdb.connect()
    for package in ('duckdb_extension_httpfs', 'duckdb_extension_avro', 'duckdb_extension_iceberg'):
        module = __import__(package)
        (extension,) = glob.glob(os.path.join(os.path.dirname(module.__file__), 'extensions', '*', '*.duckdb_extension'))
        con.execute(f"LOAD '{extension}'")
    url = urlparse(endpoint)
    con.execute(
        "CREATE SECRET moto (TYPE s3, KEY_ID 'testing', SECRET 'testing-secret', REGION 'us-east-1', "
        f"ENDPOINT '{url.netloc}', URL_STYLE 'path', USE_SSL {'true' if url.scheme == 'https' else 'false'})"
    )
    select = ', '.join(f'"{c}"' for c in columns) if columns else '*'
    result = con.execute(f"SELECT {select} FROM iceberg_scan('{metadata_location}')")
    names = [d[0] for d in result.description]
    return [{n: iso(v) for n, v in zip(names, row)} for row in result.fetchall()]


if __name__ == '__main__':
    main()
