"""The cached clone plan makes schemas identical to django-tenants' clone_schema() function."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.clone import CloneSchema

from tenants import cloning
from tenants.provisioning import clone_from_template

TEMPLATE = "tenant_template"


def catalog(schema: str) -> dict[str, Any]:
    """Everything about a schema that migrations and queries depend on, with its name removed."""

    def q(sql: str) -> list[tuple[object, ...]]:
        with connection.cursor() as cursor:
            cursor.execute("SET search_path = pg_catalog")
            cursor.execute(sql, {"s": schema})
            rows = cursor.fetchall()
        return sorted(
            tuple(str(v).replace(f'"{schema}".', "S.").replace(f"{schema}.", "S.") for v in row)
            for row in rows
        )

    return {
        "columns": q(
            """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                      a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid)
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE n.nspname = %(s)s AND c.relkind = 'r' AND a.attnum > 0
                 AND NOT a.attisdropped"""
        ),
        "constraints": q(
            """SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
               FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
               JOIN pg_namespace n ON n.oid = con.connamespace WHERE n.nspname = %(s)s
                 AND con.contype <> 'n'"""
        ),
        "indexes": q(
            """SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %(s)s AND c.relkind = 'i'"""
        ),
        "sequences": q(
            """SELECT c.relname, s.last_value FROM pg_sequences s
               JOIN pg_class c ON c.relname = s.sequencename
               JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname
               WHERE s.schemaname = %(s)s"""
        ),
        "rows": [
            (table, _count(schema, table))
            for (table,) in q(
                """SELECT c.relname FROM pg_class c JOIN pg_namespace n
                   ON n.oid = c.relnamespace WHERE n.nspname = %(s)s AND c.relkind = 'r'"""
            )
        ],
    }


def _count(schema: str, table: object) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
        return int(cursor.fetchone()[0])


def _normalised(indexes: object) -> list[tuple[str, str]]:
    """PostgreSQL re-prints an equivalent predicate with other casts; compare without them."""
    out = []
    for name, definition in indexes:  # type: ignore[attr-defined]
        for noise in ("::character varying", "::text[]", "::text", "(", ")", " "):
            definition = definition.replace(noise, "")
        out.append((name, definition))
    return sorted(out)


def test_plan_clone_is_identical_to_the_template(db):
    assert cloning.clone_schema_fast(TEMPLATE, "by-plan")

    by_plan, template = catalog("by-plan"), catalog(TEMPLATE)
    assert by_plan["columns"] == template["columns"]
    # Every constraint and index keeps its template name, so later migrations find them.
    assert by_plan["constraints"] == template["constraints"]
    assert _normalised(by_plan["indexes"]) == _normalised(template["indexes"])
    assert by_plan["sequences"] == template["sequences"]
    assert by_plan["rows"] == template["rows"]
    assert dict(by_plan["rows"])["django_migrations"] > 10


def test_plan_clone_matches_the_clone_function_where_that_is_faithful(db):
    """django-tenants' function renames unique constraints (…_uniq becomes …_key); apart from
    those names both clones hold the same tables, columns, rows and sequence positions."""
    cloning.clone_schema_fast(TEMPLATE, "by-plan")
    CloneSchema().clone_schema(TEMPLATE, "by-function")
    by_plan, by_function = catalog("by-plan"), catalog("by-function")
    for part in ("columns", "sequences", "rows"):
        assert by_plan[part] == by_function[part]
    plan_defs = sorted((c[0], c[3]) for c in by_plan["constraints"])
    function_defs = sorted((c[0], c[3]) for c in by_function["constraints"])
    assert plan_defs == function_defs


def test_identity_columns_continue_after_the_copied_rows(db):
    cloning.clone_schema_fast(TEMPLATE, "seq-check")
    with connection.cursor() as cursor:
        cursor.execute('SELECT max(id) FROM "seq-check".django_migrations')
        highest = cursor.fetchone()[0]
        cursor.execute(
            'INSERT INTO "seq-check".django_migrations (app, name, applied) '
            "VALUES ('x', 'y', now()) RETURNING id"
        )
        assert cursor.fetchone()[0] == highest + 1
        # The template's own sequence did not move.
        cursor.execute(
            f"INSERT INTO {TEMPLATE}.django_migrations (app, name, applied) "
            "VALUES ('x', 'y', now()) RETURNING id"
        )
        assert cursor.fetchone()[0] == highest + 1


def test_plan_is_cached_until_the_template_changes(db):
    first = cloning.clone_plan(TEMPLATE)
    assert cloning.clone_plan(TEMPLATE) is first
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {TEMPLATE}.extra_table (id bigint PRIMARY KEY)")
    second = cloning.clone_plan(TEMPLATE)
    assert second is not first
    assert "extra_table" in second.sql


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE VIEW {t}.some_view AS SELECT 1 AS one",
        "CREATE FUNCTION {t}.some_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE SEQUENCE {t}.loose_sequence",
        "CREATE TABLE {t}.old_style (id serial PRIMARY KEY)",
        "CREATE COLLATION {t}.my_coll (provider = icu, locale = 'und')",
        "CREATE UNLOGGED TABLE {t}.scratch (id bigint)",
    ],
)
def test_templates_the_plan_cannot_copy_fall_back_to_the_clone_function(db, ddl, monkeypatch):
    assert cloning.clone_plan(TEMPLATE) is not None  # a cached plan must not hide the change
    with connection.cursor() as cursor:
        cursor.execute(ddl.format(t=TEMPLATE))
    assert cloning.clone_plan(TEMPLATE) is None
    used = []
    real = CloneSchema._create_clone_schema_function

    def spy(self):
        used.append(True)
        real(self)

    monkeypatch.setattr(CloneSchema, "_create_clone_schema_function", spy)
    with connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION IF EXISTS public.clone_schema(text, text, cloneparms[])")

    clone_from_template(TEMPLATE, "fallback-co")

    assert used == [True]
    assert catalog("fallback-co")["rows"] == catalog(TEMPLATE)["rows"]


def test_base_schema_setting_names_the_template():
    assert settings.TENANT_BASE_SCHEMA == TEMPLATE


def test_a_template_holding_people_is_refused(db):
    from tenants.provisioning import TemplateNotClean

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TEMPLATE}.users_user (password, email, full_name, is_active, "
            "is_staff, is_superuser, is_workspace_admin, language, time_zone, date_joined) "
            "VALUES ('x', 'stray@x.test', 'Stray', true, false, false, false, 'en', 'UTC', now())"
        )
    with pytest.raises(TemplateNotClean, match="users_user"):
        clone_from_template(TEMPLATE, "would-leak")


def test_an_index_redefined_under_its_old_name_rebuilds_the_plan(db):
    cloning.clone_plan(TEMPLATE)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX probe_idx ON {TEMPLATE}.users_user (email)")
    first = cloning.clone_plan(TEMPLATE)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {TEMPLATE}.probe_idx")
        cursor.execute(f"CREATE INDEX probe_idx ON {TEMPLATE}.users_user (full_name)")
    second = cloning.clone_plan(TEMPLATE)
    assert "(full_name)" in second.sql and second is not first
