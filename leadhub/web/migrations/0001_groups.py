from django.db import migrations

GROUPS = ("Rep", "Manager", "RevOps")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GROUPS:
        Group.objects.get_or_create(name=name)
    # Existing reps and managers join theirs.
    Rep = apps.get_model("reps", "Rep")
    rep_group, manager_group = Group.objects.get(name="Rep"), Group.objects.get(name="Manager")
    for rep in Rep.objects.select_related("user"):
        rep.user.groups.add(manager_group if rep.role == "manager" else rep_group)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("reps", "0003_rep_load"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
