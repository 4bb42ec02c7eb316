"""Fast copies of the template schema.

django-tenants' `clone_schema()` SQL function is general (views, functions, triggers, ...) but
does its catalog work per table on every call: ~20 ms a table here. Our template holds only what
Django migrations make: tables, identity columns, constraints and indexes. So the template's
catalog is read once into a plan of plain DDL, cached under a fingerprint of the template's
structure, and each new schema is made by running the plan in one round trip.

Every constraint and index keeps its template name, so later migrations that drop or rename
them by name work on cloned schemas exactly as on migrated ones. A template holding anything the
plan does not cover makes `clone_plan` return None, and the caller uses django-tenants' function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import connection

_PLANS: dict[tuple[str, str], ClonePlan] = {}

# Relation kinds the plan copies: ordinary tables, their sequences and indexes, TOAST tables.
_SUPPORTED_RELKINDS = {"r", "S", "i", "t"}


@dataclass(frozen=True)
class ClonePlan:
    template: str
    fingerprint: str
    sql: str  # with __SCHEMA__ for the quoted name of the new schema

    def render(self, new_schema: str) -> str:
        return self.sql.replace("__SCHEMA__", _quote(new_schema))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def fingerprint(template: str) -> str:
    """Changes whenever anything the plan copies, or refuses to copy, changes in the template:
    relations, columns, defaults, constraints, functions, triggers, types, migration records."""
    rows = _rows(
        """
        WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = %s)
        SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM (
            SELECT 'rel:' || c.relname::text || ':' || c.relkind::text || ':'
                   || c.relpersistence::text || ':' || c.relrowsecurity::text || ':'
                   || CASE WHEN c.relkind = 'i' THEN md5(pg_get_indexdef(c.oid)) ELSE '' END
                   AS x
            FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns)
            UNION ALL
            SELECT 'col:' || c.relname::text || '.' || a.attname::text || ':'
                   || a.atttypid::text || ':' || a.atttypmod::text || ':'
                   || a.attnotnull::text || ':' || a.attidentity::text || ':'
                   || a.attcollation::text || ':'
                   || a.attgenerated::text || ':'
                   || coalesce(md5(pg_get_expr(d.adbin, d.adrelid)), '')
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace IN (SELECT oid FROM ns) AND a.attnum > 0
              AND NOT a.attisdropped
            UNION ALL
            SELECT 'con:' || con.conname::text || ':' || md5(pg_get_constraintdef(con.oid))
            FROM pg_constraint con WHERE con.connamespace IN (SELECT oid FROM ns)
            UNION ALL
            SELECT 'fn:' || p.proname::text FROM pg_proc p
            WHERE p.pronamespace IN (SELECT oid FROM ns)
            UNION ALL
            SELECT 'tg:' || t.tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace IN (SELECT oid FROM ns) AND NOT t.tgisinternal
            UNION ALL
            SELECT 'ty:' || t.typname::text FROM pg_type t
            WHERE t.typnamespace IN (SELECT oid FROM ns) AND t.typtype IN ('d', 'e', 'r', 'm')
            UNION ALL
            SELECT 'coll:' || collname::text FROM pg_collation
            WHERE collnamespace IN (SELECT oid FROM ns)
            UNION ALL
            SELECT 'stx:' || stxname::text FROM pg_statistic_ext
            WHERE stxnamespace IN (SELECT oid FROM ns)
            UNION ALL
            SELECT 'pol:' || p.polname::text FROM pg_policy p JOIN pg_class c
              ON c.oid = p.polrelid WHERE c.relnamespace IN (SELECT oid FROM ns)
        ) parts
        """,
        [template],
    )
    table = f"{_quote(template)}.django_migrations"
    migrations = _rows(f"SELECT count(*), max(id) FROM {table}", [])  # noqa: S608 (quoted name)
    return f"{rows[0][0]}:{migrations[0][0]}:{migrations[0][1]}"


def _unsupported(template: str) -> str | None:
    """Why the plan cannot copy this template, or None when it can."""
    checks: list[tuple[str, str, list[Any]]] = [
        (
            "relations other than tables",
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relkind <> ALL(%s)""",
            [template, list(_SUPPORTED_RELKINDS)],
        ),
        (
            "functions",
            """SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = %s""",
            [template],
        ),
        (
            "triggers",
            """SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND NOT t.tgisinternal""",
            [template],
        ),
        (
            "types",
            """SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               WHERE n.nspname = %s AND t.typtype IN ('d', 'e', 'r', 'm')""",
            [template],
        ),
        (
            "collations, policies or statistics objects",
            """SELECT collname FROM pg_collation WHERE collnamespace =
                   (SELECT oid FROM pg_namespace WHERE nspname = %s)
               UNION ALL
               SELECT polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s
               UNION ALL
               SELECT stxname FROM pg_statistic_ext s JOIN pg_namespace n
                 ON n.oid = s.stxnamespace WHERE n.nspname = %s""",
            [template, template, template],
        ),
        (
            "unlogged tables",
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relpersistence <> 'p'""",
            [template],
        ),
        (
            "column defaults that use sequences",
            """SELECT a.adrelid::regclass::text FROM pg_attrdef a JOIN pg_class c
                 ON c.oid = a.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND pg_get_expr(a.adbin, a.adrelid) LIKE '%%nextval(%%'""",
            [template],
        ),
        (
            "sequences not owned by an identity column",
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relkind = 'S' AND NOT EXISTS (
                   SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i')""",
            [template],
        ),
    ]
    for what, sql, params in checks:
        found = _rows(sql, params)
        if found:
            return f"{what}: {', '.join(str(r[0]) for r in found[:5])}"
    return None


