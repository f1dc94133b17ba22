from django.db import migrations


def publish_existing(apps, schema_editor):
    # Listings written before the lifecycle existed were already public.
    apps.get_model("listings", "Listing").objects.update(status="published")


class Migration(migrations.Migration):
    dependencies = [("listings", "0002_listingcriteria_listing_capacity_and_more")]

    operations = [migrations.RunPython(publish_existing, migrations.RunPython.noop)]
