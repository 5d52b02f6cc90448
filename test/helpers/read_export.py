"""Reads an exported file with independent readers and prints {"rows": [...], "codecs": [...], "types": {...}}.

Usage: read_export.py FILE FORMAT COMPRESSION [pyarrow|duckdb] [COLUMN,...]
  FORMAT JSONLines: decompressed with Python's gzip / brotli / zstandard, then each line parsed.
  FORMAT Parquet: read with pyarrow (or DuckDB when the 4th argument is `duckdb`); timestamps are printed as
  ISO 8601 with microseconds, JSON columns stay strings.
"""
import datetime
import gzip
import io
import json
import sys


def decompress(data, compression):
    """The bytes of a JSON-lines file as written with `compression` (gzip, brotli, zstd, or none)."""
    if compression == 'gzip':
        return gzip.decompress(data)
    if compression == 'brotli':
        import brotli
        return brotli.decompress(data)
    if compression == 'zstd':
        import zstandard
        # Several frames, one after the other: read them as one stream.
        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True).read()
    return data


def read_jsonlines(path, compression):
    with open(path, 'rb') as handle:
        data = decompress(handle.read(), compression)
    return {'rows': [json.loads(line) for line in data.decode('utf-8').splitlines() if line]}


def iso(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).isoformat()
    return value


def read_parquet(path, reader, columns):
    if reader == 'duckdb':
        import duckdb
        connection = duckdb.connect()
        connection.execute("SET TimeZone = 'UTC'")
        result = connection.execute('SELECT * FROM read_parquet(?)', [path])
        names = [column[0] for column in result.description]
        return {'rows': [dict(zip(names, map(iso, row))) for row in result.fetchall()]}
    import pyarrow.parquet as pq
    table = pq.read_table(path, columns=columns)
    meta = pq.ParquetFile(path).metadata
    codecs = sorted({meta.row_group(g).column(c).compression for g in range(meta.num_row_groups) for c in range(meta.num_columns)})
    return {
        'rows': [{name: iso(value) for name, value in row.items()} for row in table.to_pylist()],
        'codecs': codecs,
        'types': {field.name: str(field.type) for field in table.schema},
    }


def main():
    path, file_format, compression = sys.argv[1:4]
    reader = sys.argv[4] if len(sys.argv) > 4 else 'pyarrow'
    columns = sys.argv[5].split(',') if len(sys.argv) > 5 else None
    result = read_parquet(path, reader, columns) if file_format == 'Parquet' else read_jsonlines(path, compression)
    json.dump(result, sys.stdout, default=str)


if __name__ == '__main__':
    main()