def build_plan(template: str) -> ClonePlan | None:
    """Read the template's catalog into DDL for a new schema; None if it holds what the plan
    does not copy."""
    if _unsupported(template) is not None:
        return None
    qualifier = re.compile(rf'(?<![\w"])(?:{re.escape(template)}|{re.escape(_quote(template))})\.')

    def retarget(definition: str) -> str:
        return qualifier.sub("__SCHEMA__.", definition)

    with connection.cursor() as cursor:
        # With only pg_catalog on the path, every definition names its schema explicitly.
        cursor.execute("SET search_path = pg_catalog")  # the next cursor sets it back
        cursor.execute(
            """SELECT c.oid, c.relname FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname""",
            [template],
        )
        tables = cursor.fetchall()
        cursor.execute(
            """SELECT con.conrelid, con.conname, con.contype, pg_get_constraintdef(con.oid)
               FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
               WHERE n.nspname = %s AND con.contype IN ('p', 'u', 'c', 'x', 'f')
               ORDER BY con.contype = 'f', con.conrelid, con.conname""",
            [template],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
               JOIN pg_class c ON c.oid = i.indexrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND NOT EXISTS (
                   SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
                   AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
               ORDER BY c.relname""",
            [template],
        )
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            """SELECT a.attrelid, a.attname, a.attidentity, a.attgenerated
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0
                 AND NOT a.attisdropped
               ORDER BY a.attrelid, a.attnum""",
            [template],
        )
        columns = cursor.fetchall()

    names = {oid: name for oid, name in tables}
    src = _quote(template)
    statements = ["CREATE SCHEMA __SCHEMA__"]
    for _oid, name in tables:
        statements.append(
            f"CREATE TABLE __SCHEMA__.{_quote(name)} (LIKE {src}.{_quote(name)} "
            "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE "
            "INCLUDING COMMENTS INCLUDING COMPRESSION)"
        )
    for oid, name in tables:
        cols = [(col, ident) for rel, col, ident, gen in columns if rel == oid and not gen]
        col_list = ", ".join(_quote(col) for col, _ in cols)
        # Identifiers below come from pg_catalog and are quoted: nothing user-supplied.
        statements.append(
            f"INSERT INTO __SCHEMA__.{_quote(name)} ({col_list}) OVERRIDING SYSTEM VALUE "  # noqa: S608
            f"SELECT {col_list} FROM {src}.{_quote(name)}"
        )
        for col, ident in cols:
            if ident:
                target = f"__SCHEMA__.{_quote(name)}"
                literal_target = target.replace("'", "''")
                literal_col = col.replace("'", "''")
                statements.append(
                    f"SELECT setval(pg_get_serial_sequence('{literal_target}', '{literal_col}'), "  # noqa: S608
                    f"coalesce(max({_quote(col)}), 1), max({_quote(col)}) IS NOT NULL) "
                    f"FROM {target}"
                )

    def add(rel: int, conname: str, definition: str) -> str:
        return (
            f"ALTER TABLE __SCHEMA__.{_quote(names[rel])} ADD CONSTRAINT "
            f"{_quote(conname)} {retarget(definition)}"
        )

    # Keys first, then the other indexes, then foreign keys, which may rely on either.
    statements.extend(add(r, n, d) for r, n, t, d in constraints if t != "f")
    statements.extend(retarget(definition) for definition in indexes)
    statements.extend(add(r, n, d) for r, n, t, d in constraints if t == "f")
    return ClonePlan(
        template=template, fingerprint=fingerprint(template), sql=";\n".join(statements) + ";"
    )


def clone_plan(template: str) -> ClonePlan | None:
    """The cached plan for the template as it is now (rebuilt when its structure changed)."""
    key = (connection.settings_dict["NAME"], template)
    current = fingerprint(template)
    plan = _PLANS.get(key)
    if plan is None or plan.fingerprint != current:
        plan = build_plan(template)
        if plan is None:
            return None
        _PLANS[key] = plan
    return plan


def clone_schema_fast(template: str, new_schema: str) -> bool:
    """Create `new_schema` as a copy of `template`; False when the plan cannot copy it."""
    plan = clone_plan(template)
    if plan is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute(plan.render(new_schema))
    return True
