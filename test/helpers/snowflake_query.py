"""Runs SQL through a fakesnow server with Snowflake's Python connector: the independent reader of what the
Snowflake destination (Node's snowflake-sdk) wrote. Prints the last statement's rows as JSON (objects by column).

Usage: python snowflake_query.py PORT DATABASE SCHEMA SQL [SQL ...]
"""

import json
import sys

import snowflake.connector


def main() -> None:
    port, database, schema, *statements = sys.argv[1:]
    connection = snowflake.connector.connect(
        user="reader",
        password="reader",
        account="fakesnow",
        host="127.0.0.1",
        port=int(port),
        protocol="http",
        database=database,
        schema=schema,
        session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
        network_timeout=10,
    )
    cursor = connection.cursor(snowflake.connector.DictCursor)
    rows: list = []
    for statement in statements:
        cursor.execute(statement)
        rows = cursor.fetchall() if cursor.description else []
    print(json.dumps(rows, default=str))


if __name__ == "__main__":
    main()
