from django.db import migrations


def install(apps, schema_editor):
    from civicgrid.core import db_guards

    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            for statement in db_guards.POSTGRES_TRUNCATE_INSTALL:
                cursor.execute(statement)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent")
            cursor.execute("DROP FUNCTION IF EXISTS core_auditevent_no_truncate()")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_append_only")]
    operations = [migrations.RunPython(install, uninstall)]
