from django.db import migrations


def install(apps, schema_editor):
    from civicgrid.core import db_guards

    db_guards.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from civicgrid.core import db_guards

    db_guards.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
